import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRecorder,
  OutboxService,
  ProcessedMessages,
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
import { buildSignedPackage, writeSignedPackage, type EdxmlPackage, type WrittenPackage } from '../edxml';
import { AxisWakeup } from '../national-axis/axis-wakeup';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import { ExchangesRepository, type ExchangeState, type Route, type TraceEntry } from './exchanges.repository';
import {
  derivedUuid,
  exchangeIdFor,
  fromSendRequested,
  toPackage,
  toPackageOutline,
  type RoutedDocument,
} from './routed-document';
/** Recipients per delivery message: ~110 bytes each keeps a message well under NATS's 1 MB. */
const DELIVERY_SLICE = 2000;

/**
 * A package received from outside, routed in the same transaction as its record: `trace` is added to every
 * new exchange row, `within` runs last in the routing transaction (the received-package claim and its audit).
 */
export interface RouteIntake {
  trace: TraceEntry;
  within: (tx: UnitOfWorkContext, answer: ReceiveAnswer, inserted: Set<string>) => Promise<void>;
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
/** A signed package in a temporary file; `dispose` removes it. */
export interface PackageFile extends WrittenPackage {
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
      // Written to a file by streaming and published part by part from it: never whole in memory.
      const file = await this.signedPackageFile(d, to);
      try {
        federationMessages.set(node, {
          id,
          ev: await this.link.message(
            node,
            { kind: 'package', sourceDocumentId: d.sourceDocumentId },
            { file, transferId: id },
          ),
        });
      } finally {
        await file.dispose();
      }
    }
    const now = new Date();
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + this.config.EXCHANGE_TTL_MS);
    const routed = await this.uow.run(async (tx) => {
      const m = tx.manager;
      if (claim && !(await tx.claim(claim.consumer, claim.messageId))) {
        return { documentId: d.edxmlDocumentId, exchanges: [] };
      }
      // One row per recipient, all in one INSERT; the stored payload names only its own recipient (a
      // document to 20,000 organizations must not store the list 20,000 times).
      const planned = decisions.map((x) => {
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
        })),
        d,
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
      if (intake) await intake.within(tx, answer, new Set(fresh.map((p) => p.exId)));
      return answer;
    });
    // After the commit: the national-axis sender claims what was just queued.
    if (decisions.some((x) => x.route === 'national-axis' && !x.refused)) this.axisWakeup.notify();
    return routed;
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
   * The signed edXML package written to a temporary file (EDXML_TEMP_DIR, the OS temporary directory by
   * default), attachments streamed from the object store and base64-encoded in blocks: no attachment is held
   * whole. The caller disposes of the file (`dispose`) when it has sent it.
   */
  async signedPackageFile(d: RoutedDocument, to: string[]): Promise<PackageFile> {
    const dir = await mkdtemp(join(this.config.EDXML_TEMP_DIR || tmpdir(), 'lienthong-edxml-'));
    const dispose = () => rm(dir, { recursive: true, force: true });
    try {
      const outline = toPackageOutline(d, to, this.config.NATIONAL_AXIS_SYSTEM_ID ?? d.fromOrganizationCode);
      const written = await writeSignedPackage(
        outline,
        (i) => this.store.stream(d.attachments[i].storageKey || d.attachments[i].sha256),
        this.node.credentials,
        join(dir, 'package.xml'),
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
}
