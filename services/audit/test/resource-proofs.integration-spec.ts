import { RpcSubjects, type ResourceProofsRequest, type ResourceProofsResponse } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { verifyCheckpointSignature } from '../src/checkpoint/signing';
import { leafBytes } from '../src/log/leaf-bytes';
import { leafHash, verifyInclusion } from '../src/merkle/merkle';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

/** The request/reply documents uses for archive packages, over real NATS to the real service. */
describe('audit.resource-proofs (real PostgreSQL + NATS)', () => {
  const h = new AuditHarness();
  const docA = randomUUID();
  const docB = randomUUID();

  /** A request as Nest's NATS client sends it; the reply is `{response}` or `{err}`. */
  async function rpc(data: unknown): Promise<{ response?: ResourceProofsResponse; err?: { code: string } }> {
    const m = await h.nc.request(
      RpcSubjects.auditResourceProofs,
      JSON.stringify({ pattern: RpcSubjects.auditResourceProofs, data, id: randomUUID() }),
      { timeout: 10_000 },
    );
    return m.json();
  }

  const proofsOf = async (req: ResourceProofsRequest) => {
    const r = await rpc(req);
    if (!r.response) throw new Error(`rpc failed: ${JSON.stringify(r.err)}`);
    return r.response;
  };

  function expectProven(r: ResourceProofsResponse) {
    const key = r.keys.find((k) => k.keyId === r.checkpoint.keyId)!;
    expect(verifyCheckpointSignature(key.publicKey, r.checkpoint)).toBe(true);
    for (const e of r.events) {
      const h0 = leafHash(leafBytes(e.event));
      expect(h0.toString('hex')).toBe(e.leafHash);
      const path = e.auditPath.map((x) => Buffer.from(x, 'hex'));
      expect(
        verifyInclusion(
          e.leafIndex,
          r.checkpoint.treeSize,
          h0,
          path,
          Buffer.from(r.checkpoint.rootHash, 'hex'),
        ),
      ).toBe(true);
    }
  }

  beforeAll(async () => {
    await h.start();
    // 230 events of document A (more than one page), 20 of B, 30 of other resources, interleaved.
    for (let i = 0; i < 280; i++) {
      const id = i % 14 === 0 ? docB : i % 10 === 3 ? randomUUID() : docA;
      await h.publish(auditEvent({ resource: { type: 'document', id }, action: 'document.status.changed' }));
    }
    await eventually(async () => (await h.count()) >= 280, 30_000);
  });
  afterAll(() => h.stop());

  it('signs a checkpoint of the current head and proves every event of the resources against it, in pages', async () => {
    const first = await proofsOf({ resourceIds: [docA] });
    expect(first.checkpoint.treeSize).toBeGreaterThanOrEqual(280);
    expect(first.events).toHaveLength(200);
    expect(first.nextAfterIndex).toBe(first.events[199].leafIndex);
    expectProven(first);
    const rest = await proofsOf({
      resourceIds: [docA],
      treeSize: first.checkpoint.treeSize,
      afterIndex: first.nextAfterIndex!,
    });
    expect(rest.checkpoint).toEqual(first.checkpoint);
    expect(rest.nextAfterIndex).toBeNull();
    expectProven(rest);
    const all = [...first.events, ...rest.events];
    const count = await h.pg.query(`SELECT count(*)::int AS n FROM leaves WHERE resource_id = $1`, [docA]);
    expect(all).toHaveLength(count.rows[0].n);
    expect(all.every((e) => (e.event.resource as { id: string }).id === docA)).toBe(true);
    const indices = all.map((e) => e.leafIndex);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));

    const both = await proofsOf({
      resourceIds: [docA, docB],
      treeSize: first.checkpoint.treeSize,
      limit: 200,
    });
    expect(both.events.some((e) => (e.event.resource as { id: string }).id === docB)).toBe(true);
  });

  it('proves against an earlier checkpoint when its size is given, leaving out later events', async () => {
    const { rows } = await h.pg.query(
      `SELECT tree_size FROM checkpoints WHERE tree_size > 0 ORDER BY id LIMIT 1`,
    );
    const earlier = Number(rows[0].tree_size);
    const r = await proofsOf({ resourceIds: [docA, docB], treeSize: earlier, limit: 200 });
    expect(r.checkpoint.treeSize).toBe(earlier);
    expect(r.events.every((e) => e.leafIndex < earlier)).toBe(true);
    expectProven(r);
  });

  it('answers a code for a checkpoint that does not exist and for a malformed request', async () => {
    expect((await rpc({ resourceIds: [docA], treeSize: 987_654 })).err).toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
    });
    expect((await rpc({ resourceIds: [] })).err).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await rpc({ resourceIds: [docA], limit: 5000 })).err).toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
