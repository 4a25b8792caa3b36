import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AttachmentBusStore } from './attachments/attachment-bus-store';
import { AttachmentStorage, FilesystemAttachmentStorage } from './attachments/attachment-storage';
import { S3AttachmentStorage } from './attachments/s3-attachment-storage';
import { AttachmentsController } from './attachments/attachments.controller';
import { AttachmentsService } from './attachments/attachments.service';
import { DocumentsConfig } from './config/documents.config';
import { DocumentsController } from './documents/documents.controller';
import { DocumentsRepository } from './documents/documents.repository';
import { DocumentsService } from './documents/documents.service';
import { RecipientHistoryService } from './documents/recipient-history.service';
import { OrganizationDirectory } from './documents/organization-directory';
import { RecipientExpansion } from './documents/recipient-expansion';
import { DocumentsGrpcServer } from './grpc/documents.grpc-server';
import { ExchangeHandler } from './exchange/exchange.handler';
import { ExchangeService } from './exchange/exchange.service';
import { migrations } from './migrations';
import { ArchiveController } from './registers/archive.controller';
import { ArchiveRepository } from './registers/archive.repository';
import { ArchiveService } from './registers/archive.service';
import { AuditProofsClient } from './registers/audit-proofs.client';
import { RegistersController } from './registers/registers.controller';
import { RegistersService } from './registers/registers.service';
import { RecipientGroupsController } from './recipient-groups/recipient-groups.controller';
import { RecipientGroupsService } from './recipient-groups/recipient-groups.service';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';
import { PdfSignatureVerifier } from './signatures/pdf-signature.verifier';
import { SignatureResultsRepository } from './signatures/signature-results.repository';
import { FeedWake } from './subscriptions/feed-wake';
import { OrganizationFeed } from './subscriptions/organization-feed';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { WebhookDispatcher } from './subscriptions/webhook-dispatcher';
import { WebhookTargets } from './subscriptions/webhook-targets';

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
      controllers: [
        DocumentsController,
        AttachmentsController,
        RegistersController,
        ReportsController,
        RecipientGroupsController,
        ArchiveController,
        SubscriptionsController,
      ],
      providers: [
        DocumentsRepository,
        DocumentsService,
        RecipientHistoryService,
        OrganizationDirectory,
        RecipientExpansion,
        RecipientGroupsService,
        {
          provide: AttachmentStorage,
          useClass: config.ATTACHMENTS_STORE.startsWith('s3://')
            ? S3AttachmentStorage
            : FilesystemAttachmentStorage,
        },
        AttachmentBusStore,
        AttachmentsService,
        PdfSignatureVerifier,
        SignatureResultsRepository,
        ExchangeService,
        ExchangeHandler,
        RegistersService,
        ArchiveRepository,
        ArchiveService,
        AuditProofsClient,
        ReportsService,
        DocumentsGrpcServer,
        OrganizationFeed,
        FeedWake,
        SubscriptionsService,
        WebhookDispatcher,
        WebhookTargets,
      ],
    };
  }
}
