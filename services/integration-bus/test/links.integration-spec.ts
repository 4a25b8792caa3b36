import {
  streamName,
  Subjects,
  type DocumentSendRequestedEvent,
  type EventEnvelope,
} from '@lienthong/contracts';
import type { Role } from '@lienthong/contracts';
import { eventually, type TestTokens } from '@lienthong/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';
import {
  type BusInstance,
  type BusWorld,
  type NatsProbe,
  newCredentials,
  org,
  SECRET,
  startBusWorld,
  SYSTEM_ID,
} from './support/bus-harness';

const OFFICE = '000.00.00.H31';
const OTHER = '000.00.00.H32';
const AGENCY = '000.00.00.G31';
const PROVINCIAL = '000.00.00.P31';
const PEER = 'prov-links';

jest.setTimeout(90_000);

/**
 * GET /api/v1/exchanges/links (issue 14, operator pages) on real PostgreSQL, NATS, identity and the simulated
 * national axis over HTTP: what an operator sees of the axis (polling, sends, circuit, queue, last error) and
 * of a federation peer (JetStream source, outbound exchanges), limited to the operator's subtree.
 */
describe('links: the national axis and federation peers as an operator sees them', () => {
  let world: BusWorld;
  let tokens: TestTokens;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  let bus: BusInstance;
  const cred = newCredentials('bus-links');
  // Tracing is on (spans go to a collector that accepts and drops them): the boundaries are tested with it.
  let collector: Server;

  beforeAll(async () => {
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    world = await startBusWorld({
      orgs: [
        org(OFFICE, 'party', 'central'),
        org(OTHER, 'party', 'central'),
        org(AGENCY, 'state', 'central'),
        org(PROVINCIAL, 'party', PEER),
      ],
      axis: { systems: { [SYSTEM_ID]: SECRET } },
      buses: [
        {
          cred,
          axis: true,
          env: {
            // Retries stay far apart: the queued exchange below stays queued while the test looks at it.
            EXCHANGE_RETRY_BASE_MS: '60000',
            EXCHANGE_RETRY_MAX_MS: '60000',
          },
        },
      ],
    });
    ({ tokens, probe } = world);
    [bus] = world.buses;
    sim = world.sim as NationalAxisSimulator;
  });

  afterAll(async () => {
    await world?.stop();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    await new Promise((r) => collector?.close(r));
  });

  /** A send request as documents publishes it inside a trace: `traceparent` in the envelope and the header. */
  async function send(recipients: string[], from = OFFICE, traceId = randomBytes(16).toString('hex')) {
    const ev: DocumentSendRequestedEvent = {
      documentId: randomUUID(),
      fromOrganizationCode: from,
      recipients,
      businessType: 0,
      document: {
        number: String(Math.floor(Math.random() * 1e6)),
        notation: 'CV/LINKS',
        type: 'CV',
        subject: 'Về việc theo dõi đường liên thông',
        promulgationDate: '2026-11-30',
        signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
        secrecy: 'none',
        urgency: 'normal',
        steering: false,
      },
      attachments: [],
    };
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const env: EventEnvelope = {
      id: ev.documentId,
      type: 'document.send-requested',
      occurredAt: new Date().toISOString(),
      source: 'documents@test',
      traceparent,
      data: ev,
    };
    const h = natsHeaders();
    h.set('traceparent', traceparent);
    await jetstream(probe.nc).publish(Subjects.documentSendRequested(), JSON.stringify(env), {
      msgID: ev.documentId,
      headers: h,
    });
    return ev;
  }

  const links = async (orgCode: string, roles: Role[]) => {
    const res = await bus.http
      .get('/api/v1/exchanges/links')
      .set('Authorization', `Bearer ${await tokens.mint({ org: orgCode, roles })}`);
    return res;
  };
  const admin = async () => (await links('000.00.00.A01', ['system-admin'])).body;

  it('is an operator page: a clerk is refused, and `links` is never taken for an exchange id', async () => {
    expect((await links(OFFICE, ['clerk'])).status).toBe(403);
    const res = await links(OFFICE, ['operator']);
    expect(res.status).toBe(200);
    expect(res.body.nationalAxis).toMatchObject({
      kind: 'national-axis',
      configured: true,
      systemId: SYSTEM_ID,
      circuit: 'closed',
    });
    expect(res.body.nodeId).toBe(bus.env.NODE_ID ?? 'central');
  });

  it('shows polling and a successful send to the axis', async () => {
    await send([AGENCY]);
    const axis = await eventually(async () => {
      const a = (await admin()).nationalAxis;
      if (!a.lastSuccessfulSendAt || !a.lastSuccessfulPollAt) throw new Error('no send or poll yet');
      return a;
    });
    expect(Date.parse(axis.lastSuccessfulSendAt)).not.toBeNaN();
    expect(Date.parse(axis.lastPollAt)).not.toBeNaN();
    expect(axis.lastSuccessfulCallAt).not.toBeNull();
  });

  it('an axis outage shows as an open circuit, a queued exchange and the last error; scoped to the subtree', async () => {
    sim.setDown(true);
    try {
      await send([AGENCY]);
      const axis = await eventually(async () => {
        const a = (await admin()).nationalAxis;
        if (a.circuit === 'closed' || a.queue.queued < 1 || !a.lastError) throw new Error('not yet');
        return a;
      });
      expect(['open', 'half-open']).toContain(axis.circuit);
      expect(axis.lastError.message).toMatch(/503|unreachable|circuit/);
      // The office's operator sees its queued exchange; another office's operator sees the link, not the queue.
      const mine = (await links(OFFICE, ['operator'])).body.nationalAxis;
      expect(mine.queue.queued).toBeGreaterThanOrEqual(1);
      const other = (await links(OTHER, ['operator'])).body.nationalAxis;
      expect(other.queue.queued).toBe(0);
      expect(other.circuit).toBe(axis.circuit);
    } finally {
      sim.setDown(false);
    }
  });

  it('lists a federation peer with its outbound exchanges and the state of the JetStream source', async () => {
    await send([PROVINCIAL]);
    const peer = await eventually(async () => {
      const f = (await admin()).federation;
      const p = f.items.find((i: { nodeId: string }) => i.nodeId === PEER);
      if (!p || p.outbound.sent < 1) throw new Error('no federation exchange yet');
      // The exchange turns "sent" in the transaction that writes its outbox row; the relay publishes it after commit.
      if (p.outboundBacklog !== 0) throw new Error('federation outbox not relayed yet');
      return { p, f };
    });
    expect(peer.p).toMatchObject({ kind: 'federation', domain: null, outboundBacklog: 0 });
    // Single-domain deployment: the peer's messages come through the local source of FEDIN.
    expect(peer.p.linkUp).toBe(true);
    expect(peer.p.inboundLag).toBe(0);
    expect(typeof peer.f.inboundPending).toBe('number');
    const other = (await links(OTHER, ['operator'])).body.federation.items;
    expect(other.find((i: { nodeId: string }) => i.nodeId === PEER)).toBeUndefined();
  });
  it('no trace context leaves the node in a payload: not in the axis package, not in a federation message body', async () => {
    const traceId = randomBytes(16).toString('hex');
    const axisDoc = await send([AGENCY], OFFICE, traceId);
    const fedDoc = await send([PROVINCIAL], OFFICE, traceId);
    const pkg = await eventually(async () => {
      const item = sim.received().find((i) => i.content.toString('utf8').includes(axisDoc.document.number));
      if (!item) throw new Error('not at the axis yet');
      return item;
    });
    const xml = pkg.content.toString('utf8');
    expect(xml).not.toContain(traceId);
    expect(xml).not.toMatch(/traceparent/i);
    expect(JSON.stringify(pkg.headers ?? {})).not.toContain(traceId);
    // The federation message for the peer, as it sits in FEDOUT (what the peer's FEDIN copies).
    const jsm = await jetstreamManager(probe.nc);
    const msg = await eventually(async () => {
      const info = await jsm.streams.info(streamName('FEDOUT'));
      for (let seq = info.state.last_seq; seq >= info.state.first_seq && seq > 0; seq--) {
        const m = await jsm.streams.getMessage(streamName('FEDOUT'), { seq }).catch(() => null);
        if (m && m.subject === Subjects.federationOut(PEER) && m.string().includes(fedDoc.documentId))
          return m;
      }
      throw new Error('no federation message yet');
    });
    const body = JSON.parse(msg.string()) as EventEnvelope;
    expect(body.traceparent).toBeUndefined();
    expect(msg.string()).not.toContain(traceId);
    // It continues the trace only through the W3C header.
    expect(msg.header?.get('traceparent')?.split('-')[1]).toBe(traceId);
  });
});
