import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRecorder,
  OutboxService,
  ProcessedMessages,
  runWithCorrelationId,
  settleAll,
  UnitOfWork,
  type UnitOfWorkContext,
} from '@lienthong/common';
import {
  AuditActions,
  Events,
  isClassified,
  Subjects,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type ExchangeStateEvent,
  type NodeInboundEvent,
  type OrganizationView,
  type Secrecy,
} from '@lienthong/contracts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from 'typeorm';
import { CONSUMERS, type Actor, type Origin, type ReceiveAnswer } from './exchange.types';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { buildSignedPackage, spoolSignedPackage, type EdxmlPackage, type SpooledPackage } from '../edxml';
import { AxisWakeup } from '../national-axis/axis-wakeup';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import {
  ExchangesRepository,
  type ExchangeState,
  type NewExchange,
  type Route,
  type TraceEntry,
} from './exchanges.repository';
import {
  derivedUuid,
  exchangeIdFor,
  fromSendRequested,
  toPackage,
  toPackageOutline,
  type RoutedDocument,
} from './routed-document';
/**
 * Recipients per routing transaction and delivery message: ~170 bytes each keeps a message under NATS's 1 MB
 * beside the largest document content; small enough that documents registers the first slice while the bus
 * routes the next.
 */
const DELIVERY_SLICE = 1000;

/**
 * A package received from outside, routed in the same transaction as its record: `trace` is added to every
 * new exchange row, `within` runs last in the routing transaction (the received-package claim and its audit).
 */
export interface RouteIntake {
  trace: TraceEntry;
  within: (tx: UnitOfWorkContext, answer: ReceiveAnswer, inserted: Set<string>) => Promise<void>;
}

interface Planned {
  x: Decision;
  exId: string;
  state: ExchangeState;
  row: Omit<NewExchange, 'payload'>;
}

/** What the slices of one document's routing gather: the answer's exchanges and the rows inserted. */
interface SliceAccumulator {
  exchanges: ReceiveAnswer['exchanges'];
  freshIds: Set<string>;
}

interface Decision {
  to: string;
  route: Route;
  targetNode?: string;
  refused?: string;
}

/**
 * Routing and store-and-forward of documents to their recipients: local (one delivery message per document),
 * federation (a signed package to the serving node), national axis (queued for the scheduler). Every state
 * change, its events and its audit records are written in one unit of work.
 */
/** A signed package in memory (`bytes`) or in a temporary file (`path`); `dispose` removes the file. */
export interface PackageFile extends SpooledPackage {
  dispose: () => Promise<void>;
}

@Injectable()
export class ExchangeRouting {
  private readonly logger = new Logger(ExchangeRouting.name);

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
    private readonly axisWakeup: AxisWakeup,
  ) {}

  private get nodeId(): string {
    return this.config.NODE_ID;
  }

  /** Whether this bus serves an organization (unknown senders are treated as ours: nobody else will route them). */
  private served(o: OrganizationView | undefined): boolean {
    return !o || o.nodeId === this.nodeId;
  }

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
    intake?: RouteIntake,
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
        `federation|${d.fromOrganizationCode}|${d.edxmlDocumentId}|${d.businessType}${d.businessKey ? `|${d.businessKey}` : ''}|${node}`,
      );
      // Built by streaming (in a file when large) and published part by part from it: never whole in memory.
      const file = await this.signedPackageFile(d, to);
      try {
        federationMessages.set(node, {
          id,
          ev: await this.link.message(
            node,
            { kind: 'package', sourceDocumentId: d.sourceDocumentId },
            file.bytes
              ? { bytes: file.bytes, transferId: id }
              : { file: { path: file.path!, size: file.size }, transferId: id },
          ),
        });
      } finally {
        await file.dispose();
      }
    }
    const planned = this.planExchanges(d, decisions, origin, intake);
    // A large fan-out is routed in slices of DELIVERY_SLICE recipients, each in its own transaction, so
    // documents registers the first slice while the next ones are routed (a directive to 10,000 organizations
    // is ten steps of a pipeline, not one long transaction followed by another). Each slice is idempotent
    // on its own (exchange rows ON CONFLICT DO NOTHING; a delivery message and audit events only for the rows
    // it inserted), so a crash between slices is repaired by the redelivered send request. The message claim,
    // the federation messages and the intake's own records go with the last slice: a redelivery after the
    // last commit changes nothing.
    const slices: Planned[][] = [];
    for (let i = 0; i < planned.length; i += DELIVERY_SLICE)
      slices.push(planned.slice(i, i + DELIVERY_SLICE));
    if (slices.length === 0) slices.push([]);
    const acc: SliceAccumulator = { exchanges: [], freshIds: new Set() };
    let claimed = true;
    for (let i = 0; i < slices.length && claimed; i++) {
      const last = i === slices.length - 1;
      await this.uow.run(async (tx) => {
        if (last && claim && !(await tx.claim(claim.consumer, claim.messageId))) {
          claimed = false;
          return;
        }
        await this.routeIn(tx, d, decisions, slices[i], last, acc, origin, actor, federationMessages, intake);
      });
    }
    const routed: ReceiveAnswer = claimed
      ? { documentId: d.edxmlDocumentId, exchanges: acc.exchanges }
      : { documentId: d.edxmlDocumentId, exchanges: [] };
    // After the commit: the national-axis sender claims what was just queued.
    if (decisions.some((x) => x.route === 'national-axis' && !x.refused)) this.axisWakeup.notify();
    return routed;
  }

  /**
   * Send requests of documents (a batch of the send consumer), routed in ONE transaction: the messages are
   * claimed with one statement, each document's exchange rows written with one INSERT, and every event and
   * audit record of the batch with the transaction's one outbox INSERT. A document that needs a federation
   * package (built before its transaction) or is classified takes the one-document path. Each document's
   * events carry the correlation id of its own send request. If the transaction fails, the consumer retries
   * the batch one message at a time (claims keep that idempotent).
   */
  async onSendRequestedMany(
    batch: { ev: DocumentSendRequestedEvent; messageId: string; correlationId?: string }[],
  ): Promise<void> {
    const grouped: { d: RoutedDocument; decisions: Decision[]; messageId: string; correlationId?: string }[] =
      [];
    const alone: typeof batch = [];
    const seen = new Set<string>();
    for (const m of batch) {
      // The same request twice in one batch (a redelivery): the claim below takes it once.
      if (seen.has(m.messageId)) continue;
      seen.add(m.messageId);
      const sender = await this.directory.get(m.ev.fromOrganizationCode);
      if (!this.served(sender)) continue; // another node's bus routes it
      if (isClassified(m.ev.document.secrecy)) {
        alone.push(m);
        continue;
      }
      const d = fromSendRequested(m.ev);
      const decisions = await this.decide(d, false);
      // Federation packages are built before the transaction; a large fan-out is routed in slices.
      if (decisions.length > DELIVERY_SLICE || decisions.some((x) => x.route === 'federation' && !x.refused))
        alone.push(m);
      else grouped.push({ d, decisions, messageId: m.messageId, correlationId: m.correlationId });
    }
    if (grouped.length > 0) {
      await this.uow.run(async (tx) => {
        const fresh = await tx.claimMany(
          CONSUMERS.send(this.nodeId),
          grouped.map((g) => g.messageId),
        );
        const claimed = grouped
          .filter((g) => fresh.has(g.messageId))
          .map((g) => ({ ...g, planned: this.planExchanges(g.d, g.decisions, 'documents') }));
        // Every claimed document's exchange rows in one INSERT.
        const inserted = await this.repo.insertManyDocuments(
          tx.manager,
          claimed.map((g) => ({ rows: g.planned.map((p) => p.row), payload: g.d })),
        );
        for (const g of claimed)
          await runWithCorrelationId(g.correlationId, () =>
            this.routeIn(
              tx,
              g.d,
              g.decisions,
              g.planned,
              true,
              { exchanges: [], freshIds: new Set() },
              'documents',
              undefined,
              new Map(),
              undefined,
              inserted,
            ),
          );
      });
      if (grouped.some((g) => g.decisions.some((x) => x.route === 'national-axis' && !x.refused)))
        this.axisWakeup.notify();
    }
    await settleAll(alone.map((m) => this.onSendRequested(m.ev, m.messageId)));
  }

  /**
   * The exchange rows of a document, one per recipient; the stored payload names only its own recipient (a
   * document to 20,000 organizations must not store the list 20,000 times), and a local exchange whose
   * delivery is published stores none when another row of the document does (NewExchange.withoutPayload).
   */
  private planExchanges(
    d: RoutedDocument,
    decisions: Decision[],
    origin: Origin,
    intake?: RouteIntake,
  ): Planned[] {
    const now = new Date();
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + this.config.EXCHANGE_TTL_MS);
    return decisions.map((x) => {
      const id = exchangeIdFor(d.fromOrganizationCode, d.edxmlDocumentId, x.to);
      const exId = d.businessType
        ? derivedUuid(`${id}|bt${d.businessType}${d.businessKey ? `|${d.businessKey}` : ''}`)
        : id;
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
      if (intake) trace.push(intake.trace);
      const row: Omit<NewExchange, 'payload'> = {
        id: exId,
        documentId: d.sourceDocumentId,
        edxmlDocumentId: d.edxmlDocumentId,
        from: d.fromOrganizationCode,
        to: x.to,
        businessType: d.businessType,
        route: x.route,
        targetNode: x.targetNode,
        state,
        lastError: x.refused ?? null,
        expiresAt,
        trace,
        // A local delivery is published with the row: its copy of the document is read only by an operator
        // retry, which finds it on the exchange of the same document that keeps it.
        withoutPayload: state === 'sent' && x.route === 'local',
      };
      return { x, exId, state, row };
    });
  }

  /**
   * The transactional part of routing one slice of a document's exchanges (claimed by the caller; its rows
   * maybe inserted already). The last slice also publishes the federation messages and runs the intake's
   * records; `acc` gathers the answer over the slices.
   */
  private async routeIn(
    tx: UnitOfWorkContext,
    d: RoutedDocument,
    decisions: Decision[],
    part: Planned[],
    last: boolean,
    acc: SliceAccumulator,
    origin: Origin,
    actor: Actor | undefined,
    federationMessages: Map<string, { id: string; ev: NodeInboundEvent }>,
    intake?: RouteIntake,
    preInserted?: Set<string>,
  ): Promise<ReceiveAnswer | undefined> {
    const m = tx.manager;
    const { exchanges, freshIds } = acc;
    const inserted =
      preInserted ??
      (await this.repo.insertMany(
        m,
        part.map((p) => p.row),
        d,
      ));
    const existing = new Map(
      (
        await this.repo.findExisting(
          m,
          d.fromOrganizationCode,
          d.edxmlDocumentId,
          part.filter((p) => !inserted.has(p.exId)).map((p) => p.x.to),
        )
      ).map((r) => [r.to_code, r]),
    );
    for (const p of part) {
      const row = inserted.has(p.exId) ? undefined : existing.get(p.x.to);
      exchanges.push({
        id: row?.id ?? p.exId,
        to: p.x.to,
        route: row?.route ?? p.x.route,
        state: row?.state ?? p.state,
      });
    }
    const fresh = part.filter((p) => inserted.has(p.exId));
    // One delivery message for the slice's new local recipients, emitted first so it leaves before the
    // audit trail.
    const local = fresh.filter((p) => !p.x.refused && p.x.route === 'local');
    if (local.length > 0) {
      const delivery = this.deliveryEvent(
        d,
        local.map((p) => ({ to: p.x.to, exchangeId: p.exId })),
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
    fresh.forEach((p) => freshIds.add(p.exId));
    if (!last) return;
    const answer: ReceiveAnswer = { documentId: d.edxmlDocumentId, exchanges };
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
    if (intake) await intake.within(tx, answer, freshIds);
    return answer;
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

  /**
   * Packages received from outside for this node's organizations only (a federation batch), routed in ONE
   * unit of work: each document's exchange rows one INSERT, every event and audit record of the batch in the
   * transaction's one outbox INSERT, one commit. Recipients elsewhere are refused (onlyLocal), so nothing is
   * built before the transaction. `within` runs last in it with each item's answer and the exchange ids it
   * inserted, in the order of `items`.
   */
  async routeReceived(
    items: { d: RoutedDocument; actor?: Actor; trace: TraceEntry }[],
    origin: Origin,
    within: (
      tx: UnitOfWorkContext,
      routed: { answer: ReceiveAnswer; inserted: Set<string> }[],
    ) => Promise<void>,
  ): Promise<ReceiveAnswer[]> {
    if (items.length === 0) return [];
    const decided: Decision[][] = [];
    for (const it of items) decided.push(await this.decide(it.d, true));
    return this.uow.run(async (tx) => {
      const routed: { answer: ReceiveAnswer; inserted: Set<string> }[] = [];
      const intakes = items.map((it) => {
        const r = { inserted: new Set<string>(), intake: undefined as unknown as RouteIntake };
        r.intake = {
          trace: it.trace,
          within: async (_tx, _answer, ids) => {
            r.inserted = ids;
          },
        };
        return r;
      });
      const planned = items.map((it, i) => this.planExchanges(it.d, decided[i], origin, intakes[i].intake));
      // Every package's exchange rows in one INSERT (not one per package).
      const inserted = await this.repo.insertManyDocuments(
        tx.manager,
        items.map((it, i) => ({ rows: planned[i].map((p) => p.row), payload: it.d })),
      );
      for (const [i, it] of items.entries()) {
        const { intake } = intakes[i];
        const acc: SliceAccumulator = { exchanges: [], freshIds: new Set() };
        await this.routeIn(
          tx,
          it.d,
          decided[i],
          planned[i],
          true,
          acc,
          origin,
          it.actor,
          new Map(),
          intake,
          inserted,
        );
        routed.push({
          answer: { documentId: it.d.edxmlDocumentId, exchanges: acc.exchanges },
          inserted: intakes[i].inserted,
        });
      }
      await within(tx, routed);
      return routed.map((r) => r.answer);
    });
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
      ...(d.changes ? { changes: d.changes } : {}),
      ...(d.replaces ? { replaces: d.replaces } : {}),
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
    return buildSignedPackage(pkg, this.node.credentials);
  }

  /**
   * The signed edXML package, attachments streamed from the object store and base64-encoded in blocks: no
   * attachment is held whole. A package of at most EDXML_MEMORY_MAX_BYTES stays in memory (`bytes`: the
   * common document, no temporary file); a larger one is written to a temporary file (`path`, in
   * EDXML_TEMP_DIR, the OS temporary directory by default). The caller disposes of it (`dispose`) once sent.
   */
  async signedPackageFile(d: RoutedDocument, to: string[]): Promise<PackageFile> {
    let dir: string | undefined;
    const dispose = async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    };
    try {
      const outline = toPackageOutline(d, to, this.config.NATIONAL_AXIS_SYSTEM_ID ?? d.fromOrganizationCode);
      const written = await spoolSignedPackage(
        outline,
        (i) => this.store.stream(d.attachments[i].storageKey || d.attachments[i].sha256),
        this.node.credentials,
        {
          memoryMaxBytes: this.config.EDXML_MEMORY_MAX_BYTES,
          path: async () => {
            dir = await mkdtemp(join(this.config.EDXML_TEMP_DIR || tmpdir(), 'lienthong-edxml-'));
            return join(dir, 'package.xml');
          },
        },
      );
      return { ...written, dispose };
    } catch (e) {
      await dispose();
      throw e;
    }
  }

  async emitState(
    m: EntityManager,
    documentId: string,
    to: string,
    state: ExchangeStateEvent['state'],
    error: string | undefined,
    seed: string,
  ): Promise<void> {
    await this.outbox.add(m, this.stateMessage(documentId, to, state, error, seed));
  }

  /** The outbox message of an exchange's state (emitState; several in one INSERT by the caller). */
  stateMessage(
    documentId: string,
    to: string,
    state: ExchangeStateEvent['state'],
    error: string | undefined,
    seed: string,
  ) {
    return {
      subject: Subjects.busExchangeState(),
      type: 'bus.exchange-state' as const,
      id: derivedUuid(`state|${seed}`),
      data: {
        documentId,
        organizationCode: to,
        state,
        ...(error ? { error } : {}),
        at: new Date().toISOString(),
      },
    };
  }
}
