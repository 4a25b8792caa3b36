import { eventually } from '@lienthong/testing';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { verifyCheckpointSignature } from '../src/checkpoint/signing';
import { runVerify } from '../src/cli/verify';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

/** Rotating the checkpoint signing key: the old key stays listed and every old checkpoint still verifies. */
describe('audit checkpoint key rotation (real PostgreSQL + NATS)', () => {
  const h = new AuditHarness();
  let admin: string;
  const auth = () => ({ Authorization: `Bearer ${admin}` });

  beforeAll(async () => {
    await h.start();
    admin = await h.token('ROOT', ['system-admin']);
  });
  afterAll(() => h.stop());

  const latest = async (): Promise<Checkpoint> =>
    (await h.http.get('/api/v1/audit/checkpoint').set(auth()).expect(200)).body;

  it('keeps the generated key listed after switching to a configured key, and both key generations verify', async () => {
    for (let i = 0; i < 20; i++) await h.publish(auditEvent());
    await eventually(async () => (await latest()).treeSize === 20, 15_000);
    const before = await latest();

    // Restart the service with a configured key (as an operator rotating the key would).
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const newKeyId = createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest()
      .subarray(0, 8)
      .toString('hex');
    expect(newKeyId).not.toBe(before.keyId);
    for (const app of h.apps.splice(0)) await app.close();
    h.env = { ...h.env, AUDIT_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    await h.addInstance();

    for (let i = 0; i < 20; i++) await h.publish(auditEvent());
    await eventually(async () => {
      const cp = await latest();
      return cp.treeSize === 40 && cp.keyId === newKeyId;
    }, 15_000);

    const keys = (await h.http.get('/api/v1/audit/keys').set(auth()).expect(200)).body.keys as {
      keyId: string;
      publicKey: string;
    }[];
    expect(keys.map((k) => k.keyId).sort()).toEqual([before.keyId, newKeyId].sort());
    // Only public halves are served.
    for (const k of keys) expect(k.publicKey).not.toMatch(/PRIVATE/);
    expect(
      createPublicKey(keys.find((k) => k.keyId === newKeyId)!.publicKey).export({
        format: 'pem',
        type: 'spki',
      }),
    ).toBe(publicKey.export({ format: 'pem', type: 'spki' }));

    const all = (await h.http.get('/api/v1/audit/checkpoints').set(auth()).expect(200)).body
      .items as Checkpoint[];
    const byKey = new Map(keys.map((k) => [k.keyId, k.publicKey]));
    expect(new Set(all.map((c) => c.keyId))).toEqual(new Set([before.keyId, newKeyId]));
    for (const cp of all) expect(verifyCheckpointSignature(byKey.get(cp.keyId)!, cp)).toBe(true);
    // A checkpoint signed by the old key does not pass as the new key's.
    const old = all.find((c) => c.keyId === before.keyId)!;
    expect(verifyCheckpointSignature(byKey.get(newKeyId)!, old)).toBe(false);

    const report = await runVerify(['--url', await h.url(), '--token', admin], () => undefined);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(40);
  });
});
