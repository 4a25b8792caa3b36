import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditRecorder } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { randomInt } from 'node:crypto';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import { buildStatus, EdxmlError, parseEdxml, verifyPackage, type EdxmlStatus } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { ExchangesRepository, type ExchangeRow } from '../exchanges/exchanges.repository';
import { CONSUMERS, ExchangesService } from '../exchanges/exchanges.service';
import { derivedUuid } from '../exchanges/routed-document';
import { AxisRefusal, AxisUnavailable, NationalAxisClient, type ReceivedItem } from './national-axis.client';

/**
 * The national route: a scheduler sends due exchanges (retries with exponential back-off and jitter, TTL →
 * expired, last attempt → dead; FAIL answers are refusals), and a poller fetches what waits for this system,
 * stores it, and acknowledges `done` only after the commit.
 */
@Injectable()
export class NationalAxisService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NationalAxisService.name);
  readonly client?: NationalAxisClient;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private busy = { schedule: false, poll: false };
  private polls = 0;

  constructor(
    private readonly config: IntegrationBusConfig,
    private readonly exchanges: ExchangesService,
    private readonly repo: ExchangesRepository,
    private readonly audit: AuditRecorder,
    private readonly node: EdxmlNodeService,
    private readonly directory: OrganizationDirectory,
  ) {
    if (config.nationalAxisEnabled) {
      this.client = new NationalAxisClient({
        url: config.NATIONAL_AXIS_URL!,
        systemId: config.NATIONAL_AXIS_SYSTEM_ID!,
        secret: config.NATIONAL_AXIS_SECRET!,
        timeoutMs: config.NATIONAL_AXIS_TIMEOUT_MS,
      });
    }
  }

  onApplicationBootstrap(): void {
    this.timers.push(
      setInterval(
        () => void this.guard('schedule', () => this.scheduleOnce()),
        this.config.EXCHANGE_SCHEDULER_MS,
      ),
    );
    if (this.client)
      this.timers.push(
        setInterval(() => void this.guard('poll', () => this.pollOnce()), this.config.NATIONAL_AXIS_POLL_MS),
      );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    while (this.busy.schedule || this.busy.poll) await new Promise((r) => setTimeout(r, 20));
  }

  private async guard(kind: 'schedule' | 'poll', fn: () => Promise<unknown>): Promise<void> {
    if (this.busy[kind] || this.stopped) return;
    this.busy[kind] = true;
    try {
      await fn();
    } catch (e) {
      this.logger.warn(`${kind} round failed: ${(e as Error).message}`);
    } finally {
      this.busy[kind] = false;
    }
  }

  /** Back-off before attempt n+1: base·2^(n-1), capped, with ±50 % jitter so retries do not synchronise. */
  backoffMs(attempts: number): number {
    const raw = Math.min(
      this.config.EXCHANGE_RETRY_MAX_MS,
      this.config.EXCHANGE_RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1),
    );
    return Math.round(raw / 2 + randomInt(Math.max(1, Math.round(raw / 2))));
  }

  /** One scheduler round: expire, then send due exchanges one row-locked transaction at a time. */
  async scheduleOnce(): Promise<number> {
    await this.expireOnce();
    if (!this.client) return 0;
    let sent = 0;
    for (let i = 0; i < 50 && !this.stopped; i++) {
      // While the circuit is open no attempt is spent: exchanges wait for the axis.
      if (this.client.breaker.state === 'open') break;
      const done = await this.repo.dataSource.transaction(async (m) => {
        const row = await this.repo.lockDue(m);
        if (!row) return false;
        await this.sendOne(m, row);
        return true;
      });
      if (!done) break;
      sent++;
    }
    return sent;
  }

  private async sendOne(m: import('typeorm').EntityManager, row: ExchangeRow): Promise<void> {
    const attempts = row.attempts + 1;
    const at = new Date().toISOString();
    const resource = { type: 'exchange', id: row.id };
    try {
      const xml = await this.exchanges.signedPackage(row.payload, [row.to_code]);
      const docId = await this.client!.sendEdoc(
        'edoc',
        this.client!.systemId,
        [row.to_code],
        Buffer.from(xml, 'utf8'),
      );
      await this.repo.update(
        m,
        row.id,
        { state: 'sent', attempts, lastError: null, nextAttemptAt: null, axisDocId: docId },
        { at, event: 'sent', detail: { route: 'national-axis', axisDocId: docId, attempt: attempts } },
      );
      await this.exchanges.emitState(
        m,
        row.document_id,
        row.to_code,
        'sent',
        undefined,
        `${row.id}:sent:${attempts}`,
      );
      await this.audit.record(m, {
        action: AuditActions.exchangeSent,
        resource,
        details: { route: 'national-axis', to: row.to_code, axisDocId: docId, attempt: attempts },
      });
    } catch (e) {
      if (e instanceof AxisRefusal) {
        const error = `${e.errorCode}: ${e.errorDesc}`.slice(0, 500);
        await this.repo.update(
          m,
          row.id,
          { state: 'failed', attempts, lastError: error, nextAttemptAt: null },
          { at, event: 'refused', detail: { errorCode: e.errorCode, errorDesc: e.errorDesc } },
        );
        await this.exchanges.emitState(
          m,
          row.document_id,
          row.to_code,
          'failed',
          error,
          `${row.id}:failed:${attempts}`,
        );
        await this.audit.record(m, {
          action: AuditActions.exchangeFailed,
          resource,
          outcome: 'failure',
          details: { errorCode: e.errorCode, errorDesc: e.errorDesc },
        });
        return;
      }
      const error = (e as Error).message.slice(0, 500);
      if (attempts >= this.config.EXCHANGE_MAX_ATTEMPTS) {
        await this.repo.update(
          m,
          row.id,
          { state: 'dead', attempts, lastError: error, nextAttemptAt: null },
          { at, event: 'dead', detail: { error, attempt: attempts } },
        );
        await this.exchanges.emitState(
          m,
          row.document_id,
          row.to_code,
          'dead',
          error,
          `${row.id}:dead:${attempts}`,
        );
        await this.audit.record(m, {
          action: AuditActions.exchangeDead,
          resource,
          outcome: 'failure',
          details: { error, attempts },
        });
        return;
      }
      const next = new Date(Date.now() + this.backoffMs(attempts));
      await this.repo.update(
        m,
        row.id,
        { state: 'queued', attempts, lastError: error, nextAttemptAt: next },
        {
          at,
          event: 'retry-scheduled',
          detail: {
            error,
            attempt: attempts,
            next: next.toISOString(),
            transient: e instanceof AxisUnavailable,
          },
        },
      );
      await this.audit.record(m, {
        action: AuditActions.exchangeRetried,
        resource,
        outcome: 'failure',
        details: { error, attempt: attempts, next: next.toISOString() },
      });
    }
  }

  async expireOnce(): Promise<number> {
    return this.repo.dataSource.transaction(async (m) => {
      const rows = await this.repo.lockExpired(m);
      const at = new Date().toISOString();
      for (const r of rows) {
        await this.repo.update(m, r.id, { state: 'expired', nextAttemptAt: null }, { at, event: 'expired' });
        await this.exchanges.emitState(
          m,
          r.document_id,
          r.to_code,
          'expired',
          r.last_error ?? 'time to live elapsed',
          `${r.id}:expired`,
        );
        await this.audit.record(m, {
          action: AuditActions.exchangeExpired,
          resource: { type: 'exchange', id: r.id },
          outcome: 'failure',
          details: { attempts: r.attempts, lastError: r.last_error },
        });
      }
      return rows.length;
    });
  }

  /** Sends a status message (messagetype status) to an agency; transient failures throw (the consumer retries). */
  async sendStatus(status: EdxmlStatus, to: string): Promise<void> {
    if (!this.client) throw new AxisRefusal('NO_NATIONAL_ROUTE', 'national axis is not configured');
    await this.client.sendEdoc(
      'status',
      this.client.systemId,
      [to],
      Buffer.from(buildStatus(status), 'utf8'),
    );
  }

  /** One polling round: packages and statuses waiting for this system; agencies now and then. */
  async pollOnce(): Promise<{ edocs: number; statuses: number }> {
    if (!this.client) return { edocs: 0, statuses: 0 };
    if (this.polls++ % 60 === 0)
      await this.syncAgencies().catch((e) =>
        this.logger.warn(`agencies sync failed: ${(e as Error).message}`),
      );
    let edocs = 0;
    let statuses = 0;
    for (const item of await this.client.getReceivedEdocList('edoc'))
      if (await this.takeItem(item, 'edoc')) edocs++;
    for (const item of await this.client.getReceivedEdocList('status'))
      if (await this.takeItem(item, 'status')) statuses++;
    return { edocs, statuses };
  }

  private async takeItem(item: ReceivedItem, kind: 'edoc' | 'status'): Promise<boolean> {
    const client = this.client!;
    const bytes = await client.getEdoc(item.docId);
    try {
      const msg = parseEdxml(bytes, this.node.limits);
      if (msg.kind === 'package') {
        const signature = verifyPackage(bytes.toString('utf8'), this.node.trusted, this.node.limits.maxBytes);
        if (signature.present && !signature.valid)
          this.logger.warn(`package ${item.docId} from the axis has a bad signature: ${signature.problem}`);
        await this.exchanges.receivePackage(msg.package, 'national-axis', {
          signature: stripFingerprint(signature),
        });
      } else {
        const statusId = derivedUuid(`axis-status|${item.docId}`);
        await this.exchanges.applyRemoteStatus(
          this.exchanges.statusEvent(msg.status, statusId),
          CONSUMERS.axisStatus,
          item.docId,
        );
      }
    } catch (e) {
      if (!(e instanceof EdxmlError)) throw e; // transient (database, object store): not acknowledged, fetched again
      await this.exchanges.auditRejected(e.code, {
        origin: 'national-axis',
        axisDocId: item.docId,
        from: item.from,
        element: e.element,
        message: e.message,
      });
      await client.updateStatus(item.docId, 'fail');
      return false;
    }
    // Only after the commit above: an item acknowledged is an item stored.
    await client.updateStatus(item.docId, 'done');
    this.logger.debug(`${kind} ${item.docId} from ${item.from} stored and acknowledged`);
    return true;
  }

  /** Agencies reachable on the axis are registered as state organizations in identity. */
  async syncAgencies(): Promise<number> {
    const agencies = await this.client!.getAgenciesList();
    for (const a of agencies) {
      if (!/^[0-9A-Z]+(\.[0-9A-Z]+)*$/.test(a.code) || a.code.length > 35) continue;
      await this.directory.upsertState(a.code, a.name || a.code);
    }
    return agencies.length;
  }
}

function stripFingerprint<T extends { fingerprint?: string }>(s: T): Omit<T, 'fingerprint'> {
  const { fingerprint: _f, ...rest } = s;
  return rest;
}
