import { DynamicModule, Module } from '@nestjs/common';
import {
  BaseServiceConfig,
  createMessagingTables,
  dropMessagingTables,
  outboxEnvelopeAsText,
  PlatformModule,
} from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import type { MigrationInterface, QueryRunner } from 'typeorm';

class ProbeInit1700000000000 implements MigrationInterface {
  name = 'ProbeInit1700000000000';
  async up(q: QueryRunner) {
    await createMessagingTables(q);
    await outboxEnvelopeAsText(q);
    await q.query('CREATE TABLE effects (id serial PRIMARY KEY, message_id text NOT NULL, note text)');
  }
  async down(q: QueryRunner) {
    await q.query('DROP TABLE effects');
    await dropMessagingTables(q);
  }
}

export class ProbeConfig extends BaseServiceConfig {
  override PORT = 0;
  override DB_SCHEMA = 'probe';
}

/** A minimal service used to test the platform plumbing on real PostgreSQL and NATS. */
@Module({})
export class ProbeModule {
  static register(config: ProbeConfig): DynamicModule {
    return {
      module: ProbeModule,
      imports: [
        PlatformModule.forService({
          service: 'probe',
          config,
          configClass: ProbeConfig,
          entities: [],
          migrations: [ProbeInit1700000000000],
          streams: [Streams.probe()],
        }),
      ],
    };
  }
}
