import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, RpcClient } from '@lienthong/common';
import {
  RpcMethods,
  Streams,
  Subjects,
  type OrganizationChangedEvent,
  type OrganizationView,
} from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';

const TTL_MS = 5 * 60_000;
/** OrganizationResolveRequest's ArrayMaxSize in identity. */
const RESOLVE_BATCH = 1000;
const RESOLVE_PARALLEL = 4;

/** Identity's organizations, resolved by request/reply and cached; `organization.changed` refreshes the cache. */
@Injectable()
export class OrganizationDirectory implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrganizationDirectory.name);
  private readonly cache = new Map<string, { view: OrganizationView | null; at: number }>();

  constructor(
    private readonly rpc: RpcClient,
    private readonly js: JetStreamService,
    private readonly config: IntegrationBusConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.js.ensureStream(Streams.identity());
    await this.js.consume<OrganizationChangedEvent>(
      {
        stream: Streams.identity().name,
        durable: `bus-${this.config.NODE_ID}-organizations`,
        filterSubject: Subjects.organizationChanged(),
      },
      async (batch) => {
        for (const m of batch) {
          const o = m.envelope.data.organization;
          this.cache.set(o.code, { view: m.envelope.data.change === 'deleted' ? null : o, at: Date.now() });
        }
      },
    );
  }

  /** Resolves codes; unknown ones are absent from the map. */
  async resolve(codes: string[]): Promise<Map<string, OrganizationView>> {
    const out = new Map<string, OrganizationView>();
    const ask: string[] = [];
    for (const c of new Set(codes)) {
      const hit = this.cache.get(c);
      if (hit && Date.now() - hit.at < TTL_MS && hit.view) out.set(c, hit.view);
      else ask.push(c);
    }
    // identity resolves at most RESOLVE_BATCH codes per request; a package may name up to EDXML_MAX_RECIPIENTS.
    // The requests of a large fan-out (20,000 recipients: 20 requests) are made RESOLVE_PARALLEL at a time.
    const chunks: string[][] = [];
    for (let i = 0; i < ask.length; i += RESOLVE_BATCH) chunks.push(ask.slice(i, i + RESOLVE_BATCH));
    for (let i = 0; i < chunks.length; i += RESOLVE_PARALLEL) {
      const answers = await Promise.all(
        chunks
          .slice(i, i + RESOLVE_PARALLEL)
          .map((codes) => this.rpc.request(RpcMethods.organizationResolve, { codes })),
      );
      for (const res of answers)
        for (const o of res.found) {
          this.cache.set(o.code, { view: o, at: Date.now() });
          out.set(o.code, o);
        }
    }
    return out;
  }

  async get(code: string): Promise<OrganizationView | undefined> {
    return (await this.resolve([code])).get(code);
  }

  async upsertState(code: string, name: string): Promise<void> {
    const view = await this.rpc.request(RpcMethods.organizationUpsertState, { code, name });
    if (view) this.cache.set(view.code, { view, at: Date.now() });
  }

  invalidate(code: string): void {
    this.cache.delete(code);
    this.logger.debug(`cache entry ${code} dropped`);
  }
}
