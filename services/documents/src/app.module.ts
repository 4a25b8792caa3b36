import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AttachmentBusStore } from './attachments/attachment-bus-store';
import { AttachmentStorage, FilesystemAttachmentStorage } from './attachments/attachment-storage';
import { AttachmentsController } from './attachments/attachments.controller';
import { AttachmentsService } from './attachments/attachments.service';
import { DocumentsConfig } from './config/documents.config';
import { DocumentsController } from './documents/documents.controller';
import { DocumentsRepository } from './documents/documents.repository';
import { DocumentsService } from './documents/documents.service';
import { RecipientHistoryService } from './documents/recipient-history.service';
import { OrganizationDirectory } from './documents/organization-directory';
import { DocumentsGrpcServer } from './grpc/documents.grpc-server';
import { ExchangeHandler } from './exchange/exchange.handler';
import { ExchangeService } from './exchange/exchange.service';
import { migrations } from './migrations';
import { RegistersController } from './registers/registers.controller';
import { RegistersService } from './registers/registers.service';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';
import { PdfSignatureVerifier } from './signatures/pdf-signature.verifier';
import { SignatureResultsRepository } from './signatures/signature-results.repository';
import { OrganizationFeed } from './subscriptions/organization-feed';

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
          // The bus stream is declared here too so deliveries can be consumed before the bus first boots.
          streams: [Streams.documents(), Streams.audit(), Streams.bus()],
        }),
      ],
      controllers: [DocumentsController, AttachmentsController, RegistersController, ReportsController],
      providers: [
        DocumentsRepository,
        DocumentsService,
        RecipientHistoryService,
        OrganizationDirectory,
        { provide: AttachmentStorage, useClass: FilesystemAttachmentStorage },
        AttachmentBusStore,
        AttachmentsService,
        PdfSignatureVerifier,
        SignatureResultsRepository,
        ExchangeService,
        ExchangeHandler,
        RegistersService,
        ReportsService,
        DocumentsGrpcServer,
        OrganizationFeed,
      ],
    };
  }
}
