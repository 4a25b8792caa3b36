import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { CreateClientDto, ListClientsQuery } from './clients.dto';
import { ClientsService } from './clients.service';

@ApiTags('clients')
@ApiBearerAuth()
@Controller('api/v1/clients')
@Roles('system-admin', 'org-admin')
export class ClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Post()
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateClientDto) {
    return this.clients.create(p, dto);
  }

  /** Never the secret: it is shown only when created or rotated. */
  @Get()
  list(@CurrentPrincipal() p: Principal, @Query() q: ListClientsQuery) {
    return this.clients.list(p, q);
  }

  @Post(':clientId/rotate-secret')
  @HttpCode(200)
  rotate(@CurrentPrincipal() p: Principal, @Param('clientId') clientId: string) {
    return this.clients.rotateSecret(p, clientId);
  }

  @Delete(':clientId')
  @HttpCode(204)
  async delete(@CurrentPrincipal() p: Principal, @Param('clientId') clientId: string) {
    await this.clients.delete(p, clientId);
  }
}
