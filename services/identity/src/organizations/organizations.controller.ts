import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { CreateOrganizationDto, ListOrganizationsQuery, UpdateOrganizationDto } from './organizations.dto';
import { OrganizationErrors } from './organizations.errors';
import { isValidOrganizationCode } from './organization-code';
import { OrganizationsService } from './organizations.service';

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

  /** The directory is readable by every authenticated caller: documents are addressed by these codes. */
  @Get()
  list(@Query() q: ListOrganizationsQuery) {
    return this.orgs.list(q);
  }

  @Get(':code')
  get(@Param('code') code: string) {
    if (!isValidOrganizationCode(code)) throw OrganizationErrors.notFound(String(code).slice(0, 40));
    return this.orgs.get(code);
  }

  @Patch(':code')
  @Roles('system-admin', 'org-admin')
  update(@CurrentPrincipal() p: Principal, @Param('code') code: string, @Body() dto: UpdateOrganizationDto) {
    if (!isValidOrganizationCode(code)) throw OrganizationErrors.notFound(String(code).slice(0, 40));
    return this.orgs.update(p, code, dto);
  }

  @Delete(':code')
  @HttpCode(204)
  @Roles('system-admin', 'org-admin')
  async remove(@CurrentPrincipal() p: Principal, @Param('code') code: string) {
    if (!isValidOrganizationCode(code)) throw OrganizationErrors.notFound(String(code).slice(0, 40));
    await this.orgs.remove(p, code);
  }
}
