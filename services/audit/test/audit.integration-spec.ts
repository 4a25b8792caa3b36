import { Subjects } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointService } from '../src/checkpoint/checkpoint.service';
import { keyIdOf, verifyCheckpointSignature } from '../src/checkpoint/signing';
import { runVerify } from '../src/cli/verify';
import { leafBytes } from '../src/log/leaf-bytes';
import { leafHash, rootOf, verifyConsistency, verifyInclusion } from '../src/merkle/merkle';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

describe('audit log (real PostgreSQL + NATS)', () => {
  const h = new AuditHarness();
  let admin: string;

  beforeAll(async () => {
    await h.start();
    admin = await h.token('ROOT', ['system-admin']);
  });
  afterAll(() => h.stop());

  it('turns published audit events into consecutive leaves with the documented item shape', async () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      auditEvent({ action: i % 2 ? 'document.read' : 'document.sent' }),
    );
    for (const e of events) await h.publish(e);
    await eventually(async () => (await h.count()) >= 30, 20_000);
    const res = await h.http
      .get('/api/v1/audit/events?limit=500')
      .set('Authorization', `Bearer ${admin}`)
      .expect(200);
    const byId = new Map(res.body.items.map((i: { id: string }) => [i.id, i]));
    const e0 = events[0];
    const item = byId.get(e0.id) as Record<string, unknown>;
    expect(Object.keys(item).sort()).toEqual(
      [
        'action',
        'actor',
        'details',
        'id',
        'leafHash',
        'leafIndex',
        'outcome',
        'resource',
        'service',
        'time',
      ].sort(),
    );
    expect(item.actor).toEqual(e0.actor);
    expect(item.leafHash).toBe(leafHash(leafBytes(e0)).toString('hex'));
    const rows = await h.pg.query(`SELECT leaf_index FROM leaves ORDER BY leaf_index`);
    expect(rows.rows.map((r) => Number(r.leaf_index))).toEqual(rows.rows.map((_, i) => i));
  });

  it('filters and pages by cursor', async () => {
    const actor = 'actor-filter-1';
    for (let i = 0; i < 7; i++)
      await h.publish(auditEvent({ actor: { sub: actor, organizationCode: 'ORG-A', type: 'user' } }));
    await eventually(
      async () => (await h.pg.query(`SELECT 1 FROM leaves WHERE actor_sub = $1`, [actor])).rowCount === 7,
      20_000,
    );
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: {
        body: { items: { leafIndex: number; actor: { sub: string } }[]; nextCursor: string | null };
      } = await h.http
        .get(`/api/v1/audit/events?actor=${actor}&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', `Bearer ${admin}`)
        .expect(200);
      for (const it of res.body.items) {
        expect(it.actor.sub).toBe(actor);
        seen.push(it.leafIndex);
      }
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    await h.http.get('/api/v1/audit/events?cursor=abc').set('Authorization', `Bearer ${admin}`).expect(400);
    await h.http
      .get('/api/v1/audit/events?from=yesterday')
      .set('Authorization', `Bearer ${admin}`)
      .expect(400);
  });

  it('stores a redelivered event once, whatever the message id', async () => {
    const e = auditEvent();
    const before = await h.count();
    await h.publish(e);
    await h.publish(e); // a new message id: JetStream does not deduplicate it, the log must
    await h.publish(auditEvent());
    await eventually(async () => (await h.count()) === before + 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.count()).toBe(before + 2);
    const dup = await h.pg.query(`SELECT count(*)::int AS n FROM leaves WHERE event_id = $1`, [e.id]);
    expect(dup.rows[0].n).toBe(1);
  });

  it('dead-letters an invalid payload and keeps going', async () => {
    const dead = h.nc.subscribe(Subjects.deadLetter(h.streamName(), 'audit-log'), { max: 1 });
    const got = (async () => {
      for await (const m of dead) return m.string();
      return null;
    })();
    const before = await h.count();
    await h.publish({ id: 'not-a-uuid', action: 'x' });
    const good = auditEvent();
    await h.publish(good);
    expect(await got).toContain('not-a-uuid');
    await eventually(
      async () => (await h.pg.query(`SELECT 1 FROM leaves WHERE event_id = $1`, [good.id])).rowCount === 1,
      20_000,
    );
    expect(await h.count()).toBe(before + 1);
  });

  it('appends each event of a batch message as its own leaf, once, even when the message is redelivered', async () => {
    const before = await h.count();
    const events = [auditEvent(), auditEvent({ action: 'document.sent' }), auditEvent()];
    const msgId = randomUUID();
    await h.publishBatch(events, msgId);
    await eventually(async () => (await h.count()) === before + 3, 20_000);
    // The same events again in another message (a redelivery after a lost ack looks like this).
    await h.publishBatch(events);
    await h.publish(auditEvent());
    await eventually(async () => (await h.count()) === before + 4, 20_000);
    const rows = await h.pg.query(
      `SELECT event_id, leaf_hash, event FROM leaves WHERE event_id = ANY($1::uuid[]) ORDER BY leaf_index`,
      [events.map((e) => e.id)],
    );
    expect(rows.rows.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
    expect(rows.rows[1].event.action).toBe('document.sent');
    rows.rows.forEach((r) => expect(r.leaf_hash.equals(leafHash(leafBytes(r.event)))).toBe(true));
  });

  it('dead-letters only the malformed event of a batch message and appends the others', async () => {
    const dead = h.nc.subscribe(Subjects.deadLetter(h.streamName(), 'audit-log'), { max: 1 });
    const got = (async () => {
      for await (const m of dead) return m.json<{ type: string; data: { id: string } }>();
      return null;
    })();
    const before = await h.count();
    const good = [auditEvent(), auditEvent()];
    await h.publishBatch([good[0], { id: 'batch-not-a-uuid', action: 'x' }, good[1]]);
    const letter = await got;
    expect(letter?.type).toBe('audit.recorded');
    expect(letter?.data.id).toBe('batch-not-a-uuid');
    await eventually(async () => (await h.count()) === before + 2, 20_000);
    const rows = await h.pg.query(`SELECT 1 FROM leaves WHERE event_id = ANY($1::uuid[])`, [
      good.map((e) => e.id),
    ]);
    expect(rows.rowCount).toBe(2);
  });

  it('keeps an event whose fields exceed their columns, cut with a marker, instead of dead-lettering it', async () => {
    const e = auditEvent({
      resource: { type: 'edxml', id: `000.00.00.H01,2026/11/20,1/${'X'.repeat(400)}` },
    });
    e.actor.organizationCode = '0'.repeat(60);
    await h.publish(e);
    const row = await eventually(async () => {
      const r = await h.pg.query(
        `SELECT leaf_hash, event, resource_id, organization_code FROM leaves WHERE event_id = $1`,
        [e.id],
      );
      return r.rowCount === 1 ? r.rows[0] : undefined;
    }, 20_000);
    expect([...row.resource_id].length).toBe(200);
    expect(row.resource_id.endsWith('…[truncated]')).toBe(true);
    expect(row.organization_code).toBe(`${'0'.repeat(23)}…[truncated]`);
    expect(row.event.details).toMatchObject({
      note: 'tiếng Việt ✓',
      truncated: ['actor.organizationCode', 'resource.id'],
    });
    // What is hashed is what is stored: the verifier recomputes the same leaf.
    expect(row.leaf_hash.equals(leafHash(leafBytes(row.event)))).toBe(true);
  });

  it('two replicas appending concurrently keep leafIndex gap-free and duplicate-free, and the root right', async () => {
    await h.addInstance();
    const before = await h.count();
    const events = Array.from({ length: 600 }, () => auditEvent());
    await Promise.all(events.map((e) => h.publish(e)));
    // Redeliver a slice as well while both replicas consume.
    await Promise.all(events.slice(0, 50).map((e) => h.publish(e)));
    await eventually(async () => (await h.count()) === before + 600, 60_000, 200);
    const rows = await h.pg.query(`SELECT leaf_index, leaf_hash, event FROM leaves ORDER BY leaf_index`);
    expect(rows.rows.map((r) => Number(r.leaf_index))).toEqual(rows.rows.map((_, i) => i));
    expect(new Set(rows.rows.map((r) => r.event.id)).size).toBe(rows.rowCount);
    const hashes = rows.rows.map((r) => leafHash(leafBytes(r.event)));
    rows.rows.forEach((r, i) => expect(r.leaf_hash.equals(hashes[i])).toBe(true));
    const state = await h.pg.query(`SELECT size, root FROM tree_state`);
    expect(Number(state.rows[0].size)).toBe(rows.rowCount);
    expect(state.rows[0].root.toString('hex')).toBe(rootOf(hashes).toString('hex'));
  });

  it('serves inclusion and consistency proofs that verify, and signed checkpoints', async () => {
    const auth = { Authorization: `Bearer ${admin}` };
    const cp = (await h.http.get('/api/v1/audit/checkpoint').set(auth).expect(200)).body;
    expect(Object.keys(cp).sort()).toEqual([
      'keyId',
      'origin',
      'rootHash',
      'signature',
      'timestamp',
      'treeSize',
    ]);
    expect(cp.origin).toBe('lienthong/central');
    const keys = (await h.http.get('/api/v1/audit/keys').set(auth).expect(200)).body.keys as {
      keyId: string;
      publicKey: string;
    }[];
    const key = keys.find((k) => k.keyId === cp.keyId)!;
    expect(key.publicKey).toContain('BEGIN PUBLIC KEY');
    const der = createPublicKey(key.publicKey).export({ type: 'spki', format: 'der' });
    expect(createHash('sha256').update(der).digest().subarray(0, 8).toString('hex')).toBe(cp.keyId);
    expect(verifyCheckpointSignature(key.publicKey, cp)).toBe(true);
    expect(verifyCheckpointSignature(key.publicKey, { ...cp, treeSize: cp.treeSize + 1 })).toBe(false);

    const root = Buffer.from(cp.rootHash, 'hex');
    for (const i of [0, 1, Math.floor(cp.treeSize / 2), cp.treeSize - 1]) {
      const p = (
        await h.http
          .get(`/api/v1/audit/proofs/inclusion?leafIndex=${i}&treeSize=${cp.treeSize}`)
          .set(auth)
          .expect(200)
      ).body;
      expect(Object.keys(p).sort()).toEqual(['auditPath', 'leafHash', 'leafIndex', 'treeSize']);
      expect(
        verifyInclusion(
          i,
          cp.treeSize,
          Buffer.from(p.leafHash, 'hex'),
          p.auditPath.map((x: string) => Buffer.from(x, 'hex')),
          root,
        ),
      ).toBe(true);
    }
    const all = (await h.http.get('/api/v1/audit/checkpoints').set(auth).expect(200)).body.items as {
      treeSize: number;
      rootHash: string;
    }[];
    expect(all.length).toBeGreaterThan(1);
    const [a, b] = [all[0], all[all.length - 1]].sort((x, y) => x.treeSize - y.treeSize);
    if (a.treeSize > 0) {
      const c = (
        await h.http
          .get(`/api/v1/audit/proofs/consistency?first=${a.treeSize}&second=${b.treeSize}`)
          .set(auth)
          .expect(200)
      ).body;
      expect(Object.keys(c).sort()).toEqual(['first', 'proof', 'second']);
      const ok = verifyConsistency(
        a.treeSize,
        b.treeSize,
        Buffer.from(a.rootHash, 'hex'),
        Buffer.from(b.rootHash, 'hex'),
        c.proof.map((x: string) => Buffer.from(x, 'hex')),
      );
      expect(ok).toBe(true);
    }
    await h.http
      .get(`/api/v1/audit/proofs/inclusion?leafIndex=0&treeSize=${cp.treeSize + 1_000_000}`)
      .set(auth)
      .expect(400);
    await h.http.get(`/api/v1/audit/proofs/inclusion?leafIndex=5&treeSize=5`).set(auth).expect(400);
    await h.http.get(`/api/v1/audit/proofs/consistency?first=10&second=5`).set(auth).expect(400);
    await h.http.get(`/api/v1/audit/proofs/consistency?first=0&second=5`).set(auth).expect(400);
  });

  it('scopes auditors to their subtree and refuses other roles', async () => {
    h.subtrees.set('PROV-1', ['PROV-1-DIST']);
    const mine = auditEvent({}, 'PROV-1-DIST');
    const other = auditEvent({}, 'PROV-2');
    await h.publish(mine);
    await h.publish(other);
    await eventually(
      async () =>
        (await h.pg.query(`SELECT 1 FROM leaves WHERE event_id = ANY($1::uuid[])`, [[mine.id, other.id]]))
          .rowCount === 2,
      20_000,
    );
    const auditor = await h.token('PROV-1', ['auditor']);
    const res = await h.http
      .get('/api/v1/audit/events?limit=500')
      .set('Authorization', `Bearer ${auditor}`)
      .expect(200);
    const ids = res.body.items.map((i: { id: string }) => i.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(other.id);
    expect(
      res.body.items.every((i: { actor: { organizationCode: string } }) =>
        ['PROV-1', 'PROV-1-DIST'].includes(i.actor.organizationCode),
      ),
    ).toBe(true);
    const filtered = await h.http
      .get('/api/v1/audit/events?organizationCode=PROV-2')
      .set('Authorization', `Bearer ${auditor}`)
      .expect(200);
    expect(filtered.body.items).toEqual([]);
    const exp = await h.http
      .get('/api/v1/audit/export')
      .set('Authorization', `Bearer ${auditor}`)
      .expect(200);
    const lines = exp.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event.id)).toEqual([mine.id]);

    await h.http.get('/api/v1/audit/events').expect(401);
    await h.http
      .get('/api/v1/audit/checkpoint')
      .set('Authorization', `Bearer ${await h.token('PROV-1', ['clerk'])}`)
      .expect(403);
    await h.http
      .get('/api/v1/audit/export')
      .set('Authorization', `Bearer ${await h.token('PROV-1', ['org-admin'])}`)
      .expect(403);
  });

  it('refuses UPDATE and DELETE on the log in normal sessions', async () => {
    await expect(h.pg.query(`UPDATE leaves SET action = 'x' WHERE leaf_index = 0`)).rejects.toThrow(
      /append-only/,
    );
    await expect(h.pg.query(`DELETE FROM leaves WHERE leaf_index = 0`)).rejects.toThrow(/append-only/);
    await expect(h.pg.query(`DELETE FROM nodes`)).rejects.toThrow(/append-only/);
    await expect(h.pg.query(`UPDATE checkpoints SET signature = 'x'`)).rejects.toThrow(/append-only/);
    await expect(h.pg.query(`TRUNCATE leaves`)).rejects.toThrow(/append-only/);
  });

  it('a configured signing key takes over and earlier keys stay listed', async () => {
    const auth = { Authorization: `Bearer ${admin}` };
    const oldKeys = (await h.http.get('/api/v1/audit/keys').set(auth).expect(200)).body.keys as {
      keyId: string;
    }[];
    const { privateKey } = generateKeyPairSync('ed25519');
    const newKeyId = keyIdOf(createPublicKey(privateKey));
    const rotated = await h.addInstance({
      AUDIT_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const cp = await eventually(async () => {
      const before = await h.count();
      await h.publish(auditEvent());
      await eventually(async () => (await h.count()) > before, 20_000);
      const c = await rotated.get(CheckpointService).sign();
      return c.keyId === newKeyId ? c : null; // another replica may have signed that size first
    }, 30_000);
    const keys = (await h.http.get('/api/v1/audit/keys').set(auth).expect(200)).body.keys as {
      keyId: string;
      publicKey: string;
    }[];
    expect(keys.map((k) => k.keyId)).toEqual(
      expect.arrayContaining([...oldKeys.map((k) => k.keyId), newKeyId]),
    );
    expect(verifyCheckpointSignature(keys.find((k) => k.keyId === newKeyId)!.publicKey, cp!)).toBe(true);
    await expect(createAuditAppWithBadKey(h)).rejects.toThrow(/Ed25519/);
  });

  describe('tamper evidence through the verifier CLI', () => {
    const quiet = () => undefined;
    let url: string;
    const verify = () => runVerify(['--url', url, '--token', admin], quiet);

    beforeAll(async () => {
      url = await h.url();
      // A checkpoint covering everything, so every leaf is under a signed root.
      await eventually(async () => {
        const cp = (await h.http.get('/api/v1/audit/checkpoint').set('Authorization', `Bearer ${admin}`))
          .body;
        return cp.treeSize === (await h.count());
      }, 10_000);
    });

    it('an untouched log verifies', async () => {
      const r = await verify();
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.entries).toBe(await h.count());
    });

    it('verifies an export file with its checkpoints and keys (--file mode)', async () => {
      const auth = { Authorization: `Bearer ${admin}` };
      const dir = mkdtempSync(join(tmpdir(), 'lt-audit-'));
      // Checkpoints and keys first, then the export, so the file covers every checkpoint (a checkpoint
      // signed after the export covers entries the file lacks, which the verifier must report: a truncated
      // file looks the same).
      writeFileSync(
        join(dir, 'checkpoints.json'),
        JSON.stringify((await h.http.get('/api/v1/audit/checkpoints').set(auth)).body),
      );
      writeFileSync(
        join(dir, 'keys.json'),
        JSON.stringify((await h.http.get('/api/v1/audit/keys').set(auth)).body),
      );
      const exp = await h.http.get('/api/v1/audit/export').set(auth).expect(200);
      expect(exp.headers['content-type']).toMatch(/application\/x-ndjson/);
      writeFileSync(join(dir, 'export.ndjson'), exp.text);
      const args = [
        '--file',
        join(dir, 'export.ndjson'),
        '--checkpoints',
        join(dir, 'checkpoints.json'),
        '--keys',
        join(dir, 'keys.json'),
      ];
      expect((await runVerify(args, quiet)).ok).toBe(true);
      // One altered byte in the file: the verifier names that leaf.
      const lines = exp.text.trim().split('\n');
      const third = JSON.parse(lines[2]);
      third.event.actor.sub = 'someone-else';
      lines[2] = JSON.stringify(third);
      writeFileSync(join(dir, 'export.ndjson'), lines.join('\n') + '\n');
      const r = await runVerify(args, quiet);
      expect(r.ok).toBe(false);
      expect(r.firstBadLeaf).toBe(2);
      rmSync(dir, { recursive: true, force: true });
    });

    it('names a leaf whose stored event was altered by a superuser', async () => {
      await h.pg.query(`SET session_replication_role = replica`);
      const before = await h.pg.query(`SELECT event FROM leaves WHERE leaf_index = 7`);
      await h.pg.query(
        `UPDATE leaves SET event = jsonb_set(event, '{outcome}', '"failure"') WHERE leaf_index = 7`,
      );
      await h.pg.query(`SET session_replication_role = DEFAULT`);
      const r = await verify();
      expect(r.ok).toBe(false);
      expect(r.firstBadLeaf).toBe(7);
      expect(r.problems.join('\n')).toMatch(/leaf 7: event does not match/);
      expect(r.problems.join('\n')).toMatch(/checkpoint at size \d+: root .* differs/);
      // Put it back for the next case.
      await h.pg.query(`SET session_replication_role = replica`);
      await h.pg.query(`UPDATE leaves SET event = $1 WHERE leaf_index = 7`, [before.rows[0].event]);
      await h.pg.query(`SET session_replication_role = DEFAULT`);
      expect((await verify()).ok).toBe(true);
    });

    it('reports a deleted row', async () => {
      await h.pg.query(`SET session_replication_role = replica`);
      await h.pg.query(`CREATE TEMP TABLE saved AS SELECT * FROM leaves WHERE leaf_index = 12`);
      await h.pg.query(`DELETE FROM leaves WHERE leaf_index = 12`);
      await h.pg.query(`SET session_replication_role = DEFAULT`);
      const r = await verify();
      expect(r.ok).toBe(false);
      expect(r.firstBadLeaf).toBe(12);
      expect(r.problems[0]).toMatch(/leaf 12: missing/);
      await h.pg.query(`INSERT INTO leaves SELECT * FROM saved`);
      expect((await verify()).ok).toBe(true);
    });

    it('reports a forged checkpoint signature', async () => {
      await h.pg.query(`SET session_replication_role = replica`);
      const [row] = (await h.pg.query(`SELECT id, signature FROM checkpoints ORDER BY id DESC LIMIT 1`)).rows;
      const sig = Buffer.from(row.signature, 'base64');
      sig[0] ^= 0xff;
      await h.pg.query(`UPDATE checkpoints SET signature = $1 WHERE id = $2`, [
        sig.toString('base64'),
        row.id,
      ]);
      await h.pg.query(`SET session_replication_role = DEFAULT`);
      const r = await verify();
      expect(r.ok).toBe(false);
      expect(r.firstBadLeaf).toBeNull();
      expect(r.problems.join('\n')).toMatch(/signature does not verify/);
    });
  });
});

async function createAuditAppWithBadKey(h: AuditHarness) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return h.addInstance({ AUDIT_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
}
