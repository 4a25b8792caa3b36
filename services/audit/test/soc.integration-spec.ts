import { AuditActions, type AuditEventPayload } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { createServer, type Server, type Socket } from 'node:net';
import { SOC_DURABLE, SocForwarder } from '../src/soc/soc.forwarder';
import { SD_ID } from '../src/soc/syslog.format';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

interface Received {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: string;
  event: AuditEventPayload;
}

/** A syslog collector as a SOC runs one: TCP, RFC 6587 octet-counting frames, RFC 5424 messages. */
class Collector {
  readonly messages: Received[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) return;
          const len = Number(buf.subarray(0, sp).toString('ascii'));
          if (!Number.isInteger(len) || len <= 0)
            throw new Error(`bad frame length "${buf.subarray(0, sp)}"`);
          if (buf.length < sp + 1 + len) return;
          this.messages.push(parse(buf.subarray(sp + 1, sp + 1 + len).toString('utf8')));
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  ids(): string[] {
    return this.messages.map((m) => m.event.id);
  }
}

function parse(msg: string): Received {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*\]) \uFEFF(.*)$/su.exec(msg);
  if (!m) throw new Error(`not RFC 5424: ${msg}`);
  return {
    pri: Number(m[1]),
    version: m[2],
    timestamp: m[3],
    hostname: m[4],
    appName: m[5],
    procId: m[6],
    msgId: m[7],
    sd: m[8],
    event: JSON.parse(m[9]) as AuditEventPayload,
  };
}

describe('SOC feed (real NATS + a real TCP syslog collector)', () => {
  const h = new AuditHarness();
  const collector = new Collector();
  let forwarder: SocForwarder;

  const backlog = async (): Promise<number> => {
    const jsm = await h.js.jetstreamManager();
    const info = await jsm.consumers.info(h.streamName(), SOC_DURABLE);
    return info.num_pending + info.num_ack_pending;
  };

  beforeAll(async () => {
    await collector.start();
    await h.start({
      SOC_SYSLOG_URL: `tcp://127.0.0.1:${collector.port}`,
      SOC_SYSLOG_HOSTNAME: 'audit-test',
      SOC_SYSLOG_RETRY_MAX_MS: '200',
    });
    forwarder = h.app.get(SocForwarder);
  });
  afterAll(async () => {
    await h.stop();
    await collector.stop();
  });

  it('forwards only security events, each as a well-formed RFC 5424 message', async () => {
    const security = [
      auditEvent({ service: 'identity', action: AuditActions.loginFailed, outcome: 'failure' }),
      auditEvent({ service: 'identity', action: AuditActions.accountLocked, outcome: 'failure' }),
      auditEvent({ service: 'identity', action: AuditActions.refreshReuseDetected, outcome: 'denied' }),
      auditEvent({
        service: 'integration-bus',
        action: AuditActions.edxmlRejected,
        outcome: 'denied',
        details: { reason: 'SIGNATURE_INVALID' },
      }),
      auditEvent({
        service: 'audit',
        action: AuditActions.checkpointWitnessRefused,
        outcome: 'failure',
        details: { reason: 'INCONSISTENT' },
      }),
      auditEvent({
        action: AuditActions.documentSendRefused,
        outcome: 'denied',
        details: { reason: 'DOCUMENT_CLASSIFIED', secrecy: 'secret' },
      }),
      auditEvent({
        action: AuditActions.attachmentAdded,
        details: { signaturePresent: true, signatureValid: false },
      }),
    ];
    const routine = [
      auditEvent({ action: AuditActions.documentRead }),
      auditEvent({ service: 'identity', action: AuditActions.loginSucceeded }),
      auditEvent({ action: AuditActions.documentSendRefused, details: { reason: 'DOCUMENT_ALREADY_SENT' } }),
      auditEvent({
        action: AuditActions.attachmentAdded,
        details: { signaturePresent: false, signatureValid: false },
      }),
      auditEvent({ service: 'audit', action: AuditActions.checkpointWitnessed }),
    ];
    // Interleaved, each on its service's audit subject as the services publish them.
    const all = security.flatMap((e, i) => (routine[i] ? [e, routine[i]] : [e]));
    for (const e of all) await h.publish(e, undefined, e.service);
    await eventually(
      async () => collector.messages.length >= security.length && (await backlog()) === 0,
      30_000,
    );

    expect(collector.ids().sort()).toEqual(security.map((e) => e.id).sort());
    const facility = 13;
    for (const e of security) {
      const m = collector.messages.find((x) => x.event.id === e.id)!;
      expect(m.version).toBe('1');
      expect(Math.floor(m.pri / 8)).toBe(facility);
      expect(m.pri % 8).toBeLessThanOrEqual(5);
      expect(m.timestamp).toBe(new Date(e.time).toISOString());
      expect(m.hostname).toBe('audit-test');
      expect(m.appName).toBe(`lienthong-${e.service}`);
      expect(m.procId).toBe('-');
      expect(m.msgId).toBe(e.action);
      expect(m.sd.startsWith(`[${SD_ID} `)).toBe(true);
      expect(m.sd).toContain(`eventId="${e.id}"`);
      expect(m.sd).toContain(`outcome="${e.outcome}"`);
      expect(m.event).toEqual(e);
    }
    const inconsistent = collector.messages.find((x) => x.msgId === AuditActions.checkpointWitnessRefused)!;
    expect(inconsistent.pri).toBe(facility * 8 + 2);
    expect(inconsistent.sd).toContain('reason="INCONSISTENT"');

    const metrics = (await h.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/soc_feed_connected\{[^}]*\} 1/);
    expect(metrics).toMatch(/soc_feed_forwarded_total\{[^}]*action="auth.login.failed"[^}]*\} 1/);
    // The intake counts what it commits (login failure spikes are alerted on this), and the feed's own
    // consumer shows up among the consumer-lag gauges.
    expect(metrics).toMatch(
      /audit_events_total\{[^}]*action="auth.login.failed"[^}]*outcome="failure"[^}]*\} 1\n/,
    );
    expect(metrics).toMatch(/jetstream_consumer_pending_messages\{[^}]*consumer="soc-feed"[^}]*\} 0\n/);
  });

  it('forwards the security events of a batch message (several events of one transaction), in order', async () => {
    const before = collector.messages.length;
    const batch = [
      auditEvent({ service: 'identity', action: AuditActions.loginFailed, outcome: 'failure' }),
      auditEvent({ service: 'identity', action: AuditActions.loginSucceeded }),
      auditEvent({ service: 'identity', action: AuditActions.accountLocked, outcome: 'failure' }),
    ];
    await h.publishBatch(batch, undefined, 'identity');
    await eventually(async () => collector.messages.length >= before + 2 && (await backlog()) === 0, 30_000);
    expect(collector.messages.slice(before).map((m) => m.event.id)).toEqual([batch[0].id, batch[2].id]);
  });

  it('keeps events while the collector is down and delivers all of them when it is back', async () => {
    const before = collector.messages.length;
    await collector.stop();
    await eventually(async () => !forwarder.connected, 20_000);

    const outage = Array.from({ length: 25 }, (_, i) =>
      auditEvent({
        service: 'identity',
        action: i % 5 === 0 ? AuditActions.accountLocked : AuditActions.loginFailed,
        outcome: 'failure',
        details: { reason: 'bad-password', n: i },
      }),
    );
    const noise = Array.from({ length: 10 }, () => auditEvent({ action: AuditActions.documentRead }));
    for (const e of [...outage, ...noise]) await h.publish(e, undefined, e.service);

    // The audit log took them all in; the feed holds the security ones back while nobody listens.
    const ids = [...outage, ...noise].map((e) => e.id);
    await eventually(
      async () =>
        (await h.pg.query(`SELECT count(*)::int AS n FROM leaves WHERE event_id = ANY($1)`, [ids])).rows[0]
          .n === ids.length,
      30_000,
    );
    await eventually(async () => (await backlog()) >= outage.length, 30_000);
    expect(collector.messages.length).toBe(before);
    const down = (await h.http.get('/metrics').expect(200)).text;
    expect(down).toMatch(/soc_feed_connected\{[^}]*\} 0/);
    const backlogLine = /soc_feed_backlog_messages\{[^}]*\} (\d+)/.exec(down);
    expect(Number(backlogLine?.[1])).toBeGreaterThanOrEqual(outage.length);

    await collector.start(collector.port);
    await eventually(
      async () => (await backlog()) === 0 && collector.messages.length >= before + outage.length,
      60_000,
    );

    const got = new Set(collector.ids().slice(before));
    for (const e of outage) expect(got.has(e.id)).toBe(true);
    for (const e of noise) expect(got.has(e.id)).toBe(false);
    for (const m of collector.messages.slice(before))
      expect(m.msgId).toMatch(/^auth\.(login\.failed|account\.locked)$/);
  });
});
