import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { JetStreamService } from '@lienthong/common';
import type { JetStreamManager, StreamSource } from '@nats-io/jetstream';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { FederationLink } from './federation-link';

/** A source that has not been heard from for this long is stalled (nats-server sends heartbeats every second). */
export const SOURCE_STALLED_MS = 3000;
/**
 * First delay between two restarts of a source that stays stalled; doubles up to SOURCE_RESTART_MAX_MS. Short:
 * a restart sent before the leaf link is up (just after the server started) is lost like the server's own;
 * not shorter than a consumer set-up across a busy link takes (a restart cancels the one still pending).
 */
export const SOURCE_RESTART_MIN_MS = 500;
export const SOURCE_RESTART_MAX_MS = 30_000;

/** What the watch knows of one source between two looks. */
export interface SourceWatchState {
  /** When the source may be restarted next (ms since the epoch); 0 = at once. */
  nextAt: number;
  /** The wait after the next restart. */
  backoffMs: number;
}

/**
 * Whether a source of FEDIN is to be restarted now: it is stalled (`activeMs` < 0: never heard from since the
 * server started or since its last restart; or silent for SOURCE_STALLED_MS) and the back-off since the last
 * restart has passed. A healthy source resets the back-off.
 */
export function sourceRestartDue(s: SourceWatchState, look: { activeMs: number; now: number }): boolean {
  const stalled = look.activeMs < 0 || look.activeMs > SOURCE_STALLED_MS;
  if (!stalled) {
    s.nextAt = 0;
    s.backoffMs = SOURCE_RESTART_MIN_MS;
    return false;
  }
  if (look.now < s.nextAt) return false;
  s.nextAt = look.now + s.backoffMs;
  s.backoffMs = Math.min(SOURCE_RESTART_MAX_MS, s.backoffMs * 2);
  return true;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Resumes FEDIN's sourcing from another JetStream domain as soon as the link is back.
 *
 * nats-server sets a source up by sending a consumer-create request to the other domain and waiting for the
 * answer — 5 s in 2.9, 30 s in 2.10 and later — before it tries again. When the server starts (or restarts
 * after an outage) it sends that request while its leaf-node link to the hub is not up yet: the request is
 * lost, and the backlog waits out the whole timeout (the 5.6 s before the first arrival of the federation
 * bench, issue 12). The server offers no way to retry a pending set-up, so this watch looks at FEDIN's sources
 * (a local stream info, every FEDERATION_SOURCE_CHECK_MS) and restarts a stalled external source by removing it
 * from FEDIN and adding it back: the server then starts it afresh exactly as it does at start-up — from the
 * last message of that source FEDIN holds (from the beginning of what FEDOUT keeps for this node when FEDIN
 * holds none: both keep FEDERATION_RETENTION_MS). FEDOUT's `Nats-Msg-Id`s and FEDIN's duplicate window drop
 * anything sent again (the server's own retry of its lost set-up, 5 s later, starts from where it stood then).
 * A source that stays stalled (the link is down) is restarted after 0.5, 1, 2, 4… up to 30 s, each a local
 * request the server drops while the link is down.
 */
@Injectable()
export class FederationSourceWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FederationSourceWatch.name);
  private readonly states = new Map<string, SourceWatchState>();
  private stopped = false;
  private loop?: Promise<void>;
  private jsm?: JetStreamManager;

  constructor(
    private readonly js: JetStreamService,
    private readonly link: FederationLink,
    private readonly config: IntegrationBusConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.FEDERATION_SOURCE_CHECK_MS;
    if (every <= 0 || !this.link.sources().some((s) => s.external)) return;
    this.loop = (async () => {
      while (!this.stopped) {
        await sleep(every);
        if (this.stopped) break;
        try {
          await this.check();
        } catch {
          // NATS away (the server restarting): the next look tries again.
        }
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** One look at FEDIN's external sources; restarts those that are due (see sourceRestartDue). */
  async check(now = Date.now()): Promise<string[]> {
    // Requests that give up within the period: one sent while the server restarts must not hold the watch.
    this.jsm ??= await this.js.quickManager(Math.max(500, this.config.FEDERATION_SOURCE_CHECK_MS * 2));
    const jsm = this.jsm;
    const info = await jsm.streams.info(this.link.inboundStream);
    const configured = info.config.sources ?? [];
    // A restart interrupted between its two updates (or an operator's edit) left FEDIN without a source.
    if (configured.length < this.link.sources().length) {
      await this.link.ensureInbound();
      return [];
    }
    const due: StreamSource[] = [];
    for (const s of info.sources ?? []) {
      const api = (s as { external?: { api?: string } }).external?.api;
      if (!api) continue;
      let state = this.states.get(api);
      if (!state) this.states.set(api, (state = { nextAt: 0, backoffMs: SOURCE_RESTART_MIN_MS }));
      const activeMs = s.active < 0 ? -1 : s.active / 1e6;
      if (!sourceRestartDue(state, { activeMs, now })) continue;
      const source = configured.find((c) => c.name === s.name && c.external?.api === api);
      if (source) due.push(source);
    }
    if (due.length === 0) return [];
    const others = configured.filter((c) => !due.includes(c));
    // Two updates: the server starts a source only when it is new to the stream.
    await jsm.streams.update(info.config.name, { ...info.config, sources: others });
    await jsm.streams.update(info.config.name, { ...info.config, sources: configured });
    const apis = due.map((d) => d.external!.api);
    this.logger.log(`federation source${apis.length > 1 ? 's' : ''} ${apis.join(', ')} stalled: restarted`);
    return apis;
  }
}
