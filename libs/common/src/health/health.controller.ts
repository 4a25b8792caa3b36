import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators';
import { NATS_CONNECTION } from '../nats/nats.tokens';
import { RpcClient } from '../nats/rpc-client';
import { RpcSubjects, SERVICE_NAMES } from '@lienthong/contracts';
import { METRICS_REGISTRY } from './metrics.registry';

@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    private readonly rpc: RpcClient,
  ) {}

  /** Asks every service over NATS request/reply who it is: a quick check of the whole node. */
  @Get('health/peers')
  async peers() {
    const answers = await Promise.all(
      SERVICE_NAMES.map(async (service) => {
        try {
          return {
            service,
            ok: true,
            info: await this.rpc.requestRaw(RpcSubjects.serviceInfo(service), {}, 2000),
          };
        } catch (e) {
          return { service, ok: false, error: (e as Error).message };
        }
      }),
    );
    return { peers: answers };
  }

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      async () => {
        const indicator = this.indicators.check('nats');
        if (this.nc.isClosed()) return indicator.down({ message: 'closed' });
        try {
          await Promise.race([
            this.nc.flush(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000)),
          ]);
          return indicator.up();
        } catch {
          return indicator.down({ message: 'unreachable' });
        }
      },
    ]);
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(@Res() res: Response) {
    res.setHeader('Content-Type', this.registry.contentType);
    res.send(await this.registry.metrics());
  }
}
