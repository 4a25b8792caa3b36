import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { IntegrationBusConfig } from './config/integration-bus.config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static register(config: IntegrationBusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'integration-bus',
          config,
          configClass: IntegrationBusConfig,
          entities: [],
          migrations,
          streams: [Streams.bus(), Streams.audit()],
        }),
      ],
    };
  }
}
