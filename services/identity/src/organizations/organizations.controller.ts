import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, notFound, Roles, type Principal } from '@lienthong/common';
import { organizationCodeProblem } from './organization-code';
import { CreateOrganizationDto, ListOrganizationsQuery, UpdateOrganizationDto } from './organizations.dto';
import { OrganizationsService } from './organizations.service';

/** The organization directory is readable by every authenticated caller (documents address recipients by it). */
@ApiTags('organizations')
@ApiBearerAuth()
@Controller('api/v1/organizations')
export class OrganizationsController {
  constructor(private readonly orgs: OrganizationsService) {}

  @Post()
  @Roles('system-admin', 'org-admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateOrganizationDto) {
    return this.orgs.create(p, dto);
  }

  @Get()
  list(@Query() q: ListOrganizationsQuery) {
    return this.orgs.list(q);
  }

  @Get(':code')
  async get(@Param('code') code: string) {
    if (organizationCodeProblem(code)) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
    return this.orgs.getOrThrow(code);
  }

  @Patch(':code')
  @Roles('system-admin', 'org-admin')
  update(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() dto: UpdateOrganizationDto) {
    if (organizationCodeProblem(code)) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
    return this.orgs.update(p, code, dto);
  }

  /** Not in API.md (an extra endpoint): removes an empty leaf organization. */
  @Delete(':code')
  @HttpCode(204)
  @Roles('system-admin', 'org-admin')
  async delete(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    if (organizationCodeProblem(code)) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
    await this.orgs.delete(p, code);
  }
}
