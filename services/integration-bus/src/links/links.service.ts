import { Injectable, Logger } from '@nestjs/common';
import { JetStreamService } from '@lienthong/common';
import { jsApi, Subjects } from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { FederationHandler, FEDERATION_CONSUMERS } from '../federation/federation.handler';
import { FederationLink } from '../federation/federation-link';
import { NationalAxisService } from '../national-axis/national-axis.service';
import { LinksRepository, WATCHED_STATES, type StateCount } from './links.repository';

/** A source of FEDIN idle for longer than this (no message, no heartbeat) counts as down. */
const SOURCE_IDLE_MS = 60_000;

export type StateCounts = Record<(typeof WATCHED_STATES)[number], number>;

export interface NationalAxisLinkView {
  kind: 'national-axis';
  configured: boolean;
  systemId: string | null;
  circuit: 'closed' | 'open' | 'half-open' | null;
  lastPollAt: string | null;
  lastSuccessfulPollAt: string | null;
  lastSuccessfulSendAt: string | null;
  lastCallAt: string | null;
  lastSuccessfulCallAt: string | null;
  queue: StateCounts;
  lastError: { at: string; message: string; exchangeId?: string } | null;
}

export interface FederationLinkView {
  kind: 'federation';
  nodeId: string;
  domain: string | null;
  linkUp: boolean | null;
  sourceError: string | null;
  sourceActiveMsAgo: number | null;
  lastMessageAt: string | null;
  outboundBacklog: number;
  outbound: StateCounts;
  inboundLag: number | null;
  lastError: { at: string; message: string; exchangeId?: string } | null;
}

const emptyCounts = (): StateCounts => Object.fromEntries(WATCHED_STATES.map((s) => [s, 0])) as StateCounts;

/**
 * The state of this node's links as this replica sees them (GET /api/v1/exchanges/links): the national axis
 * (configuration, circuit, polling and sending times, queue by state, last error) and each federation peer
 * (JetStream source health, last message, outbound backlog, inbound lag). Times that live in memory are this
 * process's; counts come from the database and are limited to the operator's scope.
 */
@Injectable()
export class LinksService {
  private readonly logger = new Logger(LinksService.name);

  constructor(
    private readonly config: IntegrationBusConfig,
    private readonly repo: LinksRepository,
    private readonly axis: NationalAxisService,
    private readonly federation: FederationHandler,
    private readonly link: FederationLink,
    private readonly js: JetStreamService,
  ) {}

  async links(scope: string[] | null): Promise<{
    nodeId: string;
    nationalAxis: NationalAxisLinkView;
    federation: { inboundPending: number | null; items: FederationLinkView[] };
  }> {
    const counts = await this.repo.stateCounts(scope);
    const [nationalAxis, federation] = await Promise.all([
      this.nationalAxis(counts, scope),
      this.federationLinks(counts, scope),
    ]);
    return { nodeId: this.config.NODE_ID, nationalAxis, federation };
  }

  private async nationalAxis(counts: StateCount[], scope: string[] | null): Promise<NationalAxisLinkView> {
    const client = this.axis.client;
    const queue = emptyCounts();
    for (const c of counts) if (c.route === 'national-axis') queue[c.state as keyof StateCounts] += c.n;
    const fromClient = client?.activity.lastError;
    const fromRows = await this.repo.lastError('national-axis', scope);
    // The newer of what the client last met and what an exchange last recorded.
    const lastError =
      fromClient && (!fromRows || fromClient.at >= fromRows.at) ? fromClient : (fromRows ?? null);
    return {
      kind: 'national-axis',
      configured: this.config.nationalAxisEnabled,
      systemId: this.config.NATIONAL_AXIS_SYSTEM_ID ?? null,
      circuit: client ? client.breaker.state : null,
      lastPollAt: this.axis.polls.lastAt ?? null,
      lastSuccessfulPollAt: this.axis.polls.lastOkAt ?? null,
      lastSuccessfulSendAt: this.axis.sender?.lastSentAt ?? null,
      lastCallAt: client?.activity.lastCallAt ?? null,
      lastSuccessfulCallAt: client?.activity.lastSuccessAt ?? null,
      queue,
      lastError,
    };
  }

  private async federationLinks(
    counts: StateCount[],
    scope: string[] | null,
  ): Promise<{ inboundPending: number | null; items: FederationLinkView[] }> {
    const peers = new Map<string, string | undefined>();
    for (const p of this.config.federationPeers) peers.set(p.nodeId, p.domain);
    const witness = this.config.FEDERATION_WITNESS_NODE;
    if (witness && witness !== this.config.NODE_ID && !peers.has(witness)) peers.set(witness, undefined);
    for (const c of counts)
      if (c.route === 'federation' && c.target_node) peers.set(c.target_node, peers.get(c.target_node));
    for (const n of this.federation.lastMessageAt.keys()) if (!peers.has(n)) peers.set(n, undefined);
    peers.delete(this.config.NODE_ID);

    const { sources, inboundPending } = await this.jetStreamView();
    const nodes = [...peers.keys()].sort();
    const backlog = await this.repo.outboxBacklog(nodes.map((n) => Subjects.federationOut(n)));
    const items: FederationLinkView[] = [];
    for (const nodeId of nodes) {
      const domain = peers.get(nodeId);
      // A peer without a domain shares this JetStream: its messages come through the local source.
      const source = sources?.get(jsApi(domain));
      const outbound = emptyCounts();
      for (const c of counts)
        if (c.route === 'federation' && c.target_node === nodeId)
          outbound[c.state as keyof StateCounts] += c.n;
      const activeMs = source && source.active >= 0 ? Math.round(source.active / 1e6) : null;
      items.push({
        kind: 'federation',
        nodeId,
        domain: domain ?? null,
        linkUp:
          sources === undefined
            ? null
            : !!source && !source.error && activeMs !== null && activeMs <= SOURCE_IDLE_MS,
        sourceError: source?.error?.description ?? null,
        sourceActiveMsAgo: activeMs,
        lastMessageAt: this.federation.lastMessageAt.get(nodeId) ?? null,
        outboundBacklog: backlog.get(Subjects.federationOut(nodeId)) ?? 0,
        outbound,
        inboundLag: source ? source.lag : null,
        lastError: await this.repo.lastError('federation', scope, nodeId),
      });
    }
    return { inboundPending, items };
  }

  /** FEDIN's sources by API prefix, and what the inbound consumer has yet to apply; undefined when NATS is away. */
  private async jetStreamView(): Promise<{
    sources?: Map<string, { lag: number; active: number; error?: { description?: string } }>;
    inboundPending: number | null;
  }> {
    try {
      const jsm = await this.js.manager();
      const info = await jsm.streams.info(this.link.inboundStream);
      const sources = new Map<string, { lag: number; active: number; error?: { description?: string } }>();
      for (const s of info.sources ?? []) {
        const api = (s as { external?: { api?: string } }).external?.api ?? jsApi();
        sources.set(api, { lag: s.lag, active: s.active, error: s.error });
      }
      let inboundPending: number | null = null;
      try {
        const ci = await jsm.consumers.info(
          this.link.inboundStream,
          FEDERATION_CONSUMERS.inbound(this.config.NODE_ID),
        );
        inboundPending = ci.num_pending + ci.num_ack_pending;
      } catch {
        inboundPending = null;
      }
      return { sources, inboundPending };
    } catch (e) {
      this.logger.warn(`federation stream info unavailable: ${(e as Error).message}`);
      return { inboundPending: null };
    }
  }
}
