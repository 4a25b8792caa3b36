import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages, settleAll, UnitOfWork } from '@lienthong/common';
import {
  AuditActions,
  Subjects,
  type DocumentStatusEvent,
  type OrganizationView,
} from '@lienthong/contracts';
import type { EntityManager } from 'typeorm';
import { CONSUMERS } from './exchange.types';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { parseDocumentId, type EdxmlStatus } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import { ExchangeRouting } from './exchange-routing.service';
import { ExchangesRepository, type ExchangeRow, type Route } from './exchanges.repository';
import { derivedUuid, STATUS_NAMES } from './routed-document';

/** Independent answers (other documents or receivers) relayed at once by one batch. */
const RELAY_PARALLEL = 8;

/** Receiver answers travelling back to the sender's side (local documents, another node, the national axis). */
@Injectable()
export class StatusRelay {
  private readonly logger = new Logger(StatusRelay.name);

  constructor(
    readonly repo: ExchangesRepository,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
    private readonly processed: ProcessedMessages,
    private readonly directory: OrganizationDirectory,
    private readonly store: BusObjectStore,
    private readonly node: EdxmlNodeService,
    private readonly link: FederationLink,
    private readonly config: IntegrationBusConfig,
    private readonly uow: UnitOfWork,
    private readonly routing: ExchangeRouting,
  ) {}

  private get nodeId(): string {
    return this.config.NODE_ID;
  }

  /** Whether this bus serves an organization (unknown senders are treated as ours: nobody else will route them). */
  private served(o: OrganizationView | undefined): boolean {
    return !o || o.nodeId === this.nodeId;
  }

  /**
   * A batch of receiver answers. The common case — a 01 that documents already applied to the sender's rows
   * (`senderApplied`) — is recorded for all of them in one transaction with one UPDATE; nothing is relayed
   * back. Every other answer takes the per-message path below.
   */
  async onReceiverStatuses(
    batch: { ev: DocumentStatusEvent; messageId: string }[],
    publishAxis: (status: EdxmlStatus, sender: string) => Promise<void>,
  ): Promise<void> {
    const orgs = await this.directory.resolve(batch.map((b) => b.ev.fromOrganizationCode));
    const fast = batch.filter(
      (b) =>
        b.ev.senderApplied &&
        b.ev.statusCode === '01' &&
        b.ev.edxmlDocumentId &&
        this.served(orgs.get(b.ev.fromOrganizationCode)),
    );
    const rest = batch.filter((b) => !fast.includes(b));
    if (fast.length) {
      await this.uow.run(async (tx) => {
        const fresh = await tx.claimMany(
          CONSUMERS.status(this.nodeId),
          fast.map((b) => b.messageId),
        );
        const todo = fast.filter((b) => fresh.delete(b.messageId));
        const changed = await this.repo.markDeliveredMany(
          tx.manager,
          todo.map((b) => ({
            edxmlDocumentId: b.ev.edxmlDocumentId!,
            to: b.ev.fromOrganizationCode,
            from: b.ev.toOrganizationCode,
            statusCode: b.ev.statusCode,
          })),
          new Date().toISOString(),
        );
        // No `delivered` state event: documents has the 01 already, so it would change nothing there.
        for (const r of changed)
          tx.audit({
            action: AuditActions.exchangeDelivered,
            resource: { type: 'exchange', id: r.id },
            details: { statusCode: r.status_code, to: r.to_code },
          });
      });
    }
    // The others (answers to senders on other nodes or behind the axis, later statuses): in order per document
    // and receiver, independent ones RELAY_PARALLEL at a time — a federation backlog's 01s go back to the
    // sending node without waiting for each other's transaction and signature. Claims keep a retry idempotent.
    const lanes = new Map<string, typeof rest>();
    for (const b of rest) {
      const key = `${b.ev.edxmlDocumentId ?? b.ev.sourceDocumentId ?? ''}|${b.ev.fromOrganizationCode}`;
      lanes.set(key, [...(lanes.get(key) ?? []), b]);
    }
    const queue = [...lanes.values()];
    await settleAll(
      Array.from({ length: Math.min(RELAY_PARALLEL, queue.length) }, async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift())
          for (const b of lane) await this.onReceiverStatus(b.ev, b.messageId, publishAxis);
      }),
    );
  }

  /** A receiver on this node answered (documents): the answer goes back to the sender's side. */
  async onReceiverStatus(
    ev: DocumentStatusEvent,
    messageId: string,
    publishAxis: (status: EdxmlStatus, sender: string) => Promise<void>,
  ): Promise<void> {
    const orgs = await this.directory.resolve([ev.fromOrganizationCode, ev.toOrganizationCode]);
    if (!this.served(orgs.get(ev.fromOrganizationCode))) return;
    const sender = orgs.get(ev.toOrganizationCode);
    if (!sender) {
      this.logger.warn(`status ${ev.statusId}: sender ${ev.toOrganizationCode} unknown; dropped`);
      return;
    }
    if (sender.sector === 'state') {
      // A redelivery of a status already applied must not reach the axis twice.
      const done: unknown[] = await this.repo.dataSource.query(
        'SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2',
        [CONSUMERS.status(this.nodeId), messageId],
      );
      if (done.length) return;
      if (!ev.edxmlDocumentId) {
        this.logger.warn(`status ${ev.statusId} to ${sender.code} has no edXML DocumentId; dropped`);
        return;
      }
      const ref = parseDocumentId(ev.edxmlDocumentId);
      // Sent before the transaction: a crash after the send repeats it, and the axis side applies a status once per code.
      await publishAxis(
        {
          responseFor: {
            organId: ref.organId,
            code: `${ref.number}/${ref.notation}`,
            promulgationDate: ref.date,
            documentId: ev.edxmlDocumentId,
          },
          from: { organId: ev.fromOrganizationCode },
          statusCode: ev.statusCode,
          description: ev.reason,
          timestamp: ev.at,
        },
        sender.code,
      );
    }
    await this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.status(this.nodeId), messageId))) return;
      await this.markAnswered(m, ev, 'local');
      if (sender.sector === 'state') return;
      if (sender.nodeId === this.nodeId) {
        await this.outbox.add(m, {
          subject: Subjects.busStatus(),
          type: 'bus.status',
          data: ev,
          id: derivedUuid(`bus-status|${ev.statusId}`),
        });
      } else {
        await this.link.send(
          m,
          derivedUuid(`federation-status|${ev.statusId}`),
          await this.link.message(sender.nodeId, { kind: 'status', status: ev }),
        );
      }
    });
  }

  /** A status from another node (federation) or from the axis: `bus.status` for the local sender. */
  async applyRemoteStatus(ev: DocumentStatusEvent, consumer: string, messageId: string): Promise<boolean> {
    return this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, consumer, messageId))) return false;
      const ex = await this.markAnswered(m, ev);
      const data: DocumentStatusEvent = {
        ...ev,
        sourceDocumentId: ex?.document_id ?? ev.sourceDocumentId,
        toOrganizationCode: ex?.from_code ?? ev.toOrganizationCode,
      };
      await this.outbox.add(m, {
        subject: Subjects.busStatus(),
        type: 'bus.status',
        data,
        id: derivedUuid(`bus-status|${ev.statusId}`),
      });
      return true;
    });
  }

  /** A status message from the axis or the inbound API becomes the event documents expects. */
  statusEvent(s: EdxmlStatus, statusId: string): DocumentStatusEvent {
    return {
      statusId,
      edxmlDocumentId: s.responseFor.documentId,
      fromOrganizationCode: s.from.organId,
      toOrganizationCode: s.responseFor.organId,
      status: STATUS_NAMES[s.statusCode] ?? 'processing',
      statusCode: s.statusCode,
      ...(s.description ? { reason: s.description } : {}),
      at: s.timestamp,
    };
  }

  /** The first receiver answer marks the exchange `delivered`. */
  private async markAnswered(
    m: EntityManager,
    ev: DocumentStatusEvent,
    route?: Route,
  ): Promise<ExchangeRow | undefined> {
    const rows = await this.repo.findFor(m, {
      to: ev.fromOrganizationCode,
      ...(ev.sourceDocumentId && route === 'local'
        ? { documentId: ev.sourceDocumentId }
        : { edxmlDocumentId: ev.edxmlDocumentId ?? '' }),
    });
    const ex = rows.find((r) => r.from_code === ev.toOrganizationCode) ?? rows[0];
    if (!ex) return undefined;
    const at = new Date().toISOString();
    if (['queued', 'sending', 'sent', 'failed'].includes(ex.state)) {
      await this.repo.update(
        m,
        ex.id,
        { state: 'delivered', nextAttemptAt: null },
        { at, event: 'delivered', detail: { statusCode: ev.statusCode } },
      );
      await this.routing.emitState(
        m,
        ex.document_id,
        ex.to_code,
        'delivered',
        undefined,
        `${ex.id}:delivered`,
      );
      await this.audit.record(m, {
        action: AuditActions.exchangeDelivered,
        resource: { type: 'exchange', id: ex.id },
        details: { statusCode: ev.statusCode, to: ex.to_code },
      });
    } else {
      await this.repo.update(m, ex.id, {}, { at, event: 'status', detail: { statusCode: ev.statusCode } });
    }
    return ex;
  }
}
