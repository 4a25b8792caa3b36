import forge from 'node-forge';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamService, OutboxService } from '@lienthong/common';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import type { EdxmlNodeService } from '../edxml/edxml-node.service';
import { generateSelfSigned } from '../edxml/node-certificate';
import { FederationLink, FederationRefusal, nodeIdOfCertificate } from './federation-link';

function certificate(cn: string, notAfter: Date) {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0a';
  cert.validity.notBefore = new Date(notAfter.getTime() - 86_400_000);
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function link(
  nodeId: string,
  own: { certPem: string; keyPem: string },
  trusted: string[],
  over: Partial<IntegrationBusConfig> = {},
  js = {} as JetStreamService,
): FederationLink {
  const config = Object.assign(new IntegrationBusConfig(), { NODE_ID: nodeId, ...over });
  const node = { credentials: own, trusted: [own.certPem, ...trusted] } as unknown as EdxmlNodeService;
  return new FederationLink(js, {} as OutboxService, node, config);
}

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof FederationRefusal) return e.code;
    throw e;
  }
  return 'accepted';
};

describe('FederationLink: node-signed messages', () => {
  const central = generateSelfSigned('lienthong-bus-central', 1024);
  const p01 = generateSelfSigned('lienthong-bus-p01', 1024);
  const stranger = generateSelfSigned('lienthong-bus-central', 1024);
  const atCentral = link('central', central, [p01.certPem]);
  const atP01 = link('p01', p01, [central.certPem]);
  const pkg = Buffer.from('<edXML>gói tin</edXML>', 'utf8');

  it('reads the node id from the certificate CN', () => {
    expect(nodeIdOfCertificate(new X509Certificate(central.certPem))).toBe('central');
  });

  it('a message from a trusted node opens with its package intact', async () => {
    const ev = await atCentral.message(
      'p01',
      { kind: 'package', sourceDocumentId: 'd1' },
      { bytes: pkg, transferId: '5d0c7f4e-8d33-4c53-9a57-7a4b4a3b9c11' },
    );
    expect(ev).toMatchObject({
      fromNodeId: 'central',
      toNodeId: 'p01',
      packageBase64: pkg.toString('base64'),
    });
    const opened = await atP01.open(ev);
    expect(Buffer.isBuffer(opened.package) && opened.package.equals(pkg)).toBe(true);
    expect(opened.signer).toContain('lienthong-bus-central');
  });

  it('refuses tampering, strangers, impersonation, misaddressing and expired certificates', async () => {
    const ev = await atCentral.message('p01', {
      kind: 'status',
      status: {
        statusId: 's',
        fromOrganizationCode: 'A',
        toOrganizationCode: 'B',
        status: 'accepted',
        statusCode: '03',
        at: '2026-11-29T00:00:00Z',
      },
    });
    expect(await refusal(atP01.open(ev))).toBe('accepted');
    expect(await refusal(atP01.open({ ...ev, status: { ...ev.status!, statusCode: '06' } }))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(await refusal(atP01.open({ ...ev, proof: undefined }))).toBe('SIGNATURE_MISSING');
    expect(
      await refusal(atP01.open({ ...ev, proof: { ...ev.proof!, certificate: 'bm90IGEgY2VydA==' } })),
    ).toBe('SIGNATURE_INVALID');
    const fromStranger = await link('central', stranger, []).message('p01', {
      kind: 'status',
      status: ev.status,
    });
    expect(await refusal(atP01.open(fromStranger))).toBe('SIGNATURE_UNTRUSTED');
    // p01's own (trusted) certificate used to pose as the central node.
    const posing = await link('central', p01, []).message('p01', { kind: 'status', status: ev.status });
    expect(await refusal(link('p01', central, [p01.certPem]).open(posing))).toBe('NODE_MISMATCH');
    expect(await refusal(atCentral.open(ev))).toBe('NODE_MISADDRESSED');
    const old = certificate('lienthong-bus-central', new Date(Date.now() - 3_600_000));
    const expired = await link('central', old, []).message('p01', { kind: 'status', status: ev.status });
    expect(await refusal(link('p01', p01, [old.certPem]).open(expired))).toBe('CERTIFICATE_EXPIRED');
  });

  it('publishes parts under the sending node with a fresh, unguessable transfer id; refuses oversized transfers', async () => {
    const published: { subject: string; msgID?: string }[] = [];
    // Only the publish call is recorded here; parts crossing real NATS are covered by the medium tests.
    const recorder = {
      js: {
        publish: async (subject: string, _data: Uint8Array, o?: { msgID?: string }) => {
          published.push({ subject, msgID: o?.msgID });
          return {};
        },
      },
    } as unknown as JetStreamService;
    const sender = link('central', central, [p01.certPem], { FEDERATION_PART_BYTES: 16 * 1024 }, recorder);
    const big = Buffer.alloc(40_000, 1);
    const a = await sender.message(
      'p01',
      { kind: 'package', sourceDocumentId: 'd' },
      { bytes: big, transferId: 'x' },
    );
    const b = await sender.message(
      'p01',
      { kind: 'package', sourceDocumentId: 'd' },
      { bytes: big, transferId: 'x' },
    );
    expect(a.transfer!.id).not.toBe(b.transfer!.id);
    expect(a.transfer!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.transfer!.parts).toBe(3);
    expect(published.slice(0, 3).map((p) => p.subject.replace(/^[^.]+\./, ''))).toEqual(
      [0, 1, 2].map((i) => `fed.p01.part.central.${a.transfer!.id}.${i}`),
    );
    expect(published[0].msgID).toBe(`central.${a.transfer!.id}.0`);
    // A receiver never gathers more than an edXML body may be, whatever a (trusted) sender declares.
    const small = link('p01', p01, [central.certPem], { EDXML_MAX_BYTES: 30_000 });
    expect(await refusal(small.open(a))).toBe('TRANSFER_TOO_LARGE');
  });

  it('publishes a package written to a file part by part, the same parts as from memory', async () => {
    const published: Buffer[] = [];
    const recorder = {
      js: {
        publish: async (_subject: string, data: Uint8Array) => {
          published.push(Buffer.from(data));
          return {};
        },
      },
    } as unknown as JetStreamService;
    const sender = link('central', central, [p01.certPem], { FEDERATION_PART_BYTES: 16 * 1024 }, recorder);
    const big = randomBytes(40_001);
    const dir = mkdtempSync(join(tmpdir(), 'fed-link-spec-'));
    try {
      const path = join(dir, 'package.xml');
      writeFileSync(path, big);
      const fromFile = await sender.message(
        'p01',
        { kind: 'package', sourceDocumentId: 'd' },
        { file: { path, size: big.length } },
      );
      expect(fromFile.transfer).toMatchObject({
        parts: 3,
        size: big.length,
        sha256: createHash('sha256').update(big).digest('hex'),
      });
      expect(published.map((b) => b.length)).toEqual([16_384, 16_384, 7_233]);
      expect(Buffer.concat(published).equals(big)).toBe(true);
      // A small one travels inline, read from its file.
      writeFileSync(path, pkg);
      const inline = await sender.message(
        'p01',
        { kind: 'package', sourceDocumentId: 'd' },
        { file: { path, size: pkg.length } },
      );
      expect(inline.packageBase64).toBe(pkg.toString('base64'));
      const opened = (await atP01.open(inline)).package;
      expect(Buffer.isBuffer(opened) && opened.equals(pkg)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
