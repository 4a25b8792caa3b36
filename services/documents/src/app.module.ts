import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { DocumentsConfig } from './config/documents.config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static register(config: DocumentsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'documents',
          config,
          configClass: DocumentsConfig,
          entities: [],
          migrations,
          streams: [Streams.documents(), Streams.audit()],
        }),
      ],
    };
  }
}
