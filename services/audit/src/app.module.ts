import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type RuntimeGrants } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AuditConfig } from './config/audit.config';
import { AuditLogModule } from './log/log.module';
import { migrations } from './migrations';
import { ResourceProofsModule } from './proofs/resource-proofs.module';
import { SocModule } from './soc/soc.module';
import { WitnessModule } from './witness/witness.module';

/**
 * What the audit runtime role (DATABASE_URL when MIGRATION_DATABASE_URL is set) may do: append to and read
 * the log, the checkpoints, the keys and the witness records — never UPDATE, DELETE or TRUNCATE them — and
 * move the tree head (two columns of one row; a trigger refuses to make it smaller). The role owns nothing,
 * so it cannot ALTER a table nor disable a trigger. Messaging tables (outbox, processed_messages) keep full DML.
 */
export const AuditRuntimeGrants: RuntimeGrants = {
  leaves: 'SELECT, INSERT',
  nodes: 'SELECT, INSERT',
  checkpoints: 'SELECT, INSERT',
  signing_keys: 'SELECT, INSERT',
  tree_state: 'SELECT, UPDATE (size, root)',
  witnessed_checkpoints: 'SELECT, INSERT',
  witness_node_keys: 'SELECT, INSERT',
  checkpoint_cosignatures: 'SELECT, INSERT',
};

@Module({})
export class AppModule {
  static register(config: AuditConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'audit',
          config,
          configClass: AuditConfig,
          entities: [],
          migrations,
          runtimeGrants: AuditRuntimeGrants,
          streams: [Streams.audit(), Streams.witness()],
        }),
        AuditLogModule,
        ResourceProofsModule,
        WitnessModule,
        SocModule,
      ],
    };
  }
}
