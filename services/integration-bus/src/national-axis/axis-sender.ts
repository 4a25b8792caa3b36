import { Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, type AuditInput, type OutboxMessage } from '@lienthong/common';
import { AuditActions, isClassified, Subjects } from '@lienthong/contracts';
import { randomInt } from 'node:crypto';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import type { ExchangeRow } from '../exchanges/exchanges.repository';
import { derivedUuid } from '../exchanges/routed-document';
import type { RoutedDocument } from '../exchanges/routed-document';
import type { PackageFile } from '../exchanges/exchange-routing.service';
import { AxisExchangesRepository, type AxisResult } from './axis-exchanges.repository';
import { AxisCircuitOpen, AxisRefusal, AxisUnavailable, NationalAxisClient } from './national-axis.client';

export interface AxisSenderDeps {
  config: IntegrationBusConfig;
  client: NationalAxisClient;
  repo: AxisExchangesRepository;
  outbox: OutboxService;
  audit: AuditRecorder;
  /** The signed edXML package of a document for the given recipients, in memory or in a temporary file. */
  signedPackageFile: (d: RoutedDocument, to: string[]) => Promise<PackageFile>;
}

/**
 * Sends queued national-axis exchanges. A round claims a batch (SKIP LOCKED, committed at once), sends one
 * package per document carrying all of its due axis recipients (`to` lists them), with at most
 * NATIONAL_AXIS_CONCURRENCY calls in flight and no transaction open, then records every result in one
 * transaction. It runs again at once while there is work, and otherwise sleeps until woken (exchanges
 * queued here or in another replica) or until the next poll.
 */
export class AxisSender {
  private readonly logger = new Logger(AxisSender.name);
  private stopped = true;
  private running?: Promise<void>;
  private woken = false;
  private wakeNow?: () => void;
  /** When this process last handed a package to the axis (GET /api/v1/exchanges/links). */
  lastSentAt?: string;

  constructor(private readonly deps: AxisSenderDeps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
  }

  /** Exchanges were queued (or retried): claim them now. */
  wake(): void {
    this.woken = true;
    this.wakeNow?.();
  }

  private get batch(): number {
    return this.deps.config.NATIONAL_AXIS_BATCH;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let claimed = 0;
      try {
        claimed = await this.round();
        failures = 0;
      } catch (e) {
        // The database is away: wait, growing, then try again.
        failures++;
        this.logger.warn(`send round failed: ${(e as Error).message}`);
        await this.idle(Math.min(5_000, 100 * 2 ** failures));
        continue;
      }
      if (claimed === 0) await this.idle(this.deps.config.EXCHANGE_SCHEDULER_MS);
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeNow = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeNow = done;
    });
  }

  /**
   * One round; returns the number of exchanges it claimed. While claims bring work, each batch's results are
   * recorded in the same transaction that claims the next batch (one commit per batch instead of two); that
   * transaction commits before the next HTTP calls, so none is ever open across them. No pause before it:
   * results recorded late would let a receiver's answer (polled meanwhile) find the row still `sending`.
   */
  async round(): Promise<number> {
    const { client, repo } = this.deps;
    // While the circuit is open no attempt is spent: exchanges wait for the axis.
    if (client.breaker.state === 'open') return 0;
    let rows = await repo.claim(this.batch, this.leaseMs);
    let claimed = 0;
    while (rows.length > 0) {
      claimed += rows.length;
      rows = await this.record(await this.send(rows), !this.stopped);
    }
    return claimed;
  }

  /**
   * Long enough for every call of a round to time out, plus a margin; after it a crashed sender's claims are
   * due again.
   */
  private get leaseMs(): number {
    const { config } = this.deps;
    const waves = Math.ceil(this.batch / config.NATIONAL_AXIS_CONCURRENCY);
    return config.NATIONAL_AXIS_TIMEOUT_MS * (waves + 1) + 30_000;
  }

  /** One package per document of a claimed batch, at most NATIONAL_AXIS_CONCURRENCY calls at once. */
  private async send(rows: ExchangeRow[]): Promise<{ row: ExchangeRow; result: AxisResult }[]> {
    const groups = new Map<string, ExchangeRow[]>();
    for (const r of rows) {
      const key = `${r.from_code}\u0000${r.edxml_document_id}\u0000${r.business_type}`;
      const g = groups.get(key);
      if (g) g.push(r);
      else groups.set(key, [r]);
    }
    return (
      await mapLimit([...groups.values()], this.deps.config.NATIONAL_AXIS_CONCURRENCY, (g) => this.attempt(g))
    ).flat();
  }

  /** One package to the axis for the due recipients of one document; never throws. */
  private async attempt(rows: ExchangeRow[]): Promise<{ row: ExchangeRow; result: AxisResult }[]> {
    const { client, config } = this.deps;
    const at = new Date().toISOString();
    const to = rows.map((r) => r.to_code).sort();
    const doc = rows[0].payload;
    try {
      // Every national-axis exchange keeps its document (only published local ones are stored without).
      if (!doc) throw new Error(`exchange ${rows[0].id} (national-axis) has no payload`);
      // Defence in depth: routing never queues a classified document for the axis.
      if (isClassified(doc.document.secrecy))
        throw new AxisRefusal('DOCUMENT_CLASSIFIED', 'classified documents never leave');
      // Built with the attachments streamed from the object store (in memory when small, else in a file),
      // then sent (a file is streamed to the axis).
      const file = await this.deps.signedPackageFile(doc, to);
      let axisDocId: string;
      try {
        axisDocId = await client.sendEdoc(
          'edoc',
          client.systemId,
          to,
          file.bytes ?? { path: file.path!, size: file.size },
        );
      } finally {
        await file.dispose();
      }
      this.lastSentAt = new Date().toISOString();
      return rows.map((row) => ({
        row,
        result: {
          id: row.id,
          attempts: row.attempts,
          newAttempts: row.attempts,
          state: 'sent',
          lastError: null,
          nextAttemptAt: null,
          axisDocId,
          trace: {
            at,
            event: 'sent',
            detail: { route: 'national-axis', axisDocId, attempt: row.attempts, recipients: to.length },
          },
        },
      }));
    } catch (e) {
      if (e instanceof AxisRefusal) {
        const error = `${e.errorCode}: ${e.errorDesc}`.slice(0, 500);
        return rows.map((row) => ({
          row,
          result: {
            id: row.id,
            attempts: row.attempts,
            newAttempts: row.attempts,
            state: 'failed',
            lastError: error,
            nextAttemptAt: null,
            axisDocId: null,
            trace: { at, event: 'refused', detail: { errorCode: e.errorCode, errorDesc: e.errorDesc } },
          },
        }));
      }
      const error = (e as Error).message.slice(0, 500);
      return rows.map((row) => {
        // An open circuit made no call: the attempt is given back and the exchange waits for the axis.
        const newAttempts = e instanceof AxisCircuitOpen ? row.attempts - 1 : row.attempts;
        const last = newAttempts >= config.EXCHANGE_MAX_ATTEMPTS;
        const next = new Date(Date.now() + (newAttempts > 0 ? this.backoffMs(newAttempts) : 1_000));
        return {
          row,
          result: {
            id: row.id,
            attempts: row.attempts,
            newAttempts,
            state: last ? 'dead' : 'queued',
            lastError: error,
            nextAttemptAt: last ? null : next,
            axisDocId: null,
            trace: last
              ? { at, event: 'dead', detail: { error, attempt: newAttempts } }
              : {
                  at,
                  event: 'retry-scheduled',
                  detail: {
                    error,
                    attempt: newAttempts,
                    next: next.toISOString(),
                    transient: e instanceof AxisUnavailable,
                  },
                },
          },
        };
      });
    }
  }

  /** Back-off before attempt n+1: base·2^(n-1), capped, with ±50 % jitter so retries do not synchronise. */
  backoffMs(attempts: number): number {
    const { config } = this.deps;
    const raw = Math.min(
      config.EXCHANGE_RETRY_MAX_MS,
      config.EXCHANGE_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1),
    );
    return Math.round(raw / 2 + randomInt(Math.max(1, Math.round(raw / 2))));
  }

  /**
   * A batch's results, their state events and audit records in one transaction (one outbox INSERT); with
   * `claimNext` (and the circuit not open) the same transaction claims the next batch, which it returns.
   * Tried a few times (the later tries only record): if it never commits the claims lapse and the packages
   * are sent again (the receiver applies a DocumentId once).
   */
  private async record(
    results: { row: ExchangeRow; result: AxisResult }[],
    claimNext: boolean,
  ): Promise<ExchangeRow[]> {
    const { repo, outbox, audit, client } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        return await repo.dataSource.transaction(async (m) => {
          const changed = await repo.record(
            m,
            results.map((r) => r.result),
          );
          const events: OutboxMessage[] = [];
          const audits: AuditInput[] = [];
          for (const { row, result } of results) {
            if (!changed.has(row.id)) continue;
            const resource = { type: 'exchange', id: row.id };
            const n = result.newAttempts;
            if (result.state === 'sent') {
              events.push(stateEvent(row, 'sent', undefined, `${row.id}:sent:${n}`));
              audits.push({
                action: AuditActions.exchangeSent,
                resource,
                details: { route: 'national-axis', to: row.to_code, axisDocId: result.axisDocId, attempt: n },
              });
            } else if (result.state === 'failed') {
              events.push(stateEvent(row, 'failed', result.lastError!, `${row.id}:failed:${n}`));
              audits.push({
                action: AuditActions.exchangeFailed,
                resource,
                outcome: 'failure',
                details: (result.trace.detail ?? {}) as Record<string, unknown>,
              });
            } else if (result.state === 'dead') {
              events.push(stateEvent(row, 'dead', result.lastError!, `${row.id}:dead:${n}`));
              audits.push({
                action: AuditActions.exchangeDead,
                resource,
                outcome: 'failure',
                details: { error: result.lastError, attempts: n },
              });
            } else if (n === row.attempts) {
              audits.push({
                action: AuditActions.exchangeRetried,
                resource,
                outcome: 'failure',
                details: {
                  error: result.lastError,
                  attempt: n,
                  next: result.nextAttemptAt?.toISOString(),
                },
              });
            }
          }
          // Events first, then the audit trail: one INSERT (as UnitOfWork writes a transaction's outbox).
          const rows = [
            ...events.map((e) => ({ subject: e.subject, envelope: outbox.envelope(e) })),
            ...(audits.length ? audit.rows(audits.map((a) => audit.build(a))) : []),
          ];
          if (rows.length) await outbox.insert(m, rows);
          if (!claimNext || attempt > 1 || this.stopped || client.breaker.state === 'open') return [];
          return repo.claim(this.batch, this.leaseMs, m);
        });
      } catch (e) {
        if (attempt >= 3 || this.stopped) {
          this.logger.error(
            `results of ${results.length} axis exchanges not recorded (${(e as Error).message}); they are sent again after the claim lapses`,
          );
          return [];
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}

/** The `bus.exchange-state` event of one exchange (deterministic id: a replay of the round writes nothing twice). */
function stateEvent(
  row: ExchangeRow,
  state: 'sent' | 'failed' | 'dead',
  error: string | undefined,
  seed: string,
): OutboxMessage {
  return {
    subject: Subjects.busExchangeState(),
    type: 'bus.exchange-state',
    id: derivedUuid(`state|${seed}`),
    data: {
      documentId: row.document_id,
      organizationCode: row.to_code,
      state,
      ...(error ? { error } : {}),
      at: new Date().toISOString(),
    },
  };
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
