import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages, settleAll, UnitOfWork } from '@lienthong/common';
import {
  AuditActions,
  Events,
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
    // The others, in order per document and receiver. A lane of one answer to a sender on another node (a
    // federation backlog's 01s) is relayed with the batch's others in ONE transaction and one signed message
    // per node (relayToNodes). The rest (answers behind the axis, several answers of one lane, later
    // statuses) take the per-message path, independent lanes RELAY_PARALLEL at a time. Claims keep a retry
    // idempotent.
    const lanes = new Map<string, typeof rest>();
    for (const b of rest) {
      const key = `${b.ev.edxmlDocumentId ?? b.ev.sourceDocumentId ?? ''}|${b.ev.fromOrganizationCode}`;
      lanes.set(key, [...(lanes.get(key) ?? []), b]);
    }
    const senders = await this.directory.resolve(rest.map((b) => b.ev.toOrganizationCode));
    const toNodes: { ev: DocumentStatusEvent; messageId: string; node: string }[] = [];
    for (const [key, lane] of lanes) {
      const ev = lane[0].ev;
      const sender = senders.get(ev.toOrganizationCode);
      if (
        this.config.FEDERATION_STATUS_BATCH > 0 &&
        lane.length === 1 &&
        sender &&
        sender.sector !== 'state' &&
        sender.nodeId !== this.nodeId &&
        this.served(orgs.get(ev.fromOrganizationCode))
      ) {
        toNodes.push({ ev, messageId: lane[0].messageId, node: sender.nodeId });
        lanes.delete(key);
      }
    }
    if (toNodes.length) await this.relayToNodes(toNodes);
    const queue = [...lanes.values()];
    await settleAll(
      Array.from({ length: Math.min(RELAY_PARALLEL, queue.length) }, async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift())
          for (const b of lane) await this.onReceiverStatus(b.ev, b.messageId, publishAxis);
      }),
    );
  }

  /**
   * Answers of receivers on this node to senders on other nodes, in ONE transaction: claimed at once, their
   * exchanges marked set-based (no `delivered` state event: the sender's documents service is on the other
   * node, this node's has no row for it), and one signed `statuses` message per node (at most
   * FEDERATION_STATUS_BATCH answers each, ~0.5 kB per answer: far under NATS's 1 MB) into the outbox.
   */
  private async relayToNodes(
    items: { ev: DocumentStatusEvent; messageId: string; node: string }[],
  ): Promise<void> {
    await this.uow.run(async (tx) => {
      const fresh = await tx.claimMany(
        CONSUMERS.status(this.nodeId),
        items.map((i) => i.messageId),
      );
      const todo = items.filter((i) => fresh.delete(i.messageId));
      if (todo.length === 0) return;
      const answered = await this.repo.answerMany(
        tx.manager,
        todo.map((i) => ({
          byDocument: !!i.ev.sourceDocumentId,
          doc: i.ev.sourceDocumentId ?? i.ev.edxmlDocumentId ?? '',
          receiver: i.ev.fromOrganizationCode,
          sender: i.ev.toOrganizationCode,
          statusCode: i.ev.statusCode,
        })),
        new Date().toISOString(),
      );
      const found = new Set(answered.map((a) => a.idx));
      for (const a of answered)
        if (a.was !== 'delivered' && ['queued', 'sending', 'sent', 'failed'].includes(a.was))
          tx.audit({
            action: AuditActions.exchangeDelivered,
            resource: { type: 'exchange', id: a.id },
            details: { statusCode: a.status_code, to: a.to_code },
          });
      // Not found by sender: the per-message rule (any exchange of that document and receiver).
      for (const [i, item] of todo.entries())
        if (!found.has(i)) await this.markAnswered(tx.manager, item.ev, 'local');
      const byNode = new Map<string, DocumentStatusEvent[]>();
      for (const i of todo) byNode.set(i.node, [...(byNode.get(i.node) ?? []), i.ev]);
      for (const [node, statuses] of byNode)
        for (let k = 0; k < statuses.length; k += this.config.FEDERATION_STATUS_BATCH) {
          const part = statuses.slice(k, k + this.config.FEDERATION_STATUS_BATCH);
          await this.link.send(
            tx.manager,
            derivedUuid(`federation-statuses|${part.map((x) => x.statusId).join(',')}`),
            await this.link.message(node, { kind: 'statuses', statuses: part }),
          );
        }
    });
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

  /**
   * Many statuses from the axis in one transaction, set-based: locks the exchanges they answer with one
   * statement, claims them all, marks each first answer `delivered` (audit as one at a time would), records
   * every later one in the trace, and queues every `bus.status` — one outbox INSERT. The batch is applied in
   * its order (a 01 before the 03 that follows it). With `throughAxis`, a status whose document did not go to
   * its sender through the national axis is neither claimed nor applied: it is returned in `notThroughAxis`
   * (the poller refuses it). Returns the message ids applied now (the others were applied before).
   */
  async applyRemoteStatuses(
    batch: { ev: DocumentStatusEvent; messageId: string }[],
    consumer: string,
    opts: { throughAxis?: boolean } = {},
  ): Promise<{ fresh: Set<string>; notThroughAxis: Set<string> }> {
    const notThroughAxis = new Set<string>();
    if (batch.length === 0) return { fresh: new Set(), notThroughAxis };
    return this.uow.run(async (tx) => {
      type Row = Pick<
        ExchangeRow,
        'id' | 'document_id' | 'edxml_document_id' | 'from_code' | 'to_code' | 'state' | 'route'
      >;
      const rows: Row[] = await tx.manager.query(
        `SELECT e.id, e.document_id, e.edxml_document_id, e.from_code, e.to_code, e.state, e.route FROM exchanges e
          WHERE (e.edxml_document_id, e.to_code) IN
                (SELECT d, t FROM unnest($1::text[], $2::text[]) AS x(d, t))
          ORDER BY e.created_at FOR UPDATE`,
        [batch.map((b) => b.ev.edxmlDocumentId ?? ''), batch.map((b) => b.ev.fromOrganizationCode)],
      );
      const key = (ev: DocumentStatusEvent) => `${ev.edxmlDocumentId ?? ''}\u0000${ev.fromOrganizationCode}`;
      if (opts.throughAxis) {
        const axis = new Set(
          rows
            .filter((r) => r.route === 'national-axis')
            .map((r) => `${r.edxml_document_id}\u0000${r.to_code}`),
        );
        for (const b of batch) if (!axis.has(key(b.ev))) notThroughAxis.add(b.messageId);
      }
      const fresh = await tx.claimMany(
        consumer,
        batch.filter((b) => !notThroughAxis.has(b.messageId)).map((b) => b.messageId),
      );
      // Each message once, even when a list named it twice.
      const todo = batch.filter((b) => fresh.delete(b.messageId));
      for (const b of todo) fresh.add(b.messageId);
      if (todo.length === 0) return { fresh, notThroughAxis };
      const byKey = new Map<string, Row[]>();
      for (const r of rows) {
        const k = `${r.edxml_document_id}\u0000${r.to_code}`;
        byKey.set(k, [...(byKey.get(k) ?? []), r]);
      }
      const at = new Date().toISOString();
      const changes = new Map<string, { state?: 'delivered'; trace: unknown[] }>();
      for (const { ev } of todo) {
        const candidates = byKey.get(key(ev)) ?? [];
        const ex = candidates.find((r) => r.from_code === ev.toOrganizationCode) ?? candidates[0];
        if (ex) {
          const change = changes.get(ex.id) ?? { trace: [] };
          changes.set(ex.id, change);
          if (['queued', 'sending', 'sent', 'failed'].includes(ex.state)) {
            ex.state = 'delivered';
            change.state = 'delivered';
            change.trace.push({ at, event: 'delivered', detail: { statusCode: ev.statusCode } });
            // No `delivered` state event: documents maps it to no status (the `bus.status` below moves
            // the sender's row), so it would be a JetStream message and a claim that change nothing.
            tx.audit({
              action: AuditActions.exchangeDelivered,
              resource: { type: 'exchange', id: ex.id },
              details: { statusCode: ev.statusCode, to: ex.to_code },
            });
          } else {
            change.trace.push({ at, event: 'status', detail: { statusCode: ev.statusCode } });
          }
        }
        tx.emit(
          Events.busStatus,
          {
            ...ev,
            sourceDocumentId: ex?.document_id ?? ev.sourceDocumentId,
            toOrganizationCode: ex?.from_code ?? ev.toOrganizationCode,
          },
          { id: derivedUuid(`bus-status|${ev.statusId}`) },
        );
      }
      if (changes.size)
        await tx.manager.query(
          `UPDATE exchanges e SET
             state = COALESCE(c.state, e.state),
             next_attempt_at = CASE WHEN c.state IS NULL THEN e.next_attempt_at END,
             trace = e.trace || c.trace,
             updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS c(id, state, trace)
          WHERE e.id = c.id`,
          [
            [...changes.keys()],
            [...changes.values()].map((c) => c.state ?? null),
            [...changes.values()].map((c) => JSON.stringify(c.trace)),
          ],
        );
      return { fresh, notThroughAxis };
    });
  }

  /**
   * Several statuses from another node in one message (`statuses`), in ONE transaction claimed by the
   * message: the exchanges answered set-based, then `bus.status` for each local sender, in order.
   */
  async applyNodeStatuses(
    statuses: DocumentStatusEvent[],
    consumer: string,
    messageId: string,
  ): Promise<boolean> {
    const lanes = new Set(statuses.map((ev) => `${ev.edxmlDocumentId ?? ''}|${ev.fromOrganizationCode}`));
    return this.uow.run(async (tx) => {
      if (!(await tx.claim(consumer, messageId))) return false;
      const m = tx.manager;
      // One answer per document and receiver (what a node sends): set-based; otherwise one after the other.
      const answered =
        lanes.size === statuses.length
          ? await this.repo.answerMany(
              m,
              statuses.map((ev) => ({
                byDocument: false,
                doc: ev.edxmlDocumentId ?? '',
                receiver: ev.fromOrganizationCode,
                sender: ev.toOrganizationCode,
                statusCode: ev.statusCode,
              })),
              new Date().toISOString(),
            )
          : [];
      const byIdx = new Map(answered.map((a) => [a.idx, a]));
      const events: { ev: DocumentStatusEvent; documentId?: string; sender?: string }[] = [];
      for (const [i, ev] of statuses.entries()) {
        const a = byIdx.get(i);
        if (a) {
          if (['queued', 'sending', 'sent', 'failed'].includes(a.was)) {
            // No `delivered` state event (it changes nothing in documents): the `bus.status` below does.
            tx.audit({
              action: AuditActions.exchangeDelivered,
              resource: { type: 'exchange', id: a.id },
              details: { statusCode: a.status_code, to: a.to_code },
            });
          }
          events.push({ ev, documentId: a.document_id, sender: ev.toOrganizationCode });
        } else {
          const ex = await this.markAnswered(m, ev);
          events.push({ ev, documentId: ex?.document_id, sender: ex?.from_code });
        }
      }
      await this.outbox.add(
        m,
        ...events.map(({ ev, documentId, sender }) => ({
          subject: Subjects.busStatus(),
          type: 'bus.status' as const,
          data: {
            ...ev,
            sourceDocumentId: documentId ?? ev.sourceDocumentId,
            toOrganizationCode: sender ?? ev.toOrganizationCode,
          },
          id: derivedUuid(`bus-status|${ev.statusId}`),
        })),
      );
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
      // No `delivered` state event: documents maps it to no status; the receiver's answer moves its row.
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
