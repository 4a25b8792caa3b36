import type { Principal } from '@lienthong/common';
import { hashedSet } from '../src/events/hashed-any';
import { EventsService, INDEXED_SCOPE_MAX, SCOPE_TTL_MS } from '../src/events/events.service';
import { LogRepository } from '../src/log/log.repository';
import { AppendCost1766600000000 } from '../src/migrations/1766600000000-AppendCost';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

/**
 * The filters over the indexes of migration 1766600000000. Action, actor, organization and resource go
 * through (hashtext(column), leaf_index): values whose hashes collide must not leak into each other's
 * answers. The from/to filter goes through a BRIN index on `time`: leaves are appended in about
 * the order of their time, but not exactly (clocks differ between services, events arrive late), and the
 * filter must still give exactly the leaves in the window, in leaf order, page after page, whether the
 * index's ranges are summarized yet or not.
 */
describe('events filters (real PostgreSQL, hashed and BRIN indexes)', () => {
  const h = new AuditHarness();
  let log: LogRepository;
  let events: EventsService;
  const times: number[] = [];
  const base = Date.parse('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    await h.start({ AUDIT_INTAKE_ENABLED: 'false' });
    log = h.app.get(LogRepository);
    events = h.app.get(EventsService);
    // 3,000 leaves (several BRIN ranges), times mostly rising with a jitter of ±20 minutes, and every 97th
    // a day late or early.
    for (let b = 0; b < 6; b++) {
      const batch = Array.from({ length: 500 }, (_, j) => {
        const i = b * 500 + j;
        const jitter = ((i * 7919) % 41) - 20;
        const far = i % 97 === 0 ? (i % 2 ? 1 : -1) * 24 * 60 : 0;
        const t = base + (i + jitter + far) * 60_000;
        times.push(t);
        return auditEvent({ time: new Date(t).toISOString(), details: { i } });
      });
      await log.append(batch);
    }
  });
  afterAll(() => h.stop());

  const all = async (from: string, to: string): Promise<number[]> => {
    const got: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await events.query({ from, to, scope: null }, cursor, 100);
      got.push(...page.items.map((x) => x.leafIndex));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return got;
  };
  const expected = (from: number, to: number) => times.flatMap((t, i) => (t >= from && t < to ? [i] : []));

  const windows: [number, number][] = [
    [base + 100 * 60_000, base + 160 * 60_000],
    [base - 2 * 86_400_000, base + 30 * 60_000],
    [base + 1500 * 60_000, base + 1500 * 60_000 + 1],
    [base + 2900 * 60_000, base + 5 * 86_400_000],
  ];

  it('keeps values apart whose hashtext collides (action, actor, organization, resource, scope)', async () => {
    // Pairs with equal hashtext (found by search; hashtext is stable in PostgreSQL).
    const pairs = [
      ['user-255858', 'user-299228'],
      ['doc-29796', 'doc-61012'],
    ];
    for (const [x, y] of pairs)
      expect((await h.pg.query(`SELECT hashtext($1) = hashtext($2) AS same`, [x, y])).rows[0].same).toBe(
        true,
      );
    const [u1, u2] = pairs[0];
    const [d1, d2] = pairs[1];
    const start = Number((await h.pg.query(`SELECT size FROM tree_state`)).rows[0].size);
    const mk = (s: string, o: string, a: string, d: string) =>
      auditEvent({
        action: a,
        actor: { sub: s, organizationCode: o, type: 'user' },
        resource: { type: 'document', id: d },
      });
    // Organization codes and actions are the same strings as the colliding pair, so all four filters meet one.
    await log.append([mk(u1, u2, d1, u1), mk(u2, u1, d2, d1), mk(u1, u1, d1, d2), mk(u2, u2, d2, d2)]);
    const q = async (f: Partial<Parameters<EventsService['query']>[0]>) =>
      (await events.query({ scope: null, fromIndex: start, ...f }, undefined, 50)).items.map(
        (x) => x.leafIndex - start,
      );
    expect(await q({ actor: u1 })).toEqual([0, 2]);
    expect(await q({ actor: u2 })).toEqual([1, 3]);
    expect(await q({ organizationCode: u1 })).toEqual([1, 2]);
    expect(await q({ organizationCode: u2 })).toEqual([0, 3]);
    expect(await q({ action: d1 })).toEqual([0, 2]);
    expect(await q({ action: d2 })).toEqual([1, 3]);
    expect(await q({ resourceId: d1 })).toEqual([1]);
    expect(await q({ resourceId: d2 })).toEqual([2, 3]);
    expect(await q({ resourceId: u1 })).toEqual([0]);
    expect(await q({ scope: [u1] })).toEqual([1, 2]);
    expect(await q({ scope: [u2, 'ORG-NONE'] })).toEqual([0, 3]);
    expect(await q({ actor: u1, organizationCode: u1 })).toEqual([2]);
    // The archive's look-up by resources (proofs of a document's events).
    const rows = await log.eventsOfResources([d2, 'none'], start - 1, start + 10, 10);
    expect(rows.map((r) => Number(r.leaf_index) - start)).toEqual([2, 3]);
    // Later cases count on the leaves appended in beforeAll only.
    times.push(...Array.from({ length: 4 }, () => Number.NaN));
  });

  it('scopes exactly with large and small organization sets (hashed sub-plan and hashed index)', async () => {
    const [c1, c2] = ['user-255858', 'user-299228']; // equal hashtext (previous case)
    const start = Number((await h.pg.query(`SELECT size FROM tree_state`)).rows[0].size);
    // 1,600 leaves over 1,500 codes and the colliding pair, one with no organization.
    const orgs = Array.from({ length: 1600 }, (_, i) =>
      i % 400 === 7 ? c1 : i % 400 === 9 ? c2 : i === 1234 ? null : `S-${(i * 37) % 1500}`,
    );
    await log.append(orgs.map((o) => auditEvent({ details: { o } }, o)));
    times.push(...orgs.map(() => Number.NaN));
    const read = async (scope: string[], action?: string): Promise<number[]> => {
      const got: number[] = [];
      let cursor: string | undefined = String(start - 1);
      do {
        const page = await events.query({ scope, action }, cursor, 97);
        got.push(...page.items.map((x) => x.leafIndex - start));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return got;
    };
    const want = (scope: string[]) => orgs.flatMap((o, i) => (o !== null && scope.includes(o) ? [i] : []));
    const large = [c1, ...Array.from({ length: 1200 }, (_, i) => `S-${i}`), 'ORG-NONE'];
    expect(large.length).toBeGreaterThan(INDEXED_SCOPE_MAX);
    expect(await read(large)).toEqual(want(large));
    expect(want(large)).toContain(7);
    expect(want(large)).not.toContain(9);
    expect(await read([c2, ...large.slice(1)])).toEqual(want([c2, ...large.slice(1)]));
    expect(await read(large, 'no.such.action')).toEqual([]);
    for (const small of [
      [c2],
      [c1, 'S-74', 'S-0'],
      Array.from({ length: 20 }, (_, i) => `S-${i * 50}`),
      large.slice(0, INDEXED_SCOPE_MAX),
    ])
      expect(await read(small)).toEqual(want(small));
    // The large set is looked up by hash, once per query (not the planner's fallback of a linear rescan).
    const plan = await h.pg.query(
      `EXPLAIN SELECT leaf_index FROM leaves WHERE organization_code IS NOT NULL AND ${hashedSet('organization_code', '$1::text[]')}`,
      [large],
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/hashed SubPlan/);
  });

  it('asks identity for a subtree once per short period, and sees a change after it', async () => {
    const auditor = { sub: 'a1', organizationCode: 'CACHE-1', roles: ['auditor'] } as unknown as Principal;
    h.subtrees.set('CACHE-1', ['CACHE-1-A']);
    expect(await events.scopeOf(auditor)).toEqual(['CACHE-1', 'CACHE-1-A']);
    h.subtrees.set('CACHE-1', ['CACHE-1-A', 'CACHE-1-B']);
    const [x, y] = await Promise.all([events.scopeOf(auditor), events.scopeOf(auditor)]);
    expect(x).toEqual(['CACHE-1', 'CACHE-1-A']);
    expect(y).toBe(x);
    await new Promise((r) => setTimeout(r, SCOPE_TTL_MS + 100));
    expect(await events.scopeOf(auditor)).toEqual(['CACHE-1', 'CACHE-1-A', 'CACHE-1-B']);
    expect(await events.scopeOf({ ...auditor, roles: ['system-admin'] })).toBeNull();
  });

  it('keeps time behind a BRIN index, not a B-tree', async () => {
    const r = await h.pg.query(
      `SELECT c.relname, a.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am a ON a.oid = c.relam
        WHERE i.indrelid = 'leaves'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%(%time%'`,
    );
    expect(r.rows).toEqual([{ relname: 'leaves_time_brin', amname: 'brin' }]);
  });

  it('migrates a log that already has leaves (down to the B-tree and up again), same answers', async () => {
    const m = new AppendCost1766600000000();
    const q = { query: (sql: string) => h.pg.query(sql) } as unknown as Parameters<typeof m.up>[0];
    await m.down(q);
    const before = await Promise.all(
      windows.map(([f, t]) => all(new Date(f).toISOString(), new Date(t).toISOString())),
    );
    await m.up(q);
    const after = await Promise.all(
      windows.map(([f, t]) => all(new Date(f).toISOString(), new Date(t).toISOString())),
    );
    expect(after).toEqual(before);
    expect(after).toEqual(windows.map(([f, t]) => expected(f, t)));
  });

  it.each([false, true])(
    'gives exactly the leaves in the window, in leaf order (summarized: %s)',
    async (sum) => {
      if (sum) await h.pg.query(`SELECT brin_summarize_new_values('leaves_time_brin')`);
      for (const [from, to] of windows) {
        const want = expected(from, to);
        expect(want.length).toBeGreaterThan(0);
        expect(await all(new Date(from).toISOString(), new Date(to).toISOString())).toEqual(want);
      }
    },
  );
});
