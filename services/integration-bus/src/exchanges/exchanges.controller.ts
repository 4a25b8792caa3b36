import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal, ApiLimit } from '@lienthong/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ExchangesService } from './exchanges.service';
// A separate line, so the import above stays as other branches change it.
import { notFound, RpcClient } from '@lienthong/common';
import { exchangeInScope, operatorScope } from './operator-scope';
import { LinksService } from '../links/links.service';

export class ListExchangesQuery {
  @IsOptional() @IsIn(['queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'dead']) state?: string;
  @IsOptional() @IsString() @MaxLength(300) documentId?: string;
  @IsOptional() @IsString() @MaxLength(35) organizationCode?: string;
  @ApiLimit(500, 50) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

/** Operator view of exchanges (API.md, Integration bus). */
@ApiTags('exchanges')
@ApiBearerAuth()
@Controller('api/v1/exchanges')
@Roles('operator', 'system-admin')
export class ExchangesController {
  constructor(
    private readonly exchanges: ExchangesService,
    private readonly rpc: RpcClient,
    private readonly linksService: LinksService,
  ) {}

  /** An operator sees the exchanges of its subtree only (the repository filters by `scope`). */
  @Get()
  async list(@Query() q: ListExchangesQuery, @CurrentPrincipal() p: Principal) {
    const scope = await operatorScope(this.rpc, p);
    return this.exchanges.list({ ...q, ...(scope ? { scope } : {}) });
  }

  /**
   * The national-axis link and the federation links of this node (declared before `:id` so that `links` is
   * never taken for an exchange id). Counts are limited to the operator's subtree; link facts are node-wide.
   */
  @Get('links')
  async links(@CurrentPrincipal() p: Principal) {
    return this.linksService.links(await operatorScope(this.rpc, p));
  }

  @Get(':id')
  get(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.visible(id, p);
  }

  /** Another subtree's exchange is unknown to this operator (404), so it cannot be retried either. */
  @Post(':id/retry')
  @HttpCode(202)
  async retry(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    await this.visible(id, p);
    return this.exchanges.retry(id, { sub: p.sub, organizationCode: p.organizationCode, type: p.type });
  }

  private async visible(id: string, p: Principal) {
    const scope = await operatorScope(this.rpc, p);
    const ex = await this.exchanges.get(id);
    if (!exchangeInScope(ex, scope)) throw notFound('EXCHANGE_NOT_FOUND', 'No such exchange');
    return ex;
  }
}
