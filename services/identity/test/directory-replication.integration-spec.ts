import { JetStreamService, RpcClient } from '@lienthong/common';
import {
  NAMESPACE,
  RpcMethods,
  Streams,
  Subjects,
  type DirectoryOrganizationEntry,
  type OrganizationChangedEvent,
  type OrganizationView,
} from '@lienthong/contracts';
import { eventually, freePort, NatsServerProcess } from '@lienthong/testing';
import { DirectoryPublisher } from '../src/directory/directory.publisher';
import { directoryReplicaConsumer, directoryReplicaStream } from '../src/directory/directory.replica';
import { auth, IdentityHarness, ROOT } from './support/harness';

jest.setTimeout(180_000);

/**
 * Federation: the central identity (JetStream domain `central`) is authoritative for the organization
 * directory; a provincial node (domain `p01`, a leaf node of the hub that denies the platform's subjects
 * both ways) replicates it by sourcing the centre's compacted directory stream.
 */
describe('directory replication across JetStream domains (two nats-servers, real PG)', () => {
  let hub: NatsServerProcess;
  let leaf: NatsServerProcess;
  const centre = new IdentityHarness();
  const province = new IdentityHarness();
  const P1 = '001.00.00.H01';
  const D1 = '001.01.00.H01';
  const C1 = '001.01.01.H01';
  const P2 = '002.00.00.H02';
  const WAIT = 60_000;

  const get = (h: IdentityHarness, code: string) =>
    h.http.get(`/api/v1/organizations/${code}`).set(auth(h.adminToken));
  const viewAt = async (h: IdentityHarness, code: string): Promise<OrganizationView | null> => {
    const res = await get(h, code);
    return res.status === 200 ? (res.body as OrganizationView) : null;
  };
  /** Waits until the province answers exactly the centre's view of `code`. */
  const replicated = async (code: string): Promise<OrganizationView> => {
    const expected = await viewAt(centre, code);
    expect(expected).not.toBeNull();
    await eventually(
      async () => JSON.stringify(await viewAt(province, code)) === JSON.stringify(expected),
      WAIT,
      200,
    ).catch(() => undefined);
    expect(await viewAt(province, code)).toEqual(expected);
    return expected!;
  };
  const provinceEvents = () =>
    province
      .streamEvents<OrganizationChangedEvent>(Subjects.organizationChanged(), Streams.identity().name)
      .then((es) => es.map((e) => e.data));

  beforeAll(async () => {
    const leafPort = await freePort();
    hub = new NatsServerProcess({
      jetstreamDomain: 'central',
      extraConfig: `leafnodes { listen: 127.0.0.1:${leafPort} }`,
    });
    leaf = new NatsServerProcess({
      jetstreamDomain: 'p01',
      extraConfig: `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}", deny_imports: ["${NAMESPACE}.>"], deny_exports: ["${NAMESPACE}.>"] } ] }`,
    });
    await hub.start();
    await leaf.start();
    await centre.start({ NATS_URL: hub.url, NODE_ID: 'central' });
    // Created before the province exists: reaches it from the compacted stream, not from a live event.
    await centre.org(P1, ROOT, 'province', centre.adminToken, { nodeId: 'p01' });
    await province.start({
      NATS_URL: leaf.url,
      NODE_ID: 'p01',
      DIRECTORY_UPSTREAM_DOMAIN: 'central',
      ROOT_ORG_NAME: 'Gốc tạm',
    });
  });

  afterAll(async () => {
    await province.stop();
    await centre.stop();
    await leaf?.destroy();
    await hub?.destroy();
  });

  it('publishes each organization state on its directory subject at the centre', async () => {
    const jsm = await centre.app.get(JetStreamService).manager();
    const m = await eventually(
      () =>
        jsm.streams.getMessage(Streams.directory().name, {
          last_by_subj: Subjects.directoryOrganization(P1),
        }),
      WAIT,
      200,
    );
    const entry = m!.json<{ data: DirectoryOrganizationEntry }>().data;
    expect(entry).toMatchObject({ code: P1, parentCode: ROOT, nodeId: 'p01', level: 'province' });
    expect(entry.version).toBeGreaterThan(0);
    expect(entry.deleted).toBeUndefined();
  });

  it('replicates the centre root over the province placeholder, and organizations created before the province started', async () => {
    const root = await replicated(ROOT);
    expect(root).toMatchObject({ name: 'Trung ương', nodeId: 'central' });
    expect(await replicated(P1)).toMatchObject({ code: P1, parentCode: ROOT, nodeId: 'p01' });
  });

  it('replicates creations, updates and moves, and keeps subtrees right on the province', async () => {
    await centre.org(P2, ROOT, 'province');
    await centre.org(D1, P1, 'district', centre.adminToken, { nodeId: 'p01' });
    await centre.org(C1, D1, 'commune', centre.adminToken, { nodeId: 'p01' });
    const patched = await centre.http
      .patch(`/api/v1/organizations/${P1}`)
      .set(auth(centre.adminToken))
      .send({ name: 'Tỉnh ủy 01' });
    expect(patched.status).toBe(200);
    const moved = await centre.http
      .patch(`/api/v1/organizations/${D1}`)
      .set(auth(centre.adminToken))
      .send({ parentCode: P2 });
    expect(moved.status).toBe(200);
    expect(await replicated(P1)).toMatchObject({ name: 'Tỉnh ủy 01' });
    expect(await replicated(D1)).toMatchObject({ parentCode: P2, nodeId: 'p01' });
    await replicated(C1);
    const rpc = province.app.get(RpcClient);
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: P2 })).codes.sort()).toEqual(
      [C1, D1, P2].sort(),
    );
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: P1 })).codes).toEqual([P1]);
  });

  it('replicates deletions as tombstones', async () => {
    const X = '009.00.00.H09';
    await centre.org(X, ROOT, 'province');
    await replicated(X);
    const del = await centre.http.delete(`/api/v1/organizations/${X}`).set(auth(centre.adminToken));
    expect(del.status).toBe(204);
    const jsm = await centre.app.get(JetStreamService).manager();
    await eventually(
      async () => {
        const m = await jsm.streams.getMessage(Streams.directory().name, {
          last_by_subj: Subjects.directoryOrganization(X),
        });
        return m?.json<{ data: DirectoryOrganizationEntry }>().data.deleted === true;
      },
      WAIT,
      200,
    );
    await eventually(async () => (await get(province, X)).status === 404, WAIT, 200);
  });

  it('emits the local organization.changed on the province for replicated changes', async () => {
    await eventually(
      async () => {
        const events = await provinceEvents();
        return (
          events.some(
            (e) => e.change === 'created' && e.organization.code === C1 && e.organization.nodeId === 'p01',
          ) &&
          events.some(
            (e) =>
              e.change === 'updated' && e.organization.code === P1 && e.organization.name === 'Tỉnh ủy 01',
          ) &&
          events.some((e) => e.change === 'deleted' && e.organization.code === '009.00.00.H09')
        );
      },
      WAIT,
      500,
    );
    // The province never writes a directory stream of its own.
    const jsm = await province.app.get(JetStreamService).manager();
    await expect(jsm.streams.info(Streams.directory().name)).rejects.toThrow();
    const replica = await jsm.streams.info(directoryReplicaStream());
    expect(replica.config.sources?.[0]).toMatchObject({
      name: Streams.directory().name,
      external: { api: '$JS.central.API' },
    });
    expect(replica.config.max_msgs_per_subject).toBe(1);
    expect(
      (await jsm.consumers.info(directoryReplicaStream(), directoryReplicaConsumer('p01'))).config
        .durable_name,
    ).toBe('identity-p01-directory');
  });

  it('refuses organization writes on the province with 409 DIRECTORY_READ_ONLY; reads and local users still work', async () => {
    const create = await province.http.post('/api/v1/organizations').set(auth(province.adminToken)).send({
      code: '003.00.00.H03',
      name: 'x',
      parentCode: ROOT,
      level: 'province',
      sector: 'party',
      zone: 'party-wan',
    });
    const patch = await province.http
      .patch(`/api/v1/organizations/${P1}`)
      .set(auth(province.adminToken))
      .send({ name: 'local rename' });
    const del = await province.http.delete(`/api/v1/organizations/${C1}`).set(auth(province.adminToken));
    for (const res of [create, patch, del]) {
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('DIRECTORY_READ_ONLY');
    }
    expect((await viewAt(province, P1))?.name).toBe('Tỉnh ủy 01');
    const list = await province.http
      .get(`/api/v1/organizations?parentCode=${ROOT}`)
      .set(auth(province.adminToken));
    expect(list.body.items.map((o: OrganizationView) => o.code)).toEqual(expect.arrayContaining([P1, P2]));
    // Users stay node-local: one on a replicated organization at the province does not reach the centre.
    const u = await province.user('p01-clerk', C1, ['clerk']);
    expect((await province.login('p01-clerk', u.password)).access_token).toBeTruthy();
    const atCentre = await centre.http
      .get(`/api/v1/users?organizationCode=${C1}`)
      .set(auth(centre.adminToken));
    expect(atCentre.body.items ?? []).toEqual([]);
    // Request/reply writes are refused too, except re-registering an organization it already holds.
    const rpc = province.app.get(RpcClient);
    await expect(
      rpc.request(RpcMethods.organizationUpsertState, { code: '004.00.00.H04', name: 'x' }),
    ).rejects.toBeTruthy();
    expect(
      await rpc.request(RpcMethods.organizationUpsertState, { code: P2, name: 'other name' }),
    ).toMatchObject({ code: P2, name: `Org ${P2}` });
  });

  it('catches up with an organization created while the province NATS server was down', async () => {
    const Y = '005.00.00.H05';
    await leaf.stop();
    await centre.org(Y, ROOT, 'province', centre.adminToken, { nodeId: 'p01' });
    const patched = await centre.http
      .patch(`/api/v1/organizations/${P2}`)
      .set(auth(centre.adminToken))
      .send({ name: 'Renamed while down' });
    expect(patched.status).toBe(200);
    expect(await get(province, Y).then((r) => r.status)).toBe(404);
    await leaf.start();
    expect(await replicated(Y)).toMatchObject({ code: Y, nodeId: 'p01' });
    expect(await replicated(P2)).toMatchObject({ name: 'Renamed while down' });
  });

  it('backfills organizations the directory stream does not hold (idempotent)', async () => {
    const jsm = await centre.app.get(JetStreamService).manager();
    const publisher = centre.app.get(DirectoryPublisher);
    // As an organization made before directory publishing existed: a row, and nothing in the stream for it.
    const Z = '006.00.00.H06';
    await centre.db.query(
      `INSERT INTO organizations (code, name, parent_code, level, sector, zone, node_id, path) VALUES ($1, 'Old', $2, 'province', 'party', 'party-wan', 'p01', $3)`,
      [Z, ROOT, `/${ROOT}/${Z}/`],
    );
    expect(await publisher.backfill()).toBe(1);
    await eventually(
      async () => {
        const info = await jsm.streams.info(Streams.directory().name, {
          subjects_filter: Subjects.directoryAll(),
        });
        return Object.keys(info.state.subjects ?? {}).includes(Subjects.directoryOrganization(Z));
      },
      WAIT,
      200,
    );
    expect(await publisher.backfill()).toBe(0);
    expect(await replicated(Z)).toMatchObject({ code: Z, name: 'Old', parentCode: ROOT, nodeId: 'p01' });
  });
});
