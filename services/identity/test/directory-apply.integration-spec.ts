import { RpcClient } from '@lienthong/common';
import { RpcMethods, type DirectoryOrganizationEntry } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { DirectoryReplica } from '../src/directory/directory.replica';
import { auth, IdentityHarness, ROOT } from './support/harness';

jest.setTimeout(90_000);

/**
 * The replica's apply step on real PostgreSQL, fed directly: the compacted stream hands the last state of each
 * organization in the order of their last change, so a child can come before its parent, and a tombstone
 * before the newer state of a child that was moved away.
 */
describe('directory replica apply (real PG)', () => {
  const h = new IdentityHarness();
  let replica: DirectoryReplica;
  let version = 100;
  const entry = (
    code: string,
    parentCode: string | null,
    extra: Partial<DirectoryOrganizationEntry> = {},
  ): DirectoryOrganizationEntry => ({
    code,
    name: `Org ${code}`,
    parentCode,
    level: 'province',
    sector: 'party',
    zone: 'party-wan',
    nodeId: 'p02',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: new Date().toISOString(),
    version: ++version,
    ...extra,
  });
  const apply = (e: DirectoryOrganizationEntry, id = randomUUID()) => replica.apply(e, id);
  const get = (code: string) => h.http.get(`/api/v1/organizations/${code}`).set(auth(h.adminToken));
  const subtree = async (code: string) =>
    (await h.app.get(RpcClient).request(RpcMethods.organizationSubtree, { code })).codes.sort();

  beforeAll(async () => {
    // Upstream domain that never answers: only the apply step is exercised here.
    await h.start({ NODE_ID: 'p02', DIRECTORY_UPSTREAM_DOMAIN: 'nowhere' });
    replica = h.app.get(DirectoryReplica);
    await apply(entry(ROOT, null, { level: 'central', name: 'Trung ương', nodeId: 'central' }));
  });
  afterAll(() => h.stop());

  it('holds a child whose parent has not arrived, and attaches it when the parent comes', async () => {
    const P = '011.00.00.H11';
    const C = '011.01.00.H11';
    expect(await apply(entry(C, P, { level: 'district' }))).toBe('insert');
    expect((await get(C)).body).toMatchObject({ code: C, parentCode: P });
    expect(await subtree(ROOT)).not.toContain(C);
    expect(await apply(entry(P, ROOT))).toBe('insert');
    expect(await subtree(P)).toEqual([P, C].sort());
    expect(await subtree(ROOT)).toEqual(expect.arrayContaining([P, C]));
  });

  it('applies only newer versions; a redelivered message changes nothing', async () => {
    const X = '012.00.00.H12';
    const first = entry(X, ROOT, { name: 'v1' });
    const id = randomUUID();
    expect(await apply(first, id)).toBe('insert');
    expect(await apply(entry(X, ROOT, { name: 'v2' }))).toBe('update');
    expect(await apply({ ...first, name: 'stale' })).toBe('skip');
    expect(await apply(first, id)).toBe('skip');
    expect((await get(X)).body.name).toBe('v2');
  });

  it('deletes on a tombstone, detaching children moved away meanwhile, and never revives an older state', async () => {
    const P = '013.00.00.H13';
    const C = '013.01.00.H13';
    const older = entry(P, ROOT);
    await apply(older);
    await apply(entry(C, P, { level: 'district' }));
    expect(await apply(entry(P, ROOT, { deleted: true }))).toBe('delete');
    expect((await get(P)).status).toBe(404);
    // C's newer state (moved below the root) follows in the stream.
    expect((await get(C)).status).toBe(200);
    expect(await apply(entry(C, ROOT, { level: 'district' }))).toBe('update');
    expect((await get(C)).body.parentCode).toBe(ROOT);
    expect(await subtree(ROOT)).toContain(C);
    expect(await apply({ ...older })).toBe('skip');
    expect((await get(P)).status).toBe(404);
    // Deleted and created again at the centre: a newer version.
    expect(await apply(entry(P, ROOT, { name: 'again' }))).toBe('insert');
    expect((await get(P)).body.name).toBe('again');
    // A tombstone for an organization never seen is only recorded.
    expect(await apply(entry('014.00.00.H14', ROOT, { deleted: true }))).toBe('tombstone');
  });

  it('does not make a cycle when a parent arrives still below its child', async () => {
    const A = '015.00.00.H15';
    const B = '015.01.00.H15';
    await apply(entry(A, ROOT));
    await apply(entry(B, A));
    // At the centre: B moved to the root, then A moved below B; the stream hands A's state first.
    expect(await apply(entry(A, B))).toBe('update');
    expect((await get(A)).body.parentCode).toBe(B);
    expect(await subtree(ROOT)).not.toContain(A);
    expect(await apply(entry(B, ROOT))).toBe('update');
    expect(await subtree(B)).toEqual([A, B].sort());
    expect(await subtree(ROOT)).toEqual(expect.arrayContaining([A, B]));
  });

  it('keeps an organization deleted at the centre while node-local users belong to it', async () => {
    const K = '016.00.00.H16';
    await apply(entry(K, ROOT));
    await h.user('k-clerk', K, ['clerk']);
    expect(await apply(entry(K, ROOT, { deleted: true }))).toBe('skip');
    expect((await get(K)).status).toBe(200);
    // Created again at the centre later: applies over the kept row.
    expect(await apply(entry(K, ROOT, { name: 'back' }))).toBe('update');
    expect((await get(K)).body.name).toBe('back');
  });
});
