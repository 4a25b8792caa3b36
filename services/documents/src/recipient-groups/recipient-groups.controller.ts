import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { ListRecipientGroupsQuery, RecipientGroupDto } from './recipient-groups.dto';
import { RecipientGroupsService } from './recipient-groups.service';

/** The caller's organization's named recipient lists (API.md, additions of 2026-11-30). */
@ApiTags('recipient-groups')
@ApiBearerAuth()
@Controller('api/v1/recipient-groups')
export class RecipientGroupsController {
  constructor(private readonly groups: RecipientGroupsService) {}

  @Post()
  @Roles('clerk', 'org-admin')
  create(@CurrentPrincipal() p: Principal, @Body() dto: RecipientGroupDto) {
    return this.groups.create(p, dto);
  }

  @Get()
  @Roles('clerk', 'org-admin', 'leader', 'specialist')
  list(@CurrentPrincipal() p: Principal, @Query() q: ListRecipientGroupsQuery) {
    return this.groups.list(p, q);
  }

  @Get(':id')
  @Roles('clerk', 'org-admin', 'leader', 'specialist')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.groups.get(p, id);
  }

  @Put(':id')
  @Roles('clerk', 'org-admin')
  replace(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RecipientGroupDto) {
    return this.groups.replace(p, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('clerk', 'org-admin')
  async remove(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<void> {
    await this.groups.remove(p, id);
  }
}
