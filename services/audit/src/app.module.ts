import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AuditConfig } from './config/audit.config';
import { AuditLogModule } from './log/log.module';
import { migrations } from './migrations';
import { SocModule } from './soc/soc.module';
import { WitnessModule } from './witness/witness.module';

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
          streams: [Streams.audit(), Streams.witness()],
        }),
        AuditLogModule,
        WitnessModule,
        SocModule,
      ],
    };
  }
}
