import type { AuditEventPayload } from '@lienthong/contracts';
import { leafBytes } from '../src/log/leaf-bytes';
import { LogRepository, STORED_LEVEL } from '../src/log/log.repository';
import { Hash, leafHash, rootOf, verifyConsistency, verifyInclusion } from '../src/merkle/merkle';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

/**
 * LogRepository on real PostgreSQL, without the intake: the append path (optimistic insert, redelivery
 * fallback, the frontier kept between appends and re-read when another replica appended) and the sparse
 * node layout (levels below STORED_LEVEL are hashed from leaves), checked against the in-memory reference.
 */
describe('LogRepository (real PostgreSQL)', () => {
  const h = new AuditHarness();
  let a: LogRepository;
  let b: LogRepository;
  const events: AuditEventPayload[] = [];
  const hashes: Hash[] = [];

  beforeAll(async () => {
    await h.start({ AUDIT_INTAKE_ENABLED: 'false' });
    a = h.app.get(LogRepository);
    b = (await h.addInstance({ AUDIT_INTAKE_ENABLED: 'false' })).get(LogRepository);
  });
  afterAll(() => h.stop());

  const state = async () =>
    (await h.pg.query(`SELECT size, root FROM tree_state`)).rows[0] as { size: string; root: Buffer };

  it('appends batches from two replicas: consecutive leaves, the reference root after every batch', async () => {
    // Uneven sizes so batches straddle 16-leaf blocks; replicas alternate, so each one's kept frontier is
    // sometimes stale (another appended) and sometimes current.
    const plan: [LogRepository, number][] = [
      [a, 1],
      [a, 2],
      [a, 13],
      [b, 17],
      [b, 1],
      [a, 31],
      [a, 5],
      [b, 40],
      [a, 3],
    ];
    for (const [repo, n] of plan) {
      const batch = Array.from({ length: n }, () => auditEvent());
      const head = await repo.append(batch);
      events.push(...batch);
      hashes.push(...batch.map((e) => leafHash(leafBytes(e))));
      expect(head.appended).toBe(n);
      expect(head.size).toBe(hashes.length);
      expect(head.root.equals(rootOf(hashes))).toBe(true);
      const s = await state();
      expect(Number(s.size)).toBe(hashes.length);
      expect(s.root.equals(rootOf(hashes))).toBe(true);
    }
    const rows = await h.pg.query(`SELECT leaf_index, leaf_hash FROM leaves ORDER BY leaf_index`);
    expect(rows.rows.map((r) => Number(r.leaf_index))).toEqual(hashes.map((_, i) => i));
    rows.rows.forEach((r, i) => expect(r.leaf_hash.equals(hashes[i])).toBe(true));
  });

  it('keeps leaves consecutive and the root right when both replicas append at the same time', async () => {
    // Each replica's single-statement append waits for the other's row lock, then finds the tree moved and
    // falls back to the locked path; nothing is lost, doubled or misplaced.
    const batches = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: 3 + ((i * 7) % 11) }, () => auditEvent()),
    );
    const before = hashes.length;
    const heads = await Promise.all(batches.map((batch, i) => (i % 2 ? a : b).append(batch)));
    expect(heads.reduce((n, h) => n + h.appended, 0)).toBe(batches.flat().length);
    const rows = await h.pg.query(
      `SELECT leaf_index, leaf_hash, event FROM leaves WHERE leaf_index >= $1 ORDER BY leaf_index`,
      [before],
    );
    expect(rows.rows.map((r) => Number(r.leaf_index))).toEqual(batches.flat().map((_, i) => before + i));
    for (const r of rows.rows) {
      events.push(r.event);
      hashes.push(r.leaf_hash);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(hashes.every((x, i) => x.equals(leafHash(leafBytes(events[i]))))).toBe(true);
    expect((await state()).root.equals(rootOf(hashes))).toBe(true);
  });

  it('applies a second append sent right behind the first on top of it, and recovers when the first fails', async () => {
    const readBack = async (from: number) => {
      const rows = await h.pg.query(
        `SELECT leaf_hash, event FROM leaves WHERE leaf_index >= $1 ORDER BY leaf_index`,
        [from],
      );
      for (const r of rows.rows) {
        events.push(r.event);
        hashes.push(r.leaf_hash);
      }
    };
    await a.append([auditEvent()]); // a's kept frontier is current
    let before = hashes.length;
    await readBack(before);
    // Pipelined, the first succeeds: the second applies on top of it, in order.
    before = hashes.length;
    const [b1, b2] = [
      Array.from({ length: 9 }, () => auditEvent()),
      Array.from({ length: 12 }, () => auditEvent()),
    ];
    const [h1, h2] = await Promise.all([a.append(b1), a.append(b2)]);
    expect([h1.appended, h2.appended]).toEqual([9, 12]);
    expect(h2.size).toBe(before + 21);
    await readBack(before);
    expect(events.slice(before).map((e) => e.id)).toEqual([...b1, ...b2].map((e) => e.id));
    expect((await state()).root.equals(rootOf(hashes))).toBe(true);
    // Pipelined, the first fails (a stored event: unique violation) and takes the locked path; the second,
    // hashed onto the first's predicted tree, changes nothing on its own statement and takes it too.
    before = hashes.length;
    const [c1, c2] = [[events[5], auditEvent(), auditEvent()], Array.from({ length: 4 }, () => auditEvent())];
    const [k1, k2] = await Promise.all([a.append(c1), a.append(c2)]);
    expect(k1.appended + k2.appended).toBe(6);
    await readBack(before);
    expect(hashes.length).toBe(before + 6);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(hashes.every((x, i) => x.equals(leafHash(leafBytes(events[i]))))).toBe(true);
    expect((await state()).root.equals(rootOf(hashes))).toBe(true);
    expect((await a.append([auditEvent()])).size).toBe(hashes.length + 1);
    await readBack(hashes.length);
  });

  it('stores node hashes from STORED_LEVEL up only, one per complete aligned subtree', async () => {
    const n = hashes.length;
    const rows = (
      await h.pg.query(`SELECT level, count(*)::int AS c FROM nodes GROUP BY level ORDER BY level`)
    ).rows as { level: number; c: number }[];
    const expected: { level: number; c: number }[] = [];
    for (let l = STORED_LEVEL; 2 ** l <= n; l++) expected.push({ level: l, c: Math.floor(n / 2 ** l) });
    expect(rows).toEqual(expected);
    for (const { level } of rows) expect(level).toBeGreaterThanOrEqual(STORED_LEVEL);
  });

  it('serves an inclusion proof for every leaf of every tree size, and consistency proofs between sizes', async () => {
    const n = hashes.length;
    for (let size = 1; size <= n; size++) {
      const root = rootOf(hashes.slice(0, size));
      for (let m = 0; m < size; m += size > 40 ? 7 : 1) {
        const p = await b.inclusionProof(m, size);
        expect(p.logSize).toBe(n);
        expect(p.leaf!.equals(hashes[m])).toBe(true);
        expect(verifyInclusion(m, size, p.leaf!, p.path, root)).toBe(true);
      }
    }
    for (let first = 1; first <= n; first += 2) {
      for (const second of [first, first + 1, first + 15, Math.floor((first + n) / 2), n].filter(
        (s) => s >= first && s <= n,
      )) {
        const c = await a.consistencyProof(first, second);
        expect(
          verifyConsistency(
            first,
            second,
            rootOf(hashes.slice(0, first)),
            rootOf(hashes.slice(0, second)),
            c.proof,
          ),
        ).toBe(true);
      }
    }
    expect((await a.inclusionProof(0, n + 1)).logSize).toBe(n);
  });

  it('skips events already stored (redelivery), in a batch that also has new ones and in one that has none', async () => {
    const again = [events[3], events[50], events[50]];
    const fresh = [auditEvent(), auditEvent()];
    const head = await a.append([again[0], fresh[0], again[1], again[2], fresh[1]]);
    hashes.push(...fresh.map((e) => leafHash(leafBytes(e))));
    expect(head.appended).toBe(2);
    expect(head.size).toBe(hashes.length);
    expect(head.root.equals(rootOf(hashes))).toBe(true);
    const none = await b.append([events[0], { ...events[1], id: events[1].id.toUpperCase() }]);
    expect(none).toMatchObject({ appended: 0, size: hashes.length });
    // And the next append of new events goes on from there, on either replica.
    const more = [auditEvent()];
    hashes.push(leafHash(leafBytes(more[0])));
    expect((await b.append(more)).root.equals(rootOf(hashes))).toBe(true);
    const ids = await h.pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d, max(leaf_index)::int AS last FROM leaves`,
    );
    expect(ids.rows[0]).toEqual({ n: hashes.length, d: hashes.length, last: hashes.length - 1 });
  });
  it('stores pipelined appends in call order even when the later statement reaches PostgreSQL first', async () => {
    // The pool hands each append its own connection; here the first one's statement is held back 150 ms,
    // as a slow new connection would, so the second arrives first, finds the tree not yet where it was
    // hashed onto, and must wait for the first before taking the locked path.
    const start = (await a.append([auditEvent()])).size; // a's kept frontier is current again
    const pool = (a as unknown as { pool: { query: (...args: unknown[]) => Promise<unknown> } }).pool;
    const query = pool.query;
    let held = false;
    pool.query = function (this: unknown, ...args: unknown[]) {
      const cfg = args[0] as { name?: string };
      if (!held && cfg?.name === 'audit-append-at-tip') {
        held = true;
        return new Promise((r) => setTimeout(r, 150)).then(() => query.apply(this, args));
      }
      return query.apply(this, args);
    };
    try {
      const [d1, d2] = [
        Array.from({ length: 5 }, () => auditEvent()),
        Array.from({ length: 7 }, () => auditEvent()),
      ];
      const [k1, k2] = await Promise.all([a.append(d1), a.append(d2)]);
      expect(held).toBe(true);
      expect([k1.size, k2.size]).toEqual([start + 5, start + 12]);
      const rows = await h.pg.query(`SELECT event FROM leaves WHERE leaf_index >= $1 ORDER BY leaf_index`, [
        start,
      ]);
      expect(rows.rows.map((r) => r.event.id)).toEqual([...d1, ...d2].map((e) => e.id));
    } finally {
      pool.query = query;
    }
  });
});
