import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
// The audit service's own tree, proofs, leaf bytes and checkpoint signing: the browser code must accept
// exactly what the server produces, and refuse any change to it.
import { publicPem, signCheckpoint, keyIdOf } from '../../../../services/audit/src/checkpoint/signing';
import { leafBytes } from '../../../../services/audit/src/log/leaf-bytes';
import { inclusionProof, leafHash, memoryNodes, rootOf } from '../../../../services/audit/src/merkle/merkle';
import { canonicalJson, checkpointText, verifyInclusion, type Checkpoint } from './proof';

function event(i: number, salt = '') {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    time: new Date(Date.UTC(2026, 10, 30, 1, 0, i)).toISOString(),
    service: 'documents',
    action: i % 3 ? 'document.sent' : 'auth.login-failed',
    actor: { sub: `user-${i}`, organizationCode: '000.01.00.P01', type: 'user' },
    resource: { type: 'document', id: `doc-${i}${salt}` },
    outcome: i % 5 ? 'success' : 'failure',
    details: { subject: `Về việc triển khai ${i}`, nested: { z: 1, a: [true, null, 1.5, 'đ'] } },
  };
}

function serverLog(size: number, salt = '') {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const events = Array.from({ length: size }, (_, i) => event(i, salt));
  const leaves = events.map((e) => leafHash(leafBytes(e)));
  const root = rootOf(leaves);
  const checkpoint: Checkpoint = {
    origin: 'lienthong/test',
    treeSize: size,
    rootHash: root.toString('hex'),
    timestamp: new Date().toISOString(),
    keyId: keyIdOf(publicKey),
    signature: signCheckpoint(privateKey, 'lienthong/test', size, root),
  };
  const get = memoryNodes(leaves);
  const proof = (m: number) => ({
    leafIndex: m,
    treeSize: size,
    leafHash: leaves[m].toString('hex'),
    auditPath: inclusionProof(m, size, get).map((h) => h.toString('hex')),
  });
  return { events, checkpoint, proof, keys: [{ keyId: checkpoint.keyId, publicKey: publicPem(publicKey) }] };
}

// The 100-leaf case verifies 100 proofs through WebCrypto: about a second on a quiet machine, over jest's 5 s
// default at load 20.
jest.setTimeout(60_000);

describe('console inclusion-proof verification (WebCrypto) against the audit service', () => {
  it('canonicalizes JSON exactly as the server does (RFC 8785)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(leafBytes(v).toString('utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('signs and reads the same checkpoint text', () => {
    const log = serverLog(3);
    expect(checkpointText(log.checkpoint)).toBe(
      `lienthong/test\n3\n${Buffer.from(log.checkpoint.rootHash, 'hex').toString('base64')}\n`,
    );
  });

  it.each([1, 2, 3, 7, 8, 17, 100])('accepts every leaf of a %i-leaf log', async (size) => {
    const log = serverLog(size);
    for (let m = 0; m < size; m++) {
      const v = await verifyInclusion({
        event: log.events[m],
        leafIndex: m,
        proof: log.proof(m),
        checkpoint: log.checkpoint,
        keys: log.keys,
      });
      expect({ m, ok: v.ok, steps: v.steps.map((s) => `${s.id}:${s.ok}`) }).toEqual({
        m,
        ok: true,
        steps: ['leaf:true', 'path:true', 'root:true', 'signature:true'],
      });
    }
  });

  it('refuses an altered event, a wrong path, another root and a forged signature, naming the step', async () => {
    const log = serverLog(13);
    const base = {
      event: log.events[5],
      leafIndex: 5,
      proof: log.proof(5),
      checkpoint: log.checkpoint,
      keys: log.keys,
    };
    const failed = async (input: typeof base) =>
      (await verifyInclusion(input)).steps.filter((s) => !s.ok).map((s) => s.id);

    expect(await failed({ ...base, event: { ...log.events[5], outcome: 'success' } })).toEqual(
      expect.arrayContaining(['leaf', 'root']),
    );
    const path = [...base.proof.auditPath];
    path[1] = path[1].replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await failed({ ...base, proof: { ...base.proof, auditPath: path } })).toEqual(['root']);
    expect(await failed({ ...base, proof: { ...base.proof, auditPath: path.slice(1) } })).toEqual([
      'path',
      'root',
    ]);
    const other = serverLog(13, '-other');
    expect(
      await failed({ ...base, checkpoint: { ...log.checkpoint, rootHash: other.checkpoint.rootHash } }),
    ).toEqual(expect.arrayContaining(['root', 'signature']));
    expect(
      await failed({ ...base, keys: other.keys.map((k) => ({ ...k, keyId: log.checkpoint.keyId })) }),
    ).toEqual(['signature']);
    expect(await failed({ ...base, leafIndex: 6 })).toEqual(expect.arrayContaining(['leaf']));
  });
});
