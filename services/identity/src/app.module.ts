import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { IdentityConfig } from './config/identity.config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static register(config: IdentityConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'identity',
          config,
          configClass: IdentityConfig,
          entities: [],
          migrations,
          streams: [Streams.identity(), Streams.audit()],
        }),
      ],
    };
  }
}
