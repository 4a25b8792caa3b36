import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages } from '@lienthong/common';
import {
  AuditActions,
  isClassified,
  STATUS_CODES,
  Subjects,
  type DocumentDeliveryEvent,
  type DocumentStatusEvent,
  type ExchangeStateEvent,
} from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AttachmentBusStore } from '../attachments/attachment-bus-store';
import { AttachmentsService } from '../attachments/attachments.service';
import { DocumentsRepository, isUuid } from '../documents/documents.repository';
import { vietnamYear } from '../documents/documents.view';
import { derivedUuid } from '../documents/event-ids';

export const CONSUMERS = {
  delivery: 'documents-delivery',
  status: 'documents-status',
  exchangeState: 'documents-exchange-state',
} as const;

/** Exchange states the bus reports and the per-recipient status they set on the sender's side. */
const EXCHANGE_STATE_TO_STATUS: Partial<Record<ExchangeStateEvent['state'], string>> = {
  sent: 'sent',
  failed: 'failed',
  dead: 'failed',
  expired: 'expired',
};
/** Transport states only move a recipient that has no receiver answer yet. */
const TRANSPORT_STATUSES = ['queued', 'sent', 'failed', 'expired'];

export type DeliveryOutcome =
  { applied: false } | { applied: true; documentId?: string; arrivalNumber?: number };

/**
 * The bus's side of the exchange: deliveries become incoming documents with an arrival number, statuses
 * update the sender's per-recipient rows. Every apply* method claims its message id in its transaction,
 * so a redelivered event changes nothing twice; the JetStream ack follows the commit.
 */
@Injectable()
export class ExchangeService {
  private readonly logger = new Logger(ExchangeService.name);

  constructor(
    private readonly repo: DocumentsRepository,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
    private readonly processed: ProcessedMessages,
    private readonly busStore: AttachmentBusStore,
    private readonly attachments: AttachmentsService,
  ) {}

  async applyDelivery(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    if (ev.businessType === 1) return this.applyRecall(ev);
    if (isClassified(ev.document.secrecy)) {
      // Defence in depth: a classified document must never arrive electronically; it is not registered.
      this.logger.error(`refused classified delivery ${ev.deliveryId}`);
      await this.repo.dataSource.transaction(async (m) => {
        if (!(await this.processed.claim(m, CONSUMERS.delivery, ev.deliveryId))) return;
        await this.audit.record(m, {
          action: AuditActions.documentReceived,
          resource: { type: 'delivery', id: ev.deliveryId },
          outcome: 'denied',
          details: {
            reason: 'DOCUMENT_CLASSIFIED',
            to: ev.toOrganizationCode,
            from: ev.fromOrganizationCode,
          },
        });
      });
      return { applied: false };
    }
    // Bytes first (outside the transaction; content-addressed, so a retry just finds them there).
    const verified: ({ ref: DocumentDeliveryEvent['attachments'][number] } & Awaited<
      ReturnType<AttachmentsService['inspectStored']>
    >)[] = [];
    for (const a of ev.attachments) {
      await this.busStore.fetch(a.sha256);
      verified.push({ ref: a, ...(await this.attachments.inspectStored(a.sha256, a.name)) });
    }
    return this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.delivery, ev.deliveryId)))
        return { applied: false as const };
      const now = new Date();
      const year = vietnamYear(now);
      const arrivalNumber = await this.repo.nextNumber(m, ev.toOrganizationCode, year, 'incoming');
      const id = randomUUID();
      const doc = ev.document;
      await this.repo.insert(m, {
        id,
        organizationCode: ev.toOrganizationCode,
        direction: 'incoming',
        number: doc.number,
        notation: doc.notation,
        type: doc.type,
        typeName: doc.typeName,
        subject: doc.subject,
        content: doc.content,
        promulgationPlace: doc.promulgationPlace,
        promulgationDate: doc.promulgationDate,
        signer: doc.signer,
        secrecy: doc.secrecy,
        urgency: doc.urgency,
        steering: doc.steering ?? false,
        dueDate: doc.dueDate ?? null,
        recipients: [],
        state: 'arrived',
        statusCode: STATUS_CODES.arrived,
        fromOrganizationCode: ev.fromOrganizationCode,
        sourceDocumentId: ev.sourceDocumentId,
        edxmlDocumentId: ev.edxmlDocumentId,
        deliveryId: ev.deliveryId,
        registerYear: year,
        registerNumber: arrivalNumber,
        arrivalAt: now,
        createdBy: 'integration-bus',
      });
      for (const v of verified) {
        await this.repo.insertAttachment(m, {
          id: randomUUID(),
          documentId: id,
          name: v.ref.name,
          contentType: v.contentType,
          size: v.ref.size,
          sha256: v.ref.sha256,
          signature: v.signature,
          signatures: v.signatures,
        });
      }
      await this.emitStatus(m, {
        statusId: derivedUuid(`${ev.deliveryId}:01`),
        sourceDocumentId: ev.sourceDocumentId,
        edxmlDocumentId: ev.edxmlDocumentId,
        fromOrganizationCode: ev.toOrganizationCode,
        toOrganizationCode: ev.fromOrganizationCode,
        status: 'arrived',
        statusCode: STATUS_CODES.arrived,
        at: now.toISOString(),
      });
      await this.audit.record(m, {
        action: AuditActions.documentReceived,
        actor: { sub: 'integration-bus', organizationCode: ev.toOrganizationCode, type: 'system' },
        resource: { type: 'document', id },
        details: {
          deliveryId: ev.deliveryId,
          from: ev.fromOrganizationCode,
          arrivalNumber,
          registerYear: year,
        },
      });
      return { applied: true as const, documentId: id, arrivalNumber };
    });
  }

  /** A recall (business type 1): the incoming copy becomes `recalled` (13) and the receiver answers 15, or 16 once completed. */
  private async applyRecall(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    return this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.delivery, ev.deliveryId)))
        return { applied: false as const };
      const d = await this.repo.findIncomingBySource(
        m,
        ev.toOrganizationCode,
        ev.fromOrganizationCode,
        ev.sourceDocumentId,
      );
      if (!d) {
        this.logger.warn(`recall ${ev.deliveryId} for a document ${ev.toOrganizationCode} never received`);
        return { applied: false as const };
      }
      const agree = d.state !== 'completed' && d.state !== 'recalled';
      if (agree)
        await this.repo.setState(m, d.id, {
          state: 'recalled',
          statusCode: STATUS_CODES.recalled,
          reason: ev.reason ?? null,
        });
      const answer = agree ? 'recall-agreed' : 'recall-refused';
      await this.emitStatus(m, {
        statusId: derivedUuid(`${ev.deliveryId}:${STATUS_CODES[answer]}`),
        sourceDocumentId: ev.sourceDocumentId,
        edxmlDocumentId: ev.edxmlDocumentId,
        fromOrganizationCode: ev.toOrganizationCode,
        toOrganizationCode: ev.fromOrganizationCode,
        status: answer,
        statusCode: STATUS_CODES[answer],
        ...(agree ? {} : { reason: 'already completed' }),
        at: new Date().toISOString(),
      });
      await this.audit.record(m, {
        action: AuditActions.documentRecalled,
        actor: { sub: 'integration-bus', organizationCode: ev.toOrganizationCode, type: 'system' },
        resource: { type: 'document', id: d.id },
        outcome: agree ? 'success' : 'denied',
        details: { deliveryId: ev.deliveryId, answer: STATUS_CODES[answer], reason: ev.reason },
      });
      return { applied: true as const, documentId: d.id };
    });
  }

  private async emitStatus(m: EntityManager, ev: DocumentStatusEvent): Promise<void> {
    await this.outbox.add(m, {
      subject: Subjects.documentStatusChanged(),
      type: 'document.status-changed',
      data: ev,
      id: ev.statusId,
    });
  }

  /** A receiver's answer reaches the sender: update that recipient's row. */
  async applyStatus(ev: DocumentStatusEvent): Promise<boolean> {
    return this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.status, ev.statusId))) return false;
      if (!ev.sourceDocumentId || !isUuid(ev.sourceDocumentId)) return false;
      const d = await this.repo.findById(m, ev.sourceDocumentId);
      if (!d || d.direction !== 'outgoing' || d.organization_code !== ev.toOrganizationCode) {
        this.logger.warn(`status ${ev.statusId} for an unknown outgoing document`);
        return false;
      }
      const changed = await this.repo.updateRecipient(
        m,
        d.id,
        ev.fromOrganizationCode,
        ev.status,
        ev.statusCode,
        ev.reason ?? null,
        ev.at,
      );
      if (changed) {
        await this.audit.record(m, {
          action: AuditActions.documentStatusChanged,
          actor: { sub: 'integration-bus', organizationCode: ev.fromOrganizationCode, type: 'system' },
          resource: { type: 'document', id: d.id },
          details: { recipient: ev.fromOrganizationCode, status: ev.status, statusCode: ev.statusCode },
        });
      }
      return changed;
    });
  }

  async applyExchangeState(messageId: string, ev: ExchangeStateEvent): Promise<boolean> {
    const status = EXCHANGE_STATE_TO_STATUS[ev.state];
    return this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.exchangeState, messageId))) return false;
      if (!status || !isUuid(ev.documentId)) return false;
      return this.repo.updateRecipient(
        m,
        ev.documentId,
        ev.organizationCode,
        status,
        null,
        ev.error ?? null,
        ev.at,
        TRANSPORT_STATUSES,
      );
    });
  }
}
