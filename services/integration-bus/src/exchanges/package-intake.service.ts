import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages, UnitOfWork } from '@lienthong/common';
import { AuditActions, type OrganizationView } from '@lienthong/contracts';
import { type Actor, type Origin, type ReceiveAnswer } from './exchange.types';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { type EdxmlPackage, type SignatureCheck } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import { ExchangeRouting } from './exchange-routing.service';
import { ExchangesRepository } from './exchanges.repository';
import { businessKeyOf, fromPackage } from './routed-document';

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
    opts: { actor?: Actor; signature?: SignatureCheck; sourceDocumentId?: string; onlyLocal?: boolean } = {},
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
    const d = await fromPackage(pkg, opts.sourceDocumentId, (b) => this.store.put(b));
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
