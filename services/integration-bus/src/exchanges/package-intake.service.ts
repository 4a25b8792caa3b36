import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages, UnitOfWork } from '@lienthong/common';
import { AuditActions, type OrganizationView } from '@lienthong/contracts';
import { type Actor, type Origin, type ReceiveAnswer } from './exchange.types';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { type EdxmlAttachment, type EdxmlPackage, type SignatureCheck } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import { ExchangeRouting } from './exchange-routing.service';
import { type TraceEntry } from './exchanges.repository';
import { ExchangesRepository } from './exchanges.repository';
import { businessKeyOf, fromPackage, type RoutedDocument } from './routed-document';

export interface IntakeOptions {
  actor?: Actor;
  signature?: SignatureCheck;
  sourceDocumentId?: string;
  onlyLocal?: boolean;
}

/** Packages received from outside (inbound API, national axis, another node): applied once, then routed. */
@Injectable()
export class PackageIntake {
  private readonly logger = new Logger(PackageIntake.name);

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
   * A package received from the inbound API, the national axis or another node: applied once per sender +
   * DocumentId (a second copy gets the first answer), then routed to its recipients.
   */
  async receivePackage(
    pkg: EdxmlPackage,
    origin: Exclude<Origin, 'documents'>,
    opts: IntakeOptions = {},
  ): Promise<{ duplicate: boolean; answer: ReceiveAnswer }> {
    // Two different updates (business type 2) of one DocumentId are two packages.
    const key = pkg.businessDocType === 2 ? businessKeyOf(pkg) : '';
    const previous = await this.repo.receivedAnswer(
      this.repo.dataSource.manager,
      pkg.from.organId,
      pkg.documentId,
      pkg.businessDocType,
      key,
    );
    if (previous) return { duplicate: true, answer: previous as ReceiveAnswer };
    // Attachments a streamed read decoded to files go to the object store from disk, in chunks.
    const d = await fromPackage(pkg, opts.sourceDocumentId, (a) => this.storeAttachment(a));
    // The received-package record, its audit and the exchanges' `received` trace entry are written in the
    // routing transaction itself: one transaction per package (a federation backlog drains that much faster),
    // and no window in which a package is routed but not recorded.
    const received = {
      at: new Date().toISOString(),
      event: 'received',
      detail: { origin, signature: opts.signature },
    };
    let stored = false;
    const answer = await this.routing.route(d, origin, opts.actor, undefined, opts.onlyLocal, {
      trace: received,
      within: async (tx, routed, inserted) => {
        stored = await this.repo.claimReceived(
          tx.manager,
          pkg.from.organId,
          pkg.documentId,
          pkg.businessDocType,
          origin,
          routed,
          key,
        );
        if (!stored) return;
        tx.audit({
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
        // Rows this transaction did not insert (routed earlier) get the entry appended.
        for (const e of routed.exchanges)
          if (!inserted.has(e.id)) await this.repo.update(tx.manager, e.id, {}, received);
      },
    });
    if (!stored) {
      const first = await this.repo.receivedAnswer(
        this.repo.dataSource.manager,
        pkg.from.organId,
        pkg.documentId,
        pkg.businessDocType,
        key,
      );
      return { duplicate: true, answer: (first as ReceiveAnswer) ?? answer };
    }
    return { duplicate: false, answer };
  }

  /**
   * Many packages for this node's organizations only (`onlyLocal`: a federation batch) in ONE transaction:
   * the answers of those received before are read at once, the others routed together
   * (`ExchangeRouting.routeReceived`: one outbox INSERT, one commit), their received-package records claimed
   * in one statement, and each one's `edxml.received`
   * audit and the `received` trace entry written in the same transaction — no window in which a package is
   * routed but not recorded. Results are in the order of `items`.
   */
  async receivePackages(
    items: { pkg: EdxmlPackage; opts?: IntakeOptions }[],
    origin: Exclude<Origin, 'documents'>,
  ): Promise<{ duplicate: boolean; answer: ReceiveAnswer }[]> {
    // Packages that may be routed elsewhere (federation, national axis) build what leaves before their
    // transaction: one at a time.
    if (items.some((i) => !i.opts?.onlyLocal)) {
      const out: { duplicate: boolean; answer: ReceiveAnswer }[] = [];
      for (const i of items) out.push(await this.receivePackage(i.pkg, origin, i.opts));
      return out;
    }
    const keyed = items.map(({ pkg, opts = {} }) => {
      // Two different updates (business type 2) of one DocumentId are two packages.
      const businessKey = pkg.businessDocType === 2 ? businessKeyOf(pkg) : '';
      const k = {
        from: pkg.from.organId,
        edxmlDocumentId: pkg.documentId,
        businessType: pkg.businessDocType,
        businessKey,
      };
      return { pkg, opts, k, key: `${k.from}|${k.edxmlDocumentId}|${k.businessType}|${businessKey}` };
    });
    const previous = await this.repo.receivedAnswers(
      this.repo.dataSource.manager,
      keyed.map((x) => x.k),
    );
    // The first of several copies in one batch is routed; the others get its answer.
    const seen = new Set<string>();
    const todo = keyed.filter((x) => {
      if (previous.has(x.key) || seen.has(x.key)) return false;
      seen.add(x.key);
      return true;
    });
    const routeItems: { d: RoutedDocument; actor?: Actor; trace: TraceEntry }[] = [];
    for (const x of todo) {
      const d = await fromPackage(x.pkg, x.opts.sourceDocumentId, (a) => this.storeAttachment(a));
      routeItems.push({
        d,
        actor: x.opts.actor,
        trace: {
          at: new Date().toISOString(),
          event: 'received',
          detail: { origin, signature: x.opts.signature },
        },
      });
    }
    const stored = new Set<string>();
    const answers = new Map<string, ReceiveAnswer>();
    await this.routing.routeReceived(routeItems, origin, async (tx, routed) => {
      const claimed = await this.repo.claimReceivedMany(
        tx.manager,
        routed.map((r, i) => ({ ...todo[i].k, origin, answer: r.answer })),
      );
      for (const [i, r] of routed.entries()) {
        const x = todo[i];
        answers.set(x.key, r.answer);
        if (!claimed.has(x.key)) continue;
        stored.add(x.key);
        tx.audit({
          action: AuditActions.edxmlReceived,
          actor: x.opts.actor,
          resource: { type: 'edxml', id: x.pkg.documentId },
          details: {
            origin,
            from: x.pkg.from.organId,
            to: x.pkg.to.map((t) => t.organId),
            signature: x.opts.signature,
          },
        });
        // Rows this transaction did not insert (routed earlier) get the entry appended.
        for (const e of r.answer.exchanges)
          if (!r.inserted.has(e.id)) await this.repo.update(tx.manager, e.id, {}, routeItems[i].trace);
      }
    });
    // Copies in this batch, packages received before, and any a concurrent transaction recorded first.
    const missing = keyed.filter((x) => !stored.has(x.key));
    const first = missing.length
      ? await this.repo.receivedAnswers(
          this.repo.dataSource.manager,
          missing.map((x) => x.k),
        )
      : new Map<string, unknown>();
    return keyed.map((x) =>
      stored.has(x.key) && todo.includes(x)
        ? { duplicate: false, answer: answers.get(x.key)! }
        : {
            duplicate: true,
            answer: ((first.get(x.key) ?? previous.get(x.key)) as ReceiveAnswer) ?? answers.get(x.key)!,
          },
    );
  }

  /** Attachments a streamed read decoded to files go to the object store from disk, in chunks. */
  private storeAttachment(a: EdxmlAttachment) {
    return a.file && a.sha256 && a.size !== undefined
      ? this.store.putFile(a.file, a.sha256, a.size)
      : this.store.put(a.content, a.sha256);
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
}
