import type { JetStreamService } from '@lienthong/common';
import { eventually, freePort, NatsServerProcess } from '@lienthong/testing';
import { jetstream, jetstreamManager, type StreamSource } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { IntegrationBusConfig } from '../src/config/integration-bus.config';
import type { FederationLink } from '../src/federation/federation-link';
import { FederationSourceWatch } from '../src/federation/source-watch';

jest.setTimeout(90_000);

/**
 * FEDIN on a leaf server sourcing FEDOUT of the hub's JetStream domain, as between a province and the centre
 * (issue 12): after the leaf server restarts, nats-server's own set-up of the source is lost (it is sent
 * before the leaf link is up) and only retried after 5 s; the watch restarts it as soon as it sees it stalled.
 */
describe('federation source watch: FEDIN resumes at once after the leaf link returns', () => {
  let hub: NatsServerProcess;
  let leaf: NatsServerProcess;
  let hubNc: NatsConnection;
  let leafNc: NatsConnection;
  let watch: FederationSourceWatch;
  const source: StreamSource = {
    name: 'W_FEDOUT',
    filter_subject: 'w.fed.p01.>',
    external: { api: '$JS.central.API', deliver: 'wsrc.p01.central' },
  };
  let published = 0;

  // Short requests: one sent while the leaf server restarts must not hold the measurement for 5 s.
  const fedin = async () =>
    (await (await jetstreamManager(leafNc, { timeout: 500, checkAPI: false })).streams.info('W_FEDIN_P01'))
      .state;
  async function publish(n: number) {
    const js = jetstream(hubNc);
    for (let i = 0; i < n; i++) {
      published++;
      // Retried with its id while the hub restarts (its stream keeps one copy).
      const id = `m${published}`;
      await eventually(
        async () => !!(await js.publish('w.fed.p01.msg', id, { msgID: id, timeout: 1000 })),
        30_000,
      );
    }
  }

  beforeAll(async () => {
    const leafPort = await freePort();
    hub = new NatsServerProcess({
      jetstreamDomain: 'central',
      serverName: 'w-hub',
      extraConfig: `leafnodes { listen: "127.0.0.1:${leafPort}" }`,
    });
    leaf = new NatsServerProcess({
      jetstreamDomain: 'p01',
      serverName: 'w-leaf',
      extraConfig: `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}" } ] }`,
    });
    await hub.start();
    await leaf.start();
    hubNc = await connect({ servers: hub.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    leafNc = await connect({ servers: leaf.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await (await jetstreamManager(hubNc)).streams.add({ name: 'W_FEDOUT', subjects: ['w.fed.>'] });
    const sources = [source];
    const ensureInbound = async () => {
      const jsm = await jetstreamManager(leafNc);
      const info = await jsm.streams.info('W_FEDIN_P01');
      await jsm.streams.update('W_FEDIN_P01', { ...info.config, sources });
    };
    await (await jetstreamManager(leafNc)).streams.add({ name: 'W_FEDIN_P01', sources });
    const js = {
      quickManager: (timeout: number) => jetstreamManager(leafNc, { timeout, checkAPI: false }),
    } as unknown as JetStreamService;
    const link = {
      inboundStream: 'W_FEDIN_P01',
      sources: () => sources,
      ensureInbound,
    } as unknown as FederationLink;
    watch = new FederationSourceWatch(js, link, {
      FEDERATION_SOURCE_CHECK_MS: 100,
    } as IntegrationBusConfig);
    // FEDIN starts empty, as on a node that has received nothing yet (the federation bench).
    watch.onApplicationBootstrap();
  });

  afterAll(async () => {
    await watch?.onApplicationShutdown();
    await hubNc?.close();
    await leafNc?.close();
    await leaf?.destroy();
    await hub?.destroy();
  });

  it('a backlog kept on the hub while the leaf server was down is in FEDIN within a second or two of its restart, once', async () => {
    await leaf.stop();
    await publish(300);
    await leaf.start();
    const restartedAt = Date.now();
    await eventually(async () => (await fedin()).messages === published, 10_000, 25);
    // nats-server alone: 5 s and more (its lost consumer-create request times out first).
    expect(Date.now() - restartedAt).toBeLessThan(2500);
    // Past the server's own retry of its lost set-up (5 s): nothing was copied twice.
    await new Promise((r) => setTimeout(r, 7000));
    await publish(5);
    await eventually(async () => (await fedin()).messages === published, 15_000);
    expect((await fedin()).messages).toBe(published);
    expect((await fedin()).last_seq).toBe(published);
  });

  it('while the hub stays away the source is restarted rarely (back-off), and it resumes once the hub is back', async () => {
    const checks = jest.spyOn(watch, 'check');
    const restarts: string[][] = [];
    checks.mockImplementation(async function (this: FederationSourceWatch, now?: number) {
      const r = await FederationSourceWatch.prototype.check.call(this, now);
      if (r.length) restarts.push(r);
      return r;
    });
    try {
      await hub.stop();
      await new Promise((r) => setTimeout(r, 10_000));
      // Stalled after 3 s, then restarted after 0.5, 1, 2, 4 s…: a handful, not one per look (100 ms).
      expect(restarts.length).toBeGreaterThanOrEqual(1);
      expect(restarts.length).toBeLessThanOrEqual(6);
      await hub.start();
      await publish(20);
      await eventually(async () => (await fedin()).messages === published, 45_000, 100);
      await new Promise((r) => setTimeout(r, 7000));
      expect((await fedin()).messages).toBe(published);
      expect((await fedin()).last_seq).toBe(published);
    } finally {
      checks.mockRestore();
    }
  });
});
