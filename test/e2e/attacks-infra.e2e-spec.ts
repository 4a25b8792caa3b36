import {
  NAMESPACE,
  natsAuthorizationConfig,
  SERVICE_NAMES,
  sourceDeliveryPrefix,
  streamName,
  Streams,
  Subjects,
  type ServiceName,
} from '@lienthong/contracts';
import { freePort, NatsServerProcess } from '@lienthong/testing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomBytes, randomUUID } from 'node:crypto';
import { generateSelfSigned } from '../../services/integration-bus/src/edxml/node-certificate';
import { api, login, until } from './support/api';
import { PlatformProcesses } from './support/platform-processes';

jest.setTimeout(600_000);

const FEDOUT = streamName('FEDOUT');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves to 'refused' when the call fails (permission, no responders, timeout), else 'allowed'. */
async function outcome(p: Promise<unknown>): Promise<'allowed' | 'refused'> {
  return p.then(
    () => 'allowed' as const,
    () => 'refused' as const,
  );
}

/**
 * Attacks on the infrastructure boundaries (issue 13, items 3 and 6), against real servers this file starts:
 * a central hub whose NATS has the authorization of deploy/nats (generated from libs/contracts) with the four
 * real services each logged in as its own user and on its own database role, and a rogue provincial NATS
 * that joins the hub as a leaf node with NO deny rules of its own — whatever the province configures, the hub
 * decides what crosses.
 */
describe('attacks on the infrastructure: the hub decides what a leaf node and a service may do', () => {
  const passwords = Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, randomBytes(12).toString('hex')]),
  ) as Record<ServiceName, string>;
  const leafPassword = randomBytes(12).toString('hex');
  const adminPassword = randomBytes(12).toString('hex');
  const centralCred = generateSelfSigned('lienthong-bus-central', 2048);
  let hub: NatsServerProcess;
  let leaf: NatsServerProcess;
  let central: PlatformProcesses;
  /** An operator's connection at the hub (full rights): observes what really flows there. */
  let observer: NatsConnection;
  let observerJsm: JetStreamManager;
  /** The attacker: a client of the rogue leaf server. */
  let rogue: NatsConnection;
  let rogueJsm: JetStreamManager;
  let adminToken: string;

  beforeAll(async () => {
    const leafPort = await freePort();
    hub = new NatsServerProcess({
      jetstreamDomain: 'central',
      serverName: 'hub-authorized',
      extraConfig: natsAuthorizationConfig({
        nodeId: 'central',
        domain: 'central',
        servicePasswords: passwords,
        leaves: [{ nodeId: 'p01', domain: 'p01', password: leafPassword }],
        leafListen: `127.0.0.1:${leafPort}`,
        adminPassword,
      }),
    });
    leaf = new NatsServerProcess({
      jetstreamDomain: 'p01',
      serverName: 'leaf-rogue',
      // No deny_imports / deny_exports at all: the province dropped its rules.
      extraConfig: `leafnodes { remotes: [ { url: "nats-leaf://leaf-p01:${leafPassword}@127.0.0.1:${leafPort}" } ] }`,
    });
    await hub.start();
    await leaf.start();
    const perService = Object.fromEntries(
      SERVICE_NAMES.map((s) => [s, { NATS_USER: s, NATS_PASSWORD: passwords[s] }]),
    ) as unknown as Record<ServiceName, Record<string, string>>;
    central = new PlatformProcesses({
      all: { NATS_URL: hub.url, NODE_ID: 'central' },
      identity: perService.identity,
      documents: perService.documents,
      audit: perService.audit,
      'integration-bus': {
        ...perService['integration-bus'],
        NODE_CERT_PEM: centralCred.certPem,
        NODE_KEY_PEM: centralCred.keyPem,
        FEDERATION_PEERS: 'p01@p01',
      },
    });
    await central.start();
    adminToken = await login(central, 'admin', central.adminPassword);
    observer = await connect({ servers: hub.url, user: 'admin', pass: adminPassword });
    observerJsm = await jetstreamManager(observer);
    rogue = await connect({ servers: leaf.url });
    rogueJsm = await jetstreamManager(rogue, { domain: 'central', checkAPI: false, timeout: 2000 });
  });

  afterAll(async () => {
    await rogue?.close();
    await observer?.close();
    await central?.stop();
    await leaf?.destroy();
    await hub?.destroy();
  });

  it('the four services work with their own NATS users: ready, and each answers the others over request/reply', async () => {
    for (const s of SERVICE_NAMES) {
      const peers = await api(central, s, 'GET', '/health/peers', adminToken);
      expect({ s, status: peers.status }).toEqual({ s, status: 200 });
      const answers = (peers.body.peers as { service: string; ok: boolean }[]).map((p) => [p.service, p.ok]);
      expect({ s, answers }).toEqual({ s, answers: SERVICE_NAMES.map((n) => [n, true]) });
    }
  });

  it('a leaf with no deny rules reads nothing of the platform’s subjects while the centre works', async () => {
    const stolen: string[] = [];
    const sub = rogue.subscribe(`${NAMESPACE}.>`, { callback: (_e, m) => void stolen.push(m.subject) });
    const seen: string[] = [];
    const watch = observer.subscribe(`${NAMESPACE}.>`, { callback: (_e, m) => void seen.push(m.subject) });
    await rogue.flush();
    await sleep(1000); // interest propagates over the leaf link
    // Real traffic at the centre: an organization (identity events, directory, audit) and RPC between services.
    const me = await api(central, 'identity', 'GET', '/api/v1/auth/me', adminToken);
    const created = await api(central, 'identity', 'POST', '/api/v1/organizations', adminToken, {
      code: '000.00.00.H77',
      name: 'Ban Tổ chức',
      parentCode: me.body.organizationCode,
      level: 'central',
      sector: 'party',
      zone: 'party-wan',
      nodeId: 'central',
    });
    expect(created.status).toBe(201);
    await api(central, 'documents', 'GET', '/health/peers', adminToken);
    await until(
      async () => seen.some((s) => s.startsWith(`${NAMESPACE}.audit.events.`)),
      'the centre’s own traffic',
    );
    await sleep(2000);
    sub.unsubscribe();
    watch.unsubscribe();
    expect(seen.length).toBeGreaterThan(0);
    expect(stolen).toEqual([]);
  });

  it('a leaf cannot publish into the centre’s streams (deliveries, audit events, the directory)', async () => {
    const streams = [Streams.bus(), Streams.audit(), Streams.directory(), Streams.documents()].map(
      (s) => s.name,
    );
    const before = new Map<string, number>();
    for (const s of streams) before.set(s, (await observerJsm.streams.info(s)).state.last_seq);
    const seen: string[] = [];
    const watch = observer.subscribe(`${NAMESPACE}.>`, { callback: (_e, m) => void seen.push(m.subject) });
    await observer.flush();
    const forged = JSON.stringify({
      id: randomUUID(),
      type: 'forged',
      occurredAt: new Date().toISOString(),
      data: {},
    });
    for (const subject of [
      Subjects.busDelivery(),
      Subjects.auditEvent('documents'),
      Subjects.directoryOrganization('000.00.00.H77'),
      Subjects.documentSendRequested(),
    ]) {
      rogue.publish(subject, forged);
      // As a JetStream publish too (a request whose answer would be the stream's ack).
      expect(await outcome(jetstream(rogue, { timeout: 1500 }).publish(subject, forged))).toBe('refused');
    }
    await rogue.flush();
    await sleep(2000);
    watch.unsubscribe();
    expect(
      seen.filter((s) => !s.startsWith(`${NAMESPACE}.audit.events.`) && !s.startsWith(`${NAMESPACE}.rpc.`)),
    ).toEqual([]);
    for (const s of streams) {
      const info = await observerJsm.streams.info(s);
      // Only the centre's own events may have been added meanwhile, never the forged type.
      if (info.state.last_seq > before.get(s)!) {
        const last = await observerJsm.streams.getMessage(s, { seq: info.state.last_seq });
        expect(last?.string()).not.toContain('"forged"');
      }
    }
  });

  it('a leaf cannot use the centre’s JetStream API beyond sourcing its own messages', async () => {
    const attempts: Record<string, Promise<unknown>> = {
      'stream info of BUS': rogueJsm.streams.info(Streams.bus().name),
      'purge the AUDIT stream': rogueJsm.streams.purge(Streams.audit().name),
      'delete FEDOUT': rogueJsm.streams.delete(FEDOUT),
      'list streams': rogueJsm.streams.names().next(),
      'a consumer on BUS': rogueJsm.consumers.add(Streams.bus().name, {
        name: 'rogue',
        filter_subject: Subjects.busAll(),
      }),
      'a consumer on FEDOUT for another node': rogueJsm.consumers.add(FEDOUT, {
        name: 'rogue-p02',
        filter_subject: Subjects.federationTo('p02'),
      }),
      'a consumer on all of FEDOUT': rogueJsm.consumers.add(FEDOUT, { name: 'rogue-all' }),
      'a message of DOCUMENTS by sequence': rogueJsm.streams.getMessage(Streams.documents().name, { seq: 1 }),
    };
    for (const [what, p] of Object.entries(attempts)) {
      expect({ what, outcome: await outcome(p) }).toEqual({ what, outcome: 'refused' });
    }
    // Sourcing is what a leaf may do — of its own messages only.
    const busUser = await connect({
      servers: hub.url,
      user: 'integration-bus',
      pass: passwords['integration-bus'],
      inboxPrefix: '_INBOX.integration-bus',
    });
    try {
      const js = jetstream(busUser);
      await js.publish(Subjects.federationOut('p01'), JSON.stringify({ id: randomUUID(), for: 'p01' }));
      await js.publish(Subjects.federationOut('p02'), JSON.stringify({ id: randomUUID(), for: 'p02' }));
    } finally {
      await busUser.close();
    }
    const local = await jetstreamManager(rogue);
    const api = '$JS.central.API';
    const sourced = async (name: string, source: Record<string, unknown>) =>
      local.streams.add({
        name,
        sources: [{ name: FEDOUT, external: { api, deliver: '' }, ...source } as never],
      });
    await sourced('MINE', {
      filter_subject: Subjects.federationTo('p01'),
      external: { api, deliver: sourceDeliveryPrefix('p01', 'central') },
    });
    await sourced('THEIRS', {
      filter_subject: Subjects.federationTo('p02'),
      external: { api, deliver: sourceDeliveryPrefix('p01', 'central') },
    });
    await sourced('EVERYTHING', { external: { api, deliver: sourceDeliveryPrefix('p01', 'central') } });
    await sourced('DELIVERED_ELSEWHERE', {
      filter_subject: Subjects.federationTo('p01'),
      external: { api, deliver: sourceDeliveryPrefix('p02', 'central') },
    });
    await local.streams.add({
      name: 'BUS_COPY',
      sources: [
        { name: Streams.bus().name, external: { api, deliver: sourceDeliveryPrefix('p01', 'central') } },
      ],
    });
    await until(async () => (await local.streams.info('MINE')).state.messages >= 1, 'the leaf’s own message');
    await sleep(5000);
    const count = async (s: string) => (await local.streams.info(s)).state.messages;
    expect(await count('MINE')).toBe(1);
    for (const s of ['THEIRS', 'EVERYTHING', 'DELIVERED_ELSEWHERE', 'BUS_COPY'])
      expect({ s, messages: await count(s) }).toEqual({ s, messages: 0 });
  });

  it('a service user cannot publish to another service’s subjects nor read its messages', async () => {
    const documents = await connect({
      servers: hub.url,
      user: 'documents',
      pass: passwords.documents,
      inboxPrefix: '_INBOX.documents',
    });
    try {
      const js = jetstream(documents, { timeout: 2000 });
      const jsm = await jetstreamManager(documents, { timeout: 2000 });
      const before = (await observerJsm.streams.info(Streams.audit().name)).state.last_seq;
      const forged = JSON.stringify({ id: randomUUID(), type: 'forged', data: {} });
      const attempts: Record<string, Promise<unknown>> = {
        'a delivery as the bus': js.publish(Subjects.busDelivery(), forged),
        'an audit event as identity': js.publish(Subjects.auditEvent('identity'), forged),
        'a directory entry': js.publish(Subjects.directoryOrganization('000.00.00.H77'), forged),
        'a federation message': js.publish(Subjects.federationOut('p01'), forged),
        'a checkpoint cosignature': js.publish(Subjects.witnessCosigned(), forged),
        'a consumer on the AUDIT stream': jsm.consumers.add(Streams.audit().name, { name: 'peek' }),
        'purging the AUDIT stream': jsm.streams.purge(Streams.audit().name),
        'an identity RPC it does not use': documents.request(
          `${NAMESPACE}.rpc.identity.organization.upsert-state`,
          '{}',
          { timeout: 2000 },
        ),
      };
      for (const [what, p] of Object.entries(attempts)) {
        expect({ what, outcome: await outcome(p) }).toEqual({ what, outcome: 'refused' });
      }
      // Subscribing where another service's messages arrive is refused by the server too.
      for (const subject of [Subjects.auditAll(), '_INBOX.integration-bus.>', `${NAMESPACE}.rpc.audit.>`]) {
        const errors: string[] = [];
        const sub = documents.subscribe(subject, { callback: (e) => void (e && errors.push(e.message)) });
        await documents.flush().catch(() => undefined);
        await sleep(300);
        expect({ subject, closed: sub.isClosed() || errors.length > 0 }).toEqual({ subject, closed: true });
      }
      const after = (await observerJsm.streams.info(Streams.audit().name)).state.last_seq;
      if (after > before) {
        const last = await observerJsm.streams.getMessage(Streams.audit().name, { seq: after });
        expect(last?.string()).not.toContain('"forged"');
      }
    } finally {
      await documents.close().catch(() => undefined);
    }
  });

  it('while all this happened, no service was refused anything it needs (its NATS user and DB role suffice)', () => {
    for (const s of SERVICE_NAMES) {
      const refusals = central.logs[s]
        .split('\n')
        .filter((l) => /permission|not permitted|authorization violation|42501/i.test(l));
      expect({ s, refusals }).toEqual({ s, refusals: [] });
    }
  });

  it('the services’ database roles cannot read each other’s schemas nor rewrite the audit log', async () => {
    // Covered in depth by test/platform/database-roles.integration-spec.ts; here the roles the running
    // services created for themselves are checked from outside.
    const roles = await central.runtimeRoles();
    expect(Object.keys(roles).sort()).toEqual([...SERVICE_NAMES].sort());
    const audit = roles.audit!;
    const identitySchema = roles.identity!.schema;
    const codes = await central.asRole('audit', [
      `SELECT 1 FROM "${identitySchema}".outbox LIMIT 1`,
      `UPDATE "${audit.schema}".leaves SET action = 'x'`,
      `DELETE FROM "${audit.schema}".leaves`,
      `TRUNCATE "${audit.schema}".leaves`,
      `ALTER TABLE "${audit.schema}".leaves DISABLE TRIGGER ALL`,
    ]);
    expect(codes).toEqual(['42501', '42501', '42501', '42501', '42501']);
  });
});
