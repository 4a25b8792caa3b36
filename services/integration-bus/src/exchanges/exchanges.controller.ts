import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ExchangeOperator } from './exchange-operator.service';

export class ListExchangesQuery {
  @IsOptional() @IsIn(['queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'dead']) state?: string;
  @IsOptional() @IsString() @MaxLength(300) documentId?: string;
  @IsOptional() @IsString() @MaxLength(35) organizationCode?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

/** Operator view of exchanges (API.md, Integration bus). */
@ApiTags('exchanges')
@ApiBearerAuth()
@Controller('api/v1/exchanges')
@Roles('operator', 'system-admin')
export class ExchangesController {
  constructor(private readonly exchanges: ExchangeOperator) {}

  @Get()
  list(@Query() q: ListExchangesQuery) {
    return this.exchanges.list(q);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.exchanges.get(id);
  }

  @Post(':id/retry')
  @HttpCode(202)
  retry(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.exchanges.retry(id, { sub: p.sub, organizationCode: p.organizationCode, type: p.type });
  }
}
