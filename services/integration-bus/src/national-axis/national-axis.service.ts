import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditRecorder, OutboxService } from '@lienthong/common';
import { AuditActions, type DocumentStatusEvent } from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import {
  buildStatus,
  EdxmlError,
  parseDocumentId,
  readEdxml,
  type EdxmlMessage,
  type ReadEdxml,
  type EdxmlStatus,
} from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { parseEdxml } from '../edxml/edxml.parser';
import { ExchangesRepository } from '../exchanges/exchanges.repository';
import { CONSUMERS, ExchangesService } from '../exchanges/exchanges.service';
import { derivedUuid } from '../exchanges/routed-document';
import { AxisExchangesRepository } from './axis-exchanges.repository';
import { AxisSender, mapLimit } from './axis-sender';
import { AxisWakeup } from './axis-wakeup';
import { AxisRefusal, NationalAxisClient, type ReceivedItem } from './national-axis.client';

/** An axis item this node will not apply, with the code it is audited under. */
class AxisItemRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An item the axis itself keeps answering FAIL about (getEdoc) is given up after this many rounds. */
const MAX_AXIS_REFUSALS = 5;

/**
 * The national route. Sending: `AxisSender` (woken when exchanges are queued, here or in another replica,
 * with a short poll as fallback). Expiry: TTL → expired. Receiving: a poller fetches what waits for this
 * system, judges it (the axis speaks only for state agencies, and only about exchanges that went through
 * it), stores it, and acknowledges `done` only after the commit; it polls again at once while items come.
 */
@Injectable()
export class NationalAxisService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NationalAxisService.name);
  readonly client?: NationalAxisClient;
  readonly sender?: AxisSender;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private busy = { expire: false };
  private polling?: Promise<void>;
  private pollWake?: () => void;
  private agenciesAt = 0;
  /** One agency-list read per polling round at most, however many items name unknown senders. */
  private roundSync?: Promise<unknown>;
  private unwake?: () => void;
  /** FAIL answers of the axis per listed item (getEdoc), to stop asking for one forever. */
  private readonly itemFailures = new Map<string, number>();
  /** Agency-list conflicts already audited by this process (the list is read again every few minutes). */
  private readonly agencyConflicts = new Set<string>();
  /** Polling rounds as this process saw them (GET /api/v1/exchanges/links). */
  readonly polls: { lastAt?: string; lastOkAt?: string } = {};

  constructor(
    private readonly config: IntegrationBusConfig,
    private readonly exchanges: ExchangesService,
    private readonly repo: ExchangesRepository,
    private readonly axisRepo: AxisExchangesRepository,
    private readonly audit: AuditRecorder,
    outbox: OutboxService,
    private readonly node: EdxmlNodeService,
    private readonly directory: OrganizationDirectory,
    private readonly wakeup: AxisWakeup,
  ) {
    if (config.nationalAxisEnabled) {
      this.client = new NationalAxisClient({
        url: config.NATIONAL_AXIS_URL!,
        systemId: config.NATIONAL_AXIS_SYSTEM_ID!,
        secret: config.NATIONAL_AXIS_SECRET!,
        timeoutMs: config.NATIONAL_AXIS_TIMEOUT_MS,
      });
      this.sender = new AxisSender({
        config,
        client: this.client,
        repo: axisRepo,
        outbox,
        audit,
        signedPackageFile: (d, to) => exchanges.signedPackageFile(d, to),
      });
    }
  }

  onApplicationBootstrap(): void {
    this.timers.push(
      setInterval(() => void this.expireRound(), Math.max(this.config.EXCHANGE_SCHEDULER_MS, 1_000)),
    );
    if (this.sender) {
      this.unwake = this.wakeup.onWake(() => this.sender!.wake());
      this.sender.start();
    }
    if (this.client) this.polling = this.pollLoop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.unwake?.();
    this.pollWake?.();
    await this.sender?.stop();
    await this.polling;
    while (this.busy.expire) await new Promise((r) => setTimeout(r, 20));
  }

  private async expireRound(): Promise<void> {
    if (this.busy.expire || this.stopped) return;
    this.busy.expire = true;
    try {
      await this.expireOnce();
    } catch (e) {
      this.logger.warn(`expiry round failed: ${(e as Error).message}`);
    } finally {
      this.busy.expire = false;
    }
  }

  /**
   * Adaptive polling: while rounds bring items, again at once after a full round and after
   * NATIONAL_AXIS_GATHER_MS otherwise (what arrives meanwhile is taken together); with nothing, after
   * NATIONAL_AXIS_POLL_MS.
   */
  private async pollLoop(): Promise<void> {
    while (!this.stopped) {
      let taken = 0;
      let full = false;
      try {
        const r = await this.pollOnce();
        taken = r.edocs + r.statuses + r.refused;
        full = r.full;
      } catch (e) {
        this.logger.warn(`poll round failed: ${(e as Error).message}`);
      }
      if (this.stopped || full) continue;
      const pause = taken > 0 ? this.config.NATIONAL_AXIS_GATHER_MS : this.config.NATIONAL_AXIS_POLL_MS;
      if (pause === 0) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, pause);
        this.pollWake = done;
        function done() {
          clearTimeout(t);
          resolve();
        }
      });
      this.pollWake = undefined;
    }
  }

  /** One sender round (tests and tools; the sender runs on its own). */
  async scheduleOnce(): Promise<number> {
    await this.expireOnce();
    return this.sender ? this.sender.round() : 0;
  }

  async expireOnce(): Promise<number> {
    return this.repo.dataSource.transaction(async (m) => {
      const rows = await this.axisRepo.lockExpired(m);
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
  async pollOnce(): Promise<{ edocs: number; statuses: number; refused: number; full: boolean }> {
    /** `full`: a list held more open items than one round takes. */
    const counts = { edocs: 0, statuses: 0, refused: 0, full: false };
    if (!this.client) return counts;
    this.polls.lastAt = new Date().toISOString();
    this.roundSync = undefined;
    if (Date.now() - this.agenciesAt >= 60 * this.config.NATIONAL_AXIS_POLL_MS) await this.syncOncePerRound();
    for (const kind of ['edoc', 'status'] as const) {
      const items = (await this.client.getReceivedEdocList(kind)).filter(
        (i) => typeof i?.docId === 'string' && i.docId.length > 0 && i.docId.length <= 200,
      );
      const refused = await this.axisRepo.refusedItems(items.map((i) => i.docId));
      // Judged already: the axis may keep listing a `fail`. At most NATIONAL_AXIS_BATCH per round (the
      // poller comes back at once for the rest).
      const waiting = items.filter((i) => !refused.has(i.docId));
      if (waiting.length > this.config.NATIONAL_AXIS_BATCH) counts.full = true;
      const open = waiting.slice(0, this.config.NATIONAL_AXIS_BATCH);
      const r = kind === 'status' ? await this.takeStatuses(open) : await this.takeEach(open, kind);
      counts[kind === 'edoc' ? 'edocs' : 'statuses'] += r.stored;
      counts.refused += r.refused;
      if (this.stopped) return counts;
    }
    this.polls.lastOkAt = new Date().toISOString();
    return counts;
  }

  /**
   * Items one at a time in lanes per sender, in the list's order within a lane, NATIONAL_AXIS_CONCURRENCY
   * lanes at once (one item's round trips do not wait for another's). A transient failure ends the round
   * (what is left is listed again).
   */
  private async takeEach(
    items: ReceivedItem[],
    kind: 'edoc' | 'status',
  ): Promise<{ stored: number; refused: number }> {
    const counts = { stored: 0, refused: 0 };
    const failures: unknown[] = [];
    await mapLimit(
      [...lanesBySender(items).values()],
      this.config.NATIONAL_AXIS_CONCURRENCY,
      async (lane) => {
        for (const item of lane) {
          if (this.stopped || failures.length) return;
          try {
            const outcome = await this.takeItem(item, kind);
            if (outcome === 'stored') counts.stored++;
            else if (outcome === 'refused') counts.refused++;
          } catch (e) {
            failures.push(e);
          }
        }
      },
    );
    if (failures.length && !this.stopped) throw failures[0];
    return counts;
  }

  /**
   * Statuses of one round: fetched, parsed and judged NATIONAL_AXIS_CONCURRENCY at a time; the accepted ones
   * applied together in one transaction in the list's order (a 01 before the 03 after it); then each
   * acknowledged `done` — only after that commit. An item whose content is not a status takes the
   * one-at-a-time path. A transient failure of one item leaves it (and nothing else) for the next round.
   */
  private async takeStatuses(items: ReceivedItem[]): Promise<{ stored: number; refused: number }> {
    const counts = { stored: 0, refused: 0 };
    const failures: unknown[] = [];
    const fetched = await mapLimit(items, this.config.NATIONAL_AXIS_CONCURRENCY, async (item) => {
      if (this.stopped) return undefined;
      try {
        return { item, msg: parseEdxml(await this.client!.getEdoc(item.docId), this.node.limits) };
      } catch (e) {
        const outcome = await this.onItemError(item, 'status', e).catch((x: unknown) => {
          failures.push(x);
          return 'later' as const;
        });
        if (outcome === 'refused') counts.refused++;
        return undefined;
      }
    });
    const prepared = await mapLimit(fetched, this.config.NATIONAL_AXIS_CONCURRENCY, async (f) => {
      if (!f || this.stopped) return undefined;
      const { item, msg } = f;
      try {
        if (msg.kind !== 'status') return { item, other: true as const };
        // Whether its document went to its sender through the axis is judged in the transaction below.
        await this.judge(item, msg, 'in-transaction');
        const statusId = derivedUuid(`axis-status|${item.docId}`);
        return { item, ev: this.exchanges.statusEvent(msg.status, statusId) };
      } catch (e) {
        const outcome = await this.onItemError(item, 'status', e).catch((x: unknown) => {
          failures.push(x);
          return 'later' as const;
        });
        if (outcome === 'refused') counts.refused++;
        return undefined;
      }
    });
    const accepted = prepared.filter((p) => p && 'ev' in p) as {
      item: ReceivedItem;
      ev: DocumentStatusEvent;
    }[];
    const { fresh, notThroughAxis } = await this.exchanges.applyRemoteStatuses(
      accepted.map((a) => ({ ev: a.ev, messageId: a.item.docId })),
      CONSUMERS.axisStatus,
      { throughAxis: true },
    );
    for (const { item, ev } of accepted.filter((a) => notThroughAxis.has(a.item.docId))) {
      const outcome = await this.onItemError(
        item,
        'status',
        new AxisItemRefused(
          'AXIS_STATUS_NOT_AXIS_EXCHANGE',
          `no exchange of ${ev.edxmlDocumentId || '(no DocumentId)'} went to ${senderOf(item)} through the national axis`,
        ),
      ).catch((x: unknown) => {
        failures.push(x);
        return 'later' as const;
      });
      if (outcome === 'refused') counts.refused++;
    }
    // Only after the commit above: an item acknowledged is an item stored.
    const stored = accepted.filter((a) => !notThroughAxis.has(a.item.docId));
    await mapLimit(stored, this.config.NATIONAL_AXIS_CONCURRENCY, async ({ item }) => {
      this.itemFailures.delete(item.docId);
      try {
        await this.client!.updateStatus(item.docId, 'done');
      } catch (e) {
        failures.push(e); // stored; listed again and recognised as applied
        return;
      }
      // A copy applied before does not count as progress (an axis that keeps listing must not spin us).
      if (fresh.has(item.docId)) counts.stored++;
    });
    const others = prepared.filter((p) => p && 'other' in p).map((p) => p!.item);
    if (others.length) {
      const r = await this.takeEach(others, 'status');
      counts.stored += r.stored;
      counts.refused += r.refused;
    }
    if (failures.length && !this.stopped) throw failures[0];
    return counts;
  }

  private async takeItem(
    item: ReceivedItem,
    kind: 'edoc' | 'status',
  ): Promise<'stored' | 'again' | 'refused' | 'later'> {
    const client = this.client!;
    let fresh: boolean;
    let read: ReadEdxml | undefined;
    try {
      // Read as it arrives: the JSON answer's base64 decoded in blocks into the streamed reader (attachments
      // decoded to EDXML_TEMP_DIR above EDXML_IN_MEMORY_BYTES, the signature digest computed on the way).
      read = await readEdxml(client.getEdocStream(item.docId), this.node.readerOptions());
      const msg = read.message;
      await this.judge(item, msg);
      if (msg.kind === 'package') {
        const signature = read.signature;
        if (signature.present && !signature.valid)
          this.logger.warn(`package ${item.docId} from the axis has a bad signature: ${signature.problem}`);
        const r = await this.exchanges.receivePackage(msg.package, 'national-axis', {
          signature: stripFingerprint(signature),
        });
        fresh = !r.duplicate;
      } else {
        const statusId = derivedUuid(`axis-status|${item.docId}`);
        fresh = await this.exchanges.applyRemoteStatus(
          this.exchanges.statusEvent(msg.status, statusId),
          CONSUMERS.axisStatus,
          item.docId,
        );
      }
    } catch (e) {
      return this.onItemError(item, kind, e);
    } finally {
      await read?.cleanup();
    }
    this.itemFailures.delete(item.docId);
    // Only after the commit above: an item acknowledged is an item stored.
    await client.updateStatus(item.docId, 'done');
    this.logger.debug(`${kind} ${item.docId} from ${item.from} stored and acknowledged`);
    // A copy applied before does not count as progress: an axis that keeps listing acknowledged items
    // must not keep the adaptive poller spinning.
    return fresh ? 'stored' : 'again';
  }

  /** What an item that failed becomes: refused for good, left for later, or (transient) thrown again. */
  private async onItemError(
    item: ReceivedItem,
    kind: 'edoc' | 'status',
    e: unknown,
  ): Promise<'refused' | 'later'> {
    if (e instanceof EdxmlError) return this.refuseItem(item, kind, e.code, e.message, e.element);
    if (e instanceof AxisItemRefused) return this.refuseItem(item, kind, e.code, e.message);
    if (e instanceof AxisRefusal) {
      // The axis answered FAIL about this item (e.g. getEdoc NOT_FOUND): asking forever changes nothing.
      const failures = (this.itemFailures.get(item.docId) ?? 0) + 1;
      this.itemFailures.set(item.docId, failures);
      if (failures >= MAX_AXIS_REFUSALS)
        return this.refuseItem(item, kind, 'AXIS_ITEM_UNAVAILABLE', (e as Error).message.slice(0, 300));
      return 'later';
    }
    throw e; // transient (database, object store, the axis away): not acknowledged, fetched again
  }

  /**
   * The axis is trusted only for government agencies, and each only for itself: a package must come from
   * a known `state` organization that is the axis item's sender (its From and its DocumentId's sender); a
   * status must come from that agency and answer a document this node sent it through the axis.
   */
  private async judge(
    item: ReceivedItem,
    msg: EdxmlMessage,
    /**
     * For a status: whether its document went to the sender through the axis, when already looked up, or
     * `in-transaction` when the caller checks it where it applies the status (applyRemoteStatuses).
     */
    sentThroughAxis?: boolean | 'in-transaction',
  ): Promise<void> {
    // A hostile list may carry anything in `from`: only a string can name a sender.
    const sender = senderOf(item);
    if (msg.kind === 'package') {
      const pkg = msg.package;
      const docSender = parseDocumentId(pkg.documentId).organId;
      if (pkg.from.organId !== sender || docSender !== sender)
        throw new AxisItemRefused(
          'AXIS_SENDER_MISMATCH',
          `the package speaks for ${pkg.from.organId} (DocumentId of ${docSender}) but the axis item is from ${sender}`,
        );
    } else if (msg.status.from.organId !== sender) {
      throw new AxisItemRefused(
        'AXIS_SENDER_MISMATCH',
        `the status speaks for ${msg.status.from.organId} but the axis item is from ${sender}`,
      );
    }
    let org = await this.directory.get(sender);
    if (!org) {
      // A new agency may reach us before the next agency-list sync: read the list, then decide.
      await this.syncOncePerRound();
      org = await this.directory.get(sender);
    }
    if (org?.sector !== 'state')
      throw new AxisItemRefused(
        'AXIS_SENDER_NOT_STATE',
        org
          ? `${sender} is a ${org.sector} organization: the national axis does not speak for it`
          : `${sender} is not a known state agency`,
      );
    if (msg.kind === 'status' && sentThroughAxis !== 'in-transaction') {
      const documentId = msg.status.responseFor.documentId ?? '';
      if (!(sentThroughAxis ?? (await this.axisRepo.sentThroughAxis(documentId, sender))))
        throw new AxisItemRefused(
          'AXIS_STATUS_NOT_AXIS_EXCHANGE',
          `no exchange of ${documentId || '(no DocumentId)'} went to ${sender} through the national axis`,
        );
    }
  }

  private syncOncePerRound(): Promise<unknown> {
    this.roundSync ??= this.syncAgencies().catch((e) =>
      this.logger.warn(`agencies sync failed: ${(e as Error).message}`),
    );
    return this.roundSync;
  }

  /** Audited as edxml.rejected with its code, remembered, and acknowledged `fail`: never taken again. */
  private async refuseItem(
    item: ReceivedItem,
    kind: 'edoc' | 'status',
    code: string,
    message: string,
    element?: string,
  ): Promise<'refused'> {
    this.logger.warn(`axis ${kind} ${item.docId} from ${item.from} refused: ${code} ${message}`);
    await this.repo.dataSource.transaction(async (m) => {
      const fresh = await this.axisRepo.recordRefusedItem(m, {
        docId: item.docId,
        messageType: kind,
        from: String(item.from ?? ''),
        reason: code,
      });
      if (!fresh) return;
      await this.audit.record(m, {
        action: AuditActions.edxmlRejected,
        resource: { type: 'edxml', id: item.docId },
        outcome: 'denied',
        details: {
          reason: code,
          origin: 'national-axis',
          axisDocId: item.docId,
          messageType: kind,
          from: item.from,
          ...(element ? { element } : {}),
          message: message.slice(0, 300),
        },
      });
    });
    this.itemFailures.delete(item.docId);
    await this.client!.updateStatus(item.docId, 'fail').catch((e) =>
      this.logger.warn(`axis item ${item.docId} not acknowledged fail: ${(e as Error).message}`),
    );
    return 'refused';
  }

  /**
   * Agencies reachable on the axis are registered as state organizations in identity. The list may add
   * agencies, never change one: a code the directory already holds (any sector) is left as it is, and a
   * different name or a non-state sector for it is audited as a refused change.
   */
  async syncAgencies(): Promise<number> {
    this.agenciesAt = Date.now();
    const agencies = (await this.client!.getAgenciesList()).filter(
      (a) => typeof a?.code === 'string' && /^[0-9A-Z]+(\.[0-9A-Z]+)*$/.test(a.code) && a.code.length <= 35,
    );
    const known = await this.directory.resolve(agencies.map((a) => a.code));
    let added = 0;
    for (const a of agencies) {
      const name = typeof a.name === 'string' && a.name.trim() ? a.name.trim() : a.code;
      const current = known.get(a.code);
      if (!current) {
        await this.directory.upsertState(a.code, name);
        added++;
        continue;
      }
      if (current.sector === 'state' && current.name === name) continue;
      const key = `${a.code}\u0000${name}`;
      if (this.agencyConflicts.has(key)) continue;
      this.agencyConflicts.add(key);
      await this.repo.dataSource.transaction((m) =>
        this.audit.record(m, {
          action: AuditActions.edxmlRejected,
          resource: { type: 'organization', id: a.code },
          outcome: 'denied',
          details: {
            reason: current.sector === 'state' ? 'AXIS_AGENCY_RENAME' : 'AXIS_AGENCY_RESECTOR',
            origin: 'national-axis',
            listed: { code: a.code, name },
            current: { name: current.name, sector: current.sector },
          },
        }),
      );
    }
    return added;
  }
}

function stripFingerprint<T extends { fingerprint?: string }>(s: T): Omit<T, 'fingerprint'> {
  const { fingerprint: _f, ...rest } = s;
  return rest;
}

/** The sender an axis item names (a hostile list may carry anything in `from`: only a string names one). */
function senderOf(item: ReceivedItem): string {
  return typeof item.from === 'string' ? item.from.trim() : '';
}

/** Items grouped by their sender, each group in the list's order. */
function lanesBySender(items: ReceivedItem[]): Map<string, ReceivedItem[]> {
  const lanes = new Map<string, ReceivedItem[]>();
  for (const item of items) {
    const key = typeof item.from === 'string' ? item.from : '';
    const lane = lanes.get(key);
    if (lane) lane.push(item);
    else lanes.set(key, [item]);
  }
  return lanes;
}
