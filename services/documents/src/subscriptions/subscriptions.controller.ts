import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import { CreateSubscriptionDto, ListSubscriptionsQuery } from './subscriptions.dto';
import { SubscriptionsService } from './subscriptions.service';

/** Webhooks of agency systems (a clerk or an `exchange` client, for its own organization). */
@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('api/v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @Roles('clerk', 'exchange')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateSubscriptionDto) {
    return this.subscriptions.create(p, dto);
  }

  @Get()
  @Roles('clerk', 'exchange')
  list(@CurrentPrincipal() p: Principal, @Query() q: ListSubscriptionsQuery) {
    return this.subscriptions.list(p, q);
  }

  @Get(':id')
  @Roles('clerk', 'exchange')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.subscriptions.get(p, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('clerk', 'exchange')
  async delete(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<void> {
    await this.subscriptions.delete(p, id);
  }
}
