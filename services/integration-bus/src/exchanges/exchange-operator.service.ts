import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRecorder,
  conflict,
  notFound,
  OutboxService,
  ProcessedMessages,
  UnitOfWork,
} from '@lienthong/common';
import { AuditActions, Subjects, type OrganizationView } from '@lienthong/contracts';
import { isUuid, type Actor } from './exchange.types';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { FederationLink } from '../federation/federation-link';
import { BusObjectStore } from './object-store';
import { ExchangeRouting } from './exchange-routing.service';
import { AxisWakeup } from '../national-axis/axis-wakeup';
import { ExchangesRepository, exchangeView } from './exchanges.repository';
import { derivedUuid } from './routed-document';

/** What operators do with exchanges: list, read, retry. */
@Injectable()
export class ExchangeOperator {
  private readonly logger = new Logger(ExchangeOperator.name);

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
    private readonly axisWakeup: AxisWakeup,
  ) {}

  private get nodeId(): string {
    return this.config.NODE_ID;
  }

  /** Whether this bus serves an organization (unknown senders are treated as ours: nobody else will route them). */
  private served(o: OrganizationView | undefined): boolean {
    return !o || o.nodeId === this.nodeId;
  }

  async list(q: {
    state?: string;
    documentId?: string;
    organizationCode?: string;
    limit?: number;
    cursor?: string;
    /** An operator's subtree (the repository filters on it); absent = every exchange. */
    scope?: string[];
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
    const view = await this.repo.dataSource.transaction(async (m) => {
      const row = isUuid(id) ? await this.repo.findById(m, id, true) : undefined;
      if (!row) throw notFound('EXCHANGE_NOT_FOUND', 'No such exchange');
      if (!['failed', 'dead', 'expired'].includes(row.state)) {
        throw conflict('EXCHANGE_NOT_RETRYABLE', `An exchange in state ${row.state} cannot be retried`);
      }
      const at = new Date().toISOString();
      const expiresAt = new Date(Date.now() + this.config.EXCHANGE_TTL_MS);
      if (row.route === 'local') {
        // Local delivery is re-published; documents applies a deliveryId once. The document is the row's own
        // or, for a published local exchange that kept none, that of a sibling exchange of the document.
        const doc = await this.repo.documentOf(m, row);
        if (!doc) throw new Error(`exchange ${row.id}: no exchange of its document keeps the document`);
        await this.outbox.add(m, {
          subject: Subjects.busDelivery(),
          type: 'bus.delivery',
          data: this.routing.deliveryEvent(doc, [{ to: row.to_code, exchangeId: row.id }]),
          id: derivedUuid(`delivery|${row.id}|retry|${at}`),
        });
        await this.repo.update(
          m,
          row.id,
          { state: 'sent', lastError: null, expiresAt },
          { at, event: 'retried', detail: { by: actor?.sub } },
        );
        await this.routing.emitState(
          m,
          row.document_id,
          row.to_code,
          'sent',
          undefined,
          `${row.id}:retry:${at}`,
        );
      } else {
        await this.repo.update(
          m,
          row.id,
          { state: 'queued', attempts: 0, lastError: null, nextAttemptAt: new Date(), expiresAt },
          { at, event: 'retried', detail: { by: actor?.sub } },
        );
        await this.routing.emitState(
          m,
          row.document_id,
          row.to_code,
          'queued',
          undefined,
          `${row.id}:retry:${at}`,
        );
      }
      await this.audit.record(m, {
        action: AuditActions.exchangeRetried,
        actor,
        resource: { type: 'exchange', id: row.id },
        details: { previousState: row.state, route: row.route },
      });
      return exchangeView((await this.repo.findById(m, row.id))!);
    });
    if (view.route === 'national-axis') this.axisWakeup.notify();
    return view;
  }
}
