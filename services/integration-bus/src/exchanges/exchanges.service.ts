import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRecorder,
  conflict,
  notFound,
  OutboxService,
  ProcessedMessages,
  UnitOfWork,
  type AuditInput,
  type UnitOfWorkContext,
} from '@lienthong/common';
import {
  AuditActions,
  Events,
  isClassified,
  Subjects,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
  type ExchangeStateEvent,
  type NodeInboundEvent,
  type OrganizationView,
  type Secrecy,
} from '@lienthong/contracts';
import type { EntityManager } from 'typeorm';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import {
  buildPackage,
  parseDocumentId,
  signPackage,
  type EdxmlPackage,
  type EdxmlStatus,
  type SignatureCheck,
} from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import {
  ExchangesRepository,
  exchangeView,
  type ExchangeRow,
  type ExchangeState,
  type Route,
  type TraceEntry,
} from './exchanges.repository';
import {
  derivedUuid,
  exchangeIdFor,
  fromPackage,
  fromSendRequested,
  STATUS_NAMES,
  toPackage,
  type RoutedDocument,
} from './routed-document';

export type Origin = 'documents' | 'api' | 'national-axis' | 'federation';
export interface ReceiveAnswer {
  documentId: string;
  exchanges: { id: string; to: string; route: Route; state: ExchangeState }[];
}
type Actor = AuditInput['actor'];

export const CONSUMERS = {
  send: (node: string) => `bus-${node}-send`,
  recall: (node: string) => `bus-${node}-recall`,
  status: (node: string) => `bus-${node}-status`,
  axisStatus: 'national-axis-status',
} as const;

/** Recipients per delivery message: ~110 bytes each keeps a message well under NATS's 1 MB. */
const DELIVERY_SLICE = 2000;

interface Decision {
  to: string;
  route: Route;
  targetNode?: string;
  refused?: string;
}

/**
 * Routing and store-and-forward. Every state change, its `bus.*` event and its audit record are written in
 * one transaction (outbox); consumers claim their message ids, so redeliveries change nothing twice.
 */
@Injectable()
export class ExchangesService {
  private readonly logger = new Logger(ExchangesService.name);

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

  // ---------------------------------------------------------------- documents → bus

  async onSendRequested(ev: DocumentSendRequestedEvent, messageId: string): Promise<void> {
    const sender = await this.directory.get(ev.fromOrganizationCode);
    if (!this.served(sender)) return; // another node's bus routes it
    const d = fromSendRequested(ev);
    if (isClassified(ev.document.secrecy)) {
      await this.refuseClassified(d, ev.document.secrecy, messageId);
      return;
    }
    await this.route(d, 'documents', undefined, { consumer: CONSUMERS.send(this.nodeId), messageId });
  }

  /** Defence in depth: a classified document never becomes a package; each recipient is reported failed. */
  private async refuseClassified(d: RoutedDocument, secrecy: Secrecy, messageId: string): Promise<void> {
    await this.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, CONSUMERS.send(this.nodeId), messageId))) return;
      this.logger.error(`refused classified document ${d.sourceDocumentId}`);
      for (const to of d.recipients)
        await this.emitState(
          m,
          d.sourceDocumentId,
          to,
          'failed',
          'DOCUMENT_CLASSIFIED',
          `${messageId}:${to}:classified`,
        );
      await this.audit.record(m, {
        action: AuditActions.exchangeRefused,
        resource: { type: 'document', id: d.sourceDocumentId },
        outcome: 'denied',
        details: {
          reason: 'DOCUMENT_CLASSIFIED',
          secrecy,
          from: d.fromOrganizationCode,
          recipients: d.recipients,
        },
      });
    });
  }

  /** Zone rules (ARCHITECTURE.md): only unclassified material leaves the party WAN or reaches the internet zone. */
  private zoneRefusal(secrecy: Secrecy, o: OrganizationView, route: Route): string | undefined {
    if (!isClassified(secrecy)) return undefined;
    if (o.zone === 'internet') return 'ZONE_INTERNET_CLASSIFIED';
    if (route === 'national-axis') return 'ZONE_NATIONAL_AXIS_CLASSIFIED';
    return undefined;
  }

  private async decide(d: RoutedDocument, onlyLocal: boolean): Promise<Decision[]> {
    const orgs = await this.directory.resolve(d.recipients);
    return [...new Set(d.recipients)].map((to): Decision => {
      const o = orgs.get(to);
      if (!o) return { to, route: 'local', refused: 'RECIPIENT_UNKNOWN' };
      const route: Route =
        o.sector === 'state' ? 'national-axis' : o.nodeId === this.nodeId ? 'local' : 'federation';
      const zone = this.zoneRefusal(d.document.secrecy, o, route);
      if (zone) return { to, route, refused: zone };
      if (onlyLocal && route !== 'local') return { to, route, refused: 'RECIPIENT_NOT_SERVED_HERE' };
      if (route === 'national-axis' && !this.config.nationalAxisEnabled)
        return { to, route, refused: 'NO_NATIONAL_ROUTE' };
      return { to, route, targetNode: route === 'federation' ? o.nodeId : undefined };
    });
  }

  /**
   * Creates the exchanges of a document: local → `bus.delivery` now; federation → a signed package to the
   * recipient's node now; national axis → queued for the scheduler. Returns one entry per recipient.
   */
  async route(
    d: RoutedDocument,
    origin: Origin,
    actor?: Actor,
    claim?: { consumer: string; messageId: string },
    onlyLocal = false,
  ): Promise<ReceiveAnswer> {
    const decisions = await this.decide(d, onlyLocal);
    this.logger.debug(
      `route ${d.sourceDocumentId}: ${decisions.map((x) => `${x.to}→${x.refused ?? x.route}`).join(', ')}`,
    );
    // Federation messages are built (and large packages' parts published, idempotently) before the transaction.
    const byNode = new Map<string, string[]>();
    for (const x of decisions)
      if (x.route === 'federation' && !x.refused)
        byNode.set(x.targetNode!, [...(byNode.get(x.targetNode!) ?? []), x.to]);
    const federationMessages = new Map<string, { id: string; ev: NodeInboundEvent }>();
    for (const [node, to] of byNode) {
      const id = derivedUuid(
        `federation|${d.fromOrganizationCode}|${d.edxmlDocumentId}|${d.businessType}|${node}`,
      );
      const bytes = Buffer.from(await this.signedPackage(d, to), 'utf8');
      federationMessages.set(node, {
        id,
        ev: await this.link.message(
          node,
          { kind: 'package', sourceDocumentId: d.sourceDocumentId },
          { bytes, transferId: id },
        ),
      });
    }
    const now = new Date();
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + this.config.EXCHANGE_TTL_MS);
    return this.uow.run(async (tx) => {
      const m = tx.manager;
      if (claim && !(await tx.claim(claim.consumer, claim.messageId))) {
        return { documentId: d.edxmlDocumentId, exchanges: [] };
      }
      // One row per recipient, all in one INSERT; the stored payload names only its own recipient (a
      // document to 20,000 organizations must not store the list 20,000 times).
      const planned = decisions.map((x) => {
        const id = exchangeIdFor(d.fromOrganizationCode, d.edxmlDocumentId, x.to);
        const exId = d.businessType ? derivedUuid(`${id}|bt${d.businessType}`) : id;
        const trace: TraceEntry[] = [{ at, event: 'queued', detail: { origin, route: x.route } }];
        let state: ExchangeState = 'queued';
        if (x.refused) {
          state = 'failed';
          trace.push({ at, event: 'refused', detail: { reason: x.refused } });
        } else if (x.route === 'local') {
          state = 'sent';
          trace.push({
            at,
            event: 'delivery-published',
            detail: { deliveryId: derivedUuid(`delivery|${exId}`) },
          });
        } else if (x.route === 'federation') {
          state = 'sent';
          trace.push({ at, event: 'federation-published', detail: { node: x.targetNode } });
        }
        return { x, exId, state, trace };
      });
      const inserted = await this.repo.insertMany(
        m,
        planned.map((p) => ({
          id: p.exId,
          documentId: d.sourceDocumentId,
          edxmlDocumentId: d.edxmlDocumentId,
          from: d.fromOrganizationCode,
          to: p.x.to,
          businessType: d.businessType,
          route: p.x.route,
          targetNode: p.x.targetNode,
          state: p.state,
          lastError: p.x.refused ?? null,
          expiresAt,
          trace: p.trace,
          payload: { ...d, recipients: [p.x.to] },
        })),
      );
      const existing = new Map(
        (
          await this.repo.findExisting(
            m,
            d.fromOrganizationCode,
            d.edxmlDocumentId,
            planned.filter((p) => !inserted.has(p.exId)).map((p) => p.x.to),
          )
        ).map((r) => [r.to_code, r]),
      );
      const answer: ReceiveAnswer = {
        documentId: d.edxmlDocumentId,
        exchanges: planned.map((p) => {
          const row = inserted.has(p.exId) ? undefined : existing.get(p.x.to);
          return {
            id: row?.id ?? p.exId,
            to: p.x.to,
            route: row?.route ?? p.x.route,
            state: row?.state ?? p.state,
          };
        }),
      };
      const fresh = planned.filter((p) => inserted.has(p.exId));
      // One delivery message for every new local recipient, emitted first so it leaves before the audit trail.
      const local = fresh.filter((p) => !p.x.refused && p.x.route === 'local');
      // (In slices of DELIVERY_SLICE recipients: a NATS message holds at most 1 MB.)
      for (let i = 0; i < local.length; i += DELIVERY_SLICE) {
        const delivery = this.deliveryEvent(
          d,
          local.slice(i, i + DELIVERY_SLICE).map((p) => ({ to: p.x.to, exchangeId: p.exId })),
        );
        tx.emit(Events.busDelivery, delivery, { id: delivery.deliveryId });
      }
      for (const p of fresh) {
        const resource = { type: 'exchange', id: p.exId };
        const details = {
          documentId: d.sourceDocumentId,
          edxmlDocumentId: d.edxmlDocumentId,
          from: d.fromOrganizationCode,
          to: p.x.to,
          route: p.x.route,
          origin,
        };
        tx.audit({ action: AuditActions.exchangeQueued, actor, resource, details });
        if (p.x.refused) {
          tx.audit({
            action: AuditActions.exchangeRefused,
            actor,
            resource,
            outcome: 'denied',
            details: { ...details, reason: p.x.refused },
          });
          this.emitStateTx(tx, d.sourceDocumentId, p.x.to, 'failed', p.x.refused, `${p.exId}:failed:0`);
        } else if (p.x.route === 'local') {
          // No `sent` state event: the delivery moves the sender's row to 01 itself, so `sent` changes nothing.
          tx.audit({ action: AuditActions.exchangeSent, actor, resource, details });
        }
        // National axis: the sender's row is `queued` already; the scheduler reports what happens next.
      }
      for (const [node, msg] of federationMessages) {
        await this.link.send(m, msg.id, msg.ev);
        for (const x of decisions.filter((y) => y.targetNode === node && !y.refused)) {
          const exId = answer.exchanges.find((e) => e.to === x.to)!.id;
          tx.audit({
            action: AuditActions.exchangeSent,
            actor,
            resource: { type: 'exchange', id: exId },
            details: { documentId: d.sourceDocumentId, to: x.to, route: 'federation', node },
          });
          this.emitStateTx(tx, d.sourceDocumentId, x.to, 'sent', undefined, `${exId}:sent:0`);
        }
      }
      return answer;
    });
  }

  private emitStateTx(
    tx: UnitOfWorkContext,
    documentId: string,
    to: string,
    state: ExchangeStateEvent['state'],
    error: string | undefined,
    seed: string,
  ): void {
    tx.emit(
      Events.busExchangeState,
      { documentId, organizationCode: to, state, ...(error ? { error } : {}), at: new Date().toISOString() },
      { id: derivedUuid(`state|${seed}`) },
    );
  }

  /** The delivery message of a document to some of this node's organizations (one message, all of them). */
  deliveryEvent(d: RoutedDocument, to: { to: string; exchangeId: string }[]): DocumentDeliveryEvent {
    const recipients = to.map((r) => ({
      organizationCode: r.to,
      deliveryId: derivedUuid(`delivery|${r.exchangeId}`),
      exchangeId: r.exchangeId,
    }));
    return {
      // Deterministic: a redelivered send request yields the same message, which the stream drops.
      deliveryId:
        recipients.length === 1
          ? recipients[0].deliveryId
          : derivedUuid(`delivery-message|${recipients.map((r) => r.deliveryId).join(',')}`),
      sourceDocumentId: d.sourceDocumentId,
      edxmlDocumentId: d.edxmlDocumentId,
      fromOrganizationCode: d.fromOrganizationCode,
      recipients,
      ...(recipients.length === 1
        ? { toOrganizationCode: recipients[0].organizationCode, exchangeId: recipients[0].exchangeId }
        : {}),
      ...(d.businessType ? { businessType: d.businessType } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
      document: d.document,
      attachments: d.attachments,
    };
  }

  /** The signed edXML package of a document for some recipients. */
  async signedPackage(d: RoutedDocument, to: string[]): Promise<string> {
    const pkg: EdxmlPackage = await toPackage(
      d,
      to,
      this.config.NATIONAL_AXIS_SYSTEM_ID ?? d.fromOrganizationCode,
      (a) => this.store.get(a.storageKey || a.sha256),
    );
    return signPackage(buildPackage(pkg), this.node.credentials);
  }

  async emitState(
    m: EntityManager,
    documentId: string,
    to: string,
    state: ExchangeStateEvent['state'],
    error: string | undefined,
    seed: string,
  ): Promise<void> {
    await this.outbox.add(m, {
      subject: Subjects.busExchangeState(),
      type: 'bus.exchange-state',
      id: derivedUuid(`state|${seed}`),
      data: {
        documentId,
        organizationCode: to,
        state,
        ...(error ? { error } : {}),
        at: new Date().toISOString(),
      },
    });
  }

  // ---------------------------------------------------------------- packages from outside

  /**
   * A package received from the inbound API, the national axis or another node: applied once per sender +
   * DocumentId (a second copy gets the first answer), then routed to its recipients.
   */
  async receivePackage(
    pkg: EdxmlPackage,
    origin: Exclude<Origin, 'documents'>,
    opts: { actor?: Actor; signature?: SignatureCheck; sourceDocumentId?: string; onlyLocal?: boolean } = {},
  ): Promise<{ duplicate: boolean; answer: ReceiveAnswer }> {
    const previous = await this.repo.receivedAnswer(
      this.repo.dataSource.manager,
      pkg.from.organId,
      pkg.documentId,
      pkg.businessDocType,
    );
    if (previous) return { duplicate: true, answer: previous as ReceiveAnswer };
    const d = await fromPackage(pkg, opts.sourceDocumentId, (b) => this.store.put(b));
    const answer = await this.route(d, origin, opts.actor, undefined, opts.onlyLocal);
    // Record after routing: exchanges are idempotent by their deterministic ids, so a crash in between only
    // re-routes to the same rows.
    const stored = await this.repo.dataSource.transaction(async (m) => {
      const fresh = await this.repo.claimReceived(
        m,
        pkg.from.organId,
        pkg.documentId,
        pkg.businessDocType,
        origin,
        answer,
      );
      if (fresh) {
        await this.audit.record(m, {
          action: AuditActions.edxmlReceived,
          actor: opts.actor,
          resource: { type: 'edxml', id: pkg.documentId },
          details: {
            origin,
            from: pkg.from.organId,
            to: pkg.to.map((t) => t.organId),
            signature: opts.signature,
          },
        });
        for (const e of answer.exchanges) {
          await this.repo.update(
            m,
            e.id,
            {},
            {
              at: new Date().toISOString(),
              event: 'received',
              detail: { origin, signature: opts.signature },
            },
          );
        }
      }
      return fresh;
    });
    if (!stored) {
      const first = await this.repo.receivedAnswer(
        this.repo.dataSource.manager,
        pkg.from.organId,
        pkg.documentId,
        pkg.businessDocType,
      );
      return { duplicate: true, answer: (first as ReceiveAnswer) ?? answer };
    }
    return { duplicate: false, answer };
  }

  async auditRejected(reason: string, detail: Record<string, unknown>, actor?: Actor): Promise<void> {
    await this.repo.dataSource.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.edxmlRejected,
        actor,
        resource: { type: 'edxml', id: String(detail.documentId ?? 'unknown') },
        outcome: 'denied',
        details: { reason, ...detail },
      }),
    );
  }

  // ---------------------------------------------------------------- statuses

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
        b.ev.sourceDocumentId &&
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
            documentId: b.ev.sourceDocumentId!,
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
    for (const b of rest) await this.onReceiverStatus(b.ev, b.messageId, publishAxis);
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
      await this.emitState(m, ex.document_id, ex.to_code, 'delivered', undefined, `${ex.id}:delivered`);
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

  // ---------------------------------------------------------------- operator

  async list(q: {
    state?: string;
    documentId?: string;
    organizationCode?: string;
    limit?: number;
    cursor?: string;
  }) {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const rows = await this.repo.list(this.repo.dataSource.manager, { ...q, limit });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(exchangeView),
      nextCursor:
        rows.length > limit && last ? `${new Date(last.created_at).toISOString()}|${last.id}` : null,
    };
  }

  async get(id: string) {
    const row = isUuid(id) ? await this.repo.findById(this.repo.dataSource.manager, id) : undefined;
    if (!row) throw notFound('EXCHANGE_NOT_FOUND', 'No such exchange');
    return exchangeView(row);
  }

  /** Operator retry: a failed, dead or expired exchange is queued again with a fresh TTL. */
  async retry(id: string, actor: Actor) {
    return this.repo.dataSource.transaction(async (m) => {
      const row = isUuid(id) ? await this.repo.findById(m, id, true) : undefined;
      if (!row) throw notFound('EXCHANGE_NOT_FOUND', 'No such exchange');
      if (!['failed', 'dead', 'expired'].includes(row.state)) {
        throw conflict('EXCHANGE_NOT_RETRYABLE', `An exchange in state ${row.state} cannot be retried`);
      }
      const at = new Date().toISOString();
      const expiresAt = new Date(Date.now() + this.config.EXCHANGE_TTL_MS);
      if (row.route === 'local') {
        // Local delivery is re-published; documents applies a deliveryId once.
        await this.outbox.add(m, {
          subject: Subjects.busDelivery(),
          type: 'bus.delivery',
          data: this.deliveryEvent(row.payload, [{ to: row.to_code, exchangeId: row.id }]),
          id: derivedUuid(`delivery|${row.id}|retry|${at}`),
        });
        await this.repo.update(
          m,
          row.id,
          { state: 'sent', lastError: null, expiresAt },
          { at, event: 'retried', detail: { by: actor?.sub } },
        );
        await this.emitState(m, row.document_id, row.to_code, 'sent', undefined, `${row.id}:retry:${at}`);
      } else {
        await this.repo.update(
          m,
          row.id,
          { state: 'queued', attempts: 0, lastError: null, nextAttemptAt: new Date(), expiresAt },
          { at, event: 'retried', detail: { by: actor?.sub } },
        );
        await this.emitState(m, row.document_id, row.to_code, 'queued', undefined, `${row.id}:retry:${at}`);
      }
      await this.audit.record(m, {
        action: AuditActions.exchangeRetried,
        actor,
        resource: { type: 'exchange', id: row.id },
        details: { previousState: row.state, route: row.route },
      });
      return exchangeView((await this.repo.findById(m, row.id))!);
    });
  }
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
