import type { INestApplication } from '@nestjs/common';
import type * as Contracts from '@lienthong/contracts';
import {
  type EventEnvelope,
  type SignedCheckpointMessage,
  Subjects,
  type WitnessSubmittedEvent,
} from '@lienthong/contracts';
import { dropSchema, eventually, testServiceEnv } from '@lienthong/testing';
import type { Subscription } from '@nats-io/transport-node';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import request from 'supertest';
import type * as AuditApp from '../src/audit.app';
import { CheckpointService } from '../src/checkpoint/checkpoint.service';
import { rawPublicKeyBase64, signCheckpoint, verifyCheckpointSignature } from '../src/checkpoint/signing';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(180_000);

/**
 * The central node's audit service is a second platform: it is loaded and booted in a module registry of its
 * own with another NATS namespace (what `LT_NAMESPACE` is read as at load time), so its subjects, streams and
 * durable consumers are its own, as on a real central node with its own NATS. The app is created inside the
 * isolated registry too, so the libraries it loads while booting (class-transformer for the validation pipe)
 * are the copies its decorators registered with. The test plays the two buses.
 */
async function startCentral(
  namespace: string,
  env: Record<string, string | undefined>,
): Promise<{ app: INestApplication; Subjects: typeof Contracts.Subjects }> {
  let out!: { app: INestApplication; Subjects: typeof Contracts.Subjects };
  await jest.isolateModulesAsync(async () => {
    const before = process.env.LT_NAMESPACE;
    process.env.LT_NAMESPACE = namespace;
    let app: typeof AuditApp;
    let contracts: typeof Contracts;
    try {
      /* eslint-disable @typescript-eslint/no-require-imports */
      app = require('../src/audit.app') as typeof AuditApp;
      contracts = require('@lienthong/contracts') as typeof Contracts;
      /* eslint-enable @typescript-eslint/no-require-imports */
    } finally {
      process.env.LT_NAMESPACE = before;
    }
    out = { app: await app.createAuditApp(env), Subjects: contracts.Subjects };
  });
  return out;
}

const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  k.export({ type: 'pkcs8', format: 'pem' }).toString();

interface Cosignature {
  witness: string;
  treeSize: number;
  rootHash: string;
  matchesCheckpoint: boolean;
  verdict: string;
  reason: string | null;
  cosignature: string | null;
  witnessKeyId: string | null;
  verified: boolean | null;
}

describe('audit checkpoint witness across two nodes (real PostgreSQL + NATS)', () => {
  const province = new AuditHarness();
  const provinceKey = generateKeyPairSync('ed25519');
  const witnessKey = generateKeyPairSync('ed25519');
  let central: { Subjects: typeof Contracts.Subjects };
  let centralApp: INestApplication;
  let centralEnv: Record<string, string | undefined>;
  let admin: string;
  const subs: Subscription[] = [];
  /** Every witness message the province published, in order (what its bus saw). */
  const signed: EventEnvelope<SignedCheckpointMessage>[] = [];
  /** Checkpoint sizes the province's bus "loses" on the way. */
  const lost = new Set<number>();

  beforeAll(async () => {
    await province.start({
      NODE_ID: 'hanoi',
      JWT_ISSUER: 'lienthong/central',
      AUDIT_SIGNING_KEY: pem(provinceKey.privateKey),
      AUDIT_WITNESS_ENABLED: 'false',
      // Checkpoints only where the test signs them, so their sizes are known.
      AUDIT_CHECKPOINT_EVERY: '1000000',
      AUDIT_CHECKPOINT_INTERVAL_MS: '86400000',
      AUDIT_WITNESS_PUBLIC_KEYS: `lienthong-central=${rawPublicKeyBase64(witnessKey.publicKey)}`,
    });
    admin = await province.token('ROOT', ['system-admin']);
    centralEnv = await testServiceEnv('audit_central', {
      JWKS_URL: province.tokens.jwksUrl,
      NODE_ID: 'central',
      AUDIT_SIGNING_KEY: pem(witnessKey.privateKey),
      AUDIT_WITNESS_NAME: 'lienthong-central',
      AUDIT_CHECKPOINT_INTERVAL_MS: '500',
    });
    const started = await startCentral(`${process.env.LT_NAMESPACE}c`.slice(0, 32), centralEnv);
    centralApp = started.app;
    central = started;

    // The buses: the province's checkpoints go to the central node as witness.submitted with the node id its
    // certificate authenticates; the central's answers come back on the province's witness.cosigned.
    const out = province.nc.subscribe(Subjects.witnessCheckpointSigned());
    const back = province.nc.subscribe(central.Subjects.witnessCosigned());
    subs.push(out, back);
    void (async () => {
      for await (const m of out) {
        const env = m.json<EventEnvelope<SignedCheckpointMessage>>();
        signed.push(env);
        if (!lost.has(env.data.checkpoint.treeSize)) await submit({ ...env.data, nodeId: 'hanoi' });
      }
    })();
    void (async () => {
      for await (const m of back)
        await province.js.publish(Subjects.witnessCosigned(), m.data, {
          msgID: m.headers?.get('Nats-Msg-Id'),
        });
    })();
  });

  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await centralApp?.close();
    await province.stop();
    if (centralEnv) await dropSchema(centralEnv.DATABASE_URL!, centralEnv.DB_SCHEMA!);
  });

  /** What the province's bus hands to the central node's bus, which gives it to the witness. */
  async function submit(data: WitnessSubmittedEvent, id: string = randomUUID()): Promise<void> {
    const env: EventEnvelope<WitnessSubmittedEvent> = {
      id,
      type: 'witness.submitted',
      occurredAt: new Date().toISOString(),
      source: 'integration-bus@central',
      data,
    };
    await province.js.publish(central.Subjects.witnessSubmitted(), JSON.stringify(env), { msgID: id });
  }

  const centralHttp = () => request(centralApp.getHttpServer());
  const auth = () => ({ Authorization: `Bearer ${admin}` });
  const cosignatures = async (treeSize?: number): Promise<Cosignature[]> =>
    (
      await province.http
        .get(`/api/v1/audit/checkpoint/cosignatures${treeSize === undefined ? '' : `?treeSize=${treeSize}`}`)
        .set(auth())
        .expect(200)
    ).body.items;
  /** Grows the province's log to `size` and signs a checkpoint there (as its timer would). */
  const checkpointAt = async (size: number) => {
    for (let i = await province.count(); i < size; i++) await province.publish(auditEvent());
    await eventually(async () => (await province.count()) === size, 30_000);
    await province.app.get(CheckpointService).sign();
  };

  it('publishes every signed checkpoint with its key and a consistency proof, and the cosignatures land at the province', async () => {
    await checkpointAt(12);
    await eventually(async () => (await cosignatures()).some((c) => c.treeSize === 12), 30_000);
    await checkpointAt(21);
    await eventually(async () => (await cosignatures()).some((c) => c.treeSize === 21), 30_000);

    const first = signed.find((e) => e.data.checkpoint.treeSize === 12)!;
    const second = signed.find((e) => e.data.checkpoint.treeSize === 21)!;
    expect(first.type).toBe('witness.checkpoint-signed');
    expect(first.data.publicKey).toBe(rawPublicKeyBase64(provinceKey.publicKey));
    expect(first.data.checkpoint.origin).toBe('lienthong/hanoi');
    expect(second.data.previous).toEqual({ treeSize: 12, rootHash: first.data.checkpoint.rootHash });
    expect(second.data.consistency.length).toBeGreaterThan(0);
    // The proof is the API's.
    const api = await province.http
      .get('/api/v1/audit/proofs/consistency?first=12&second=21')
      .set(auth())
      .expect(200);
    expect(second.data.consistency).toEqual(api.body.proof);

    const own = (await province.http.get('/api/v1/audit/checkpoints').set(auth()).expect(200)).body.items as {
      treeSize: number;
      rootHash: string;
    }[];
    const got = await cosignatures();
    for (const cp of own.filter((c) => c.treeSize > 0)) {
      const c = got.find((x) => x.treeSize === cp.treeSize)!;
      expect(c).toMatchObject({
        witness: 'lienthong-central',
        rootHash: cp.rootHash,
        verdict: 'cosigned',
        verified: true,
        matchesCheckpoint: true,
      });
      // Anyone holding the central key can check it: the same text as the node's checkpoint.
      const centralKeys = (await centralHttp().get('/api/v1/audit/keys').set(auth()).expect(200)).body
        .keys as { keyId: string; publicKey: string }[];
      const witnessPem = centralKeys.find((k) => k.keyId === c.witnessKeyId)!.publicKey;
      expect(
        verifyCheckpointSignature(witnessPem, {
          origin: 'lienthong/hanoi',
          treeSize: c.treeSize,
          rootHash: c.rootHash,
          signature: c.cosignature!,
        }),
      ).toBe(true);
    }

    const nodes = (await centralHttp().get('/api/v1/audit/witness/nodes').set(auth()).expect(200)).body.items;
    expect(nodes).toEqual([
      expect.objectContaining({
        nodeId: 'hanoi',
        origin: 'lienthong/hanoi',
        lastWitnessed: expect.objectContaining({ treeSize: 21 }),
        refused: 0,
        lastVerdict: expect.objectContaining({ verdict: 'cosigned', reason: null }),
      }),
    ]);
    // Operators read the node summary (the console's federation page); a clerk does not.
    const operator = await province.token('ROOT', ['operator']);
    await centralHttp()
      .get('/api/v1/audit/witness/nodes')
      .set({ Authorization: `Bearer ${operator}` })
      .expect(200);
    await centralHttp()
      .get('/api/v1/audit/witness/nodes')
      .set({ Authorization: `Bearer ${await province.token('ROOT', ['clerk'])}` })
      .expect(403);
    const page1 = (
      await centralHttp().get('/api/v1/audit/witness/nodes/hanoi/checkpoints?limit=1').set(auth()).expect(200)
    ).body;
    expect(page1.items).toHaveLength(1);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = (
      await centralHttp()
        .get(`/api/v1/audit/witness/nodes/hanoi/checkpoints?limit=10&cursor=${page1.nextCursor}`)
        .set(auth())
        .expect(200)
    ).body;
    expect(
      [...page1.items, ...page2.items].map(
        (i: { checkpoint: { treeSize: number } }) => i.checkpoint.treeSize,
      ),
    ).toEqual([12, 21]);
  });

  it('answers a redelivered head the same way without a second row', async () => {
    const last = signed.find((e) => e.data.checkpoint.treeSize === 21)!;
    await submit({ ...last.data, nodeId: 'hanoi' });
    await submit({ ...last.data, nodeId: 'hanoi' });
    // A marker after them: once it is answered, the two above were handled (one consumer, in order).
    await checkpointAt(25);
    await eventually(async () => (await cosignatures()).some((c) => c.treeSize === 25), 30_000);
    const rows = (
      await centralHttp()
        .get('/api/v1/audit/witness/nodes/hanoi/checkpoints?limit=100')
        .set(auth())
        .expect(200)
    ).body.items as {
      checkpoint: { treeSize: number };
    }[];
    expect(rows.filter((r) => r.checkpoint.treeSize === 21)).toHaveLength(1);
  });

  it('refuses and audits a tampered submission: a rewritten root at a witnessed size, and a forged signature', async () => {
    const last = signed.find((e) => e.data.checkpoint.treeSize === 25)!.data;
    const rewrittenRoot = 'ee'.repeat(32);
    // Signed with the province's real key: only the witness's memory of the old root can catch it.
    const rewritten: WitnessSubmittedEvent = {
      ...last,
      nodeId: 'hanoi',
      checkpoint: {
        ...last.checkpoint,
        rootHash: rewrittenRoot,
        signature: signCheckpoint(
          provinceKey.privateKey,
          'lienthong/hanoi',
          25,
          Buffer.from(rewrittenRoot, 'hex'),
        ),
      },
    };
    await submit(rewritten);
    const forgedRoot = 'dd'.repeat(32);
    await submit({
      ...last,
      nodeId: 'hanoi',
      checkpoint: { ...last.checkpoint, treeSize: 26, rootHash: forgedRoot },
    });

    await eventually(async () => {
      const nodes = (await centralHttp().get('/api/v1/audit/witness/nodes').set(auth()).expect(200)).body
        .items;
      return nodes[0]?.refused === 2;
    }, 30_000);
    const [summary] = (await centralHttp().get('/api/v1/audit/witness/nodes').set(auth()).expect(200)).body
      .items;
    expect(summary.lastVerdict).toMatchObject({ verdict: 'refused' });
    expect(['INCONSISTENT', 'BAD_SIGNATURE']).toContain(summary.lastVerdict.reason);
    const rows = (
      await centralHttp()
        .get('/api/v1/audit/witness/nodes/hanoi/checkpoints?limit=100')
        .set(auth())
        .expect(200)
    ).body.items as {
      checkpoint: { treeSize: number; rootHash: string };
      verdict: string;
      reason: string;
      cosignature: string | null;
    }[];
    expect(rows.find((r) => r.checkpoint.rootHash === rewrittenRoot)).toMatchObject({
      verdict: 'refused',
      reason: 'INCONSISTENT',
      cosignature: null,
    });
    expect(rows.find((r) => r.checkpoint.rootHash === forgedRoot)).toMatchObject({
      verdict: 'refused',
      reason: 'BAD_SIGNATURE',
      cosignature: null,
    });
    // The witnessed head did not move.
    const nodes = (await centralHttp().get('/api/v1/audit/witness/nodes').set(auth()).expect(200)).body.items;
    expect(nodes[0]).toMatchObject({ lastWitnessed: { treeSize: 25 }, inconsistent: 1 });
    // …and on the witness's /metrics, which the INCONSISTENT alert reads.
    const metrics = (await centralHttp().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/audit_witness_inconsistent_checkpoints\{[^}]*node="hanoi"[^}]*\} 1\n/);
    expect(metrics).toMatch(/audit_witness_checkpoints\{[^}]*node="hanoi"[^}]*verdict="refused"[^}]*\} 2\n/);

    // Audited in the central node's own log.
    await eventually(async () => {
      const res = await centralHttp()
        .get('/api/v1/audit/events?action=audit.checkpoint.witness-refused')
        .set(auth())
        .expect(200);
      return res.body.items.length === 2;
    }, 30_000);
    const audited = (
      await centralHttp()
        .get('/api/v1/audit/events?action=audit.checkpoint.witness-refused')
        .set(auth())
        .expect(200)
    ).body.items;
    expect(audited.map((i: { resource: { id: string } }) => i.resource.id).sort()).toEqual([
      'hanoi/25',
      'hanoi/26',
    ]);
    expect(audited.map((i: { details: { reason: string } }) => i.details.reason).sort()).toEqual([
      'BAD_SIGNATURE',
      'INCONSISTENT',
    ]);
    expect(audited[0]).toMatchObject({ service: 'audit', outcome: 'failure', actor: { type: 'system' } });
    const witnessed = await centralHttp()
      .get('/api/v1/audit/events?action=audit.checkpoint.witnessed')
      .set(auth())
      .expect(200);
    expect(witnessed.body.items.map((i: { resource: { id: string } }) => i.resource.id).sort()).toEqual([
      'hanoi/12',
      'hanoi/21',
      'hanoi/25',
    ]);

    // The refusals travel back too; the province stores them against nothing it signed.
    await eventually(
      async () => (await cosignatures()).filter((c) => c.verdict === 'refused').length === 2,
      30_000,
    );
    const refusals = (await cosignatures()).filter((c) => c.verdict === 'refused');
    for (const r of refusals)
      expect(r).toMatchObject({ matchesCheckpoint: false, cosignature: null, verified: null });
    // Its own checkpoint at 25 stays cosigned; the refusal of the rewritten root at 25 sits beside it.
    expect(await cosignatures(25)).toEqual([
      expect.objectContaining({
        verdict: 'cosigned',
        rootHash: last.checkpoint.rootHash,
        verified: true,
        matchesCheckpoint: true,
      }),
      expect.objectContaining({
        verdict: 'refused',
        reason: 'INCONSISTENT',
        rootHash: 'ee'.repeat(32),
        matchesCheckpoint: false,
      }),
    ]);
  });

  it('refuses with GAP after a lost checkpoint, and cosigns once the missing one is submitted and the next one again', async () => {
    lost.add(30);
    await checkpointAt(30);
    await checkpointAt(34);
    await eventually(async () => (await cosignatures(34)).some((c) => c.verdict === 'refused'), 30_000);
    expect(await cosignatures(34)).toEqual([
      expect.objectContaining({ verdict: 'refused', reason: 'GAP', matchesCheckpoint: true }),
    ]);

    // The bus replays what was lost, then the refused one.
    const at = (n: number) => signed.find((e) => e.data.checkpoint.treeSize === n)!.data;
    await submit({ ...at(30), nodeId: 'hanoi' });
    await submit({ ...at(34), nodeId: 'hanoi' });
    await eventually(async () => (await cosignatures(34)).some((c) => c.verdict === 'cosigned'), 30_000);
    expect((await cosignatures(30))[0]).toMatchObject({ verdict: 'cosigned', verified: true });
    expect((await cosignatures(34)).find((c) => c.verdict === 'cosigned')).toMatchObject({
      verified: true,
      matchesCheckpoint: true,
    });
    const nodes = (await centralHttp().get('/api/v1/audit/witness/nodes').set(auth()).expect(200)).body.items;
    expect(nodes[0]).toMatchObject({ lastWitnessed: { treeSize: 34 }, refused: 3, inconsistent: 1 });
  });

  it('answers bad ids and parameters with 4xx and a code', async () => {
    const bad = await centralHttp()
      .get('/api/v1/audit/witness/nodes/NOT%20A%20NODE/checkpoints')
      .set(auth())
      .expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const unknown = await centralHttp()
      .get('/api/v1/audit/witness/nodes/nowhere/checkpoints')
      .set(auth())
      .expect(404);
    expect(unknown.body.code).toBe('WITNESS_NODE_UNKNOWN');
    await centralHttp()
      .get('/api/v1/audit/witness/nodes/hanoi/checkpoints?cursor=abc')
      .set(auth())
      .expect(400);
    await province.http.get('/api/v1/audit/checkpoint/cosignatures?treeSize=-1').set(auth()).expect(400);
    await province.http.get('/api/v1/audit/witness/nodes').expect(401);
    const user = await province.token('ORG-A', ['clerk']);
    await province.http
      .get('/api/v1/audit/witness/nodes')
      .set({ Authorization: `Bearer ${user}` })
      .expect(403);
  });
});
