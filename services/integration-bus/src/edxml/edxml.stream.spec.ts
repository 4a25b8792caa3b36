import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedXml } from 'xml-crypto';
import {
  buildSignedPackage,
  formatDocumentId,
  generateSelfSigned,
  parsePackage,
  spoolSignedPackage,
  verifyPackage,
  writeSignedPackage,
  type EdxmlPackage,
} from './index';
import { parseSafeXml } from './safe-xml';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const LIMITS = { maxBytes: 32 * 1024 * 1024 };

function sample(contents: Buffer[]): EdxmlPackage {
  return {
    from: { organId: '000.00.00.H01', organName: 'Văn phòng & <Trung ương>' },
    to: [{ organId: '000.00.00.G22' }],
    documentId: formatDocumentId('000.00.00.H01', '2026-11-20', '12', 'CV/VPTW'),
    codeNumber: '12',
    codeNotation: 'CV/VPTW',
    promulgationDate: '2026-11-20',
    type: '1',
    subject: 'Về việc "trích dẫn"\r\n',
    signer: { competence: 'TL. CHÁNH VĂN PHÒNG' },
    priority: 0,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [{ organId: '000.00.00.H01', timestamp: '2026-11-20T03:04:05.000Z' }],
    businessDocType: 0,
    attachments: contents.map((content, i) => ({
      contentId: `cid:${i + 1}`,
      name: `tệp ${i + 1}.pdf`,
      contentType: 'application/pdf',
      content,
    })),
  };
}

/** The bytes in chunks of irregular sizes (1, 2, 5, 7, … bytes and larger), as a store might return them. */
async function* chunked(bytes: Buffer): AsyncGenerator<Uint8Array> {
  const sizes = [1, 2, 5, 7, 4096, 65_537, 131_072];
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    yield new Uint8Array(bytes.subarray(off, off + n));
    off += n;
  }
}

function xmlCryptoVerifies(signed: string, certPem: string): boolean {
  const doc = parseSafeXml(signed, LIMITS);
  const sig = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')[0];
  const check = new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => null });
  check.loadSignature(sig.toString());
  try {
    return check.checkSignature(signed);
  } catch {
    return false;
  }
}

describe('edXML package written by streaming', () => {
  const node = generateSelfSigned('test-node-stream', 1024);
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'edxml-stream-spec-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['no attachment', []],
    ['empty, 1, 2 and 3 bytes', [0, 1, 2, 3]],
    ['one of 1 MiB + 1 and one of 300,001 bytes', [1024 * 1024 + 1, 300_001]],
  ])(
    '%s: byte for byte what the in-memory signer builds, and xml-crypto verifies it',
    async (_name, sizes) => {
      const contents = (sizes as number[]).map((n) => randomBytes(n));
      const p = sample(contents);
      const { attachments, ...rest } = p;
      const path = join(dir, `${sizes.join('-') || 'none'}.xml`);
      const written = await writeSignedPackage(
        { ...rest, attachments: attachments.map(({ content: _c, ...a }) => a) },
        (i) => chunked(contents[i]),
        node,
        path,
      );
      const file = readFileSync(path);
      const inMemory = Buffer.from(buildSignedPackage(p, node), 'utf8');
      expect(file.equals(inMemory)).toBe(true);
      expect(written.size).toBe(file.length);
      expect(written.sha256).toBe(createHash('sha256').update(file).digest('hex'));
      const xml = file.toString('utf8');
      expect(xmlCryptoVerifies(xml, node.certPem)).toBe(true);
      expect(verifyPackage(xml, [node.certPem], LIMITS.maxBytes)).toMatchObject({
        valid: true,
        trusted: true,
      });
      const parsed = parsePackage(file, LIMITS).package;
      expect(
        parsed.attachments.map((a) => a.content.equals(contents[Number(a.contentId.slice(4)) - 1])),
      ).toEqual(contents.map(() => true));
    },
  );

  it.each([
    ['in memory (below the limit)', 4 * 1024 * 1024, false],
    ['spilled to a file part way (limit 100 KiB)', 100 * 1024, true],
  ])('spooled %s: the same bytes as the in-memory signer, verified', async (_name, limit, spills) => {
    const contents = [randomBytes(150_000), randomBytes(7)];
    const p = sample(contents);
    const { attachments, ...rest } = p;
    const asked: string[] = [];
    const out = await spoolSignedPackage(
      { ...rest, attachments: attachments.map(({ content: _c, ...a }) => a) },
      (i) => chunked(contents[i]),
      node,
      {
        memoryMaxBytes: limit as number,
        path: () => {
          const path = join(dir, `spool-${asked.length}-${limit}.xml`);
          asked.push(path);
          return path;
        },
      },
    );
    const inMemory = Buffer.from(buildSignedPackage(p, node), 'utf8');
    expect(asked.length).toBe(spills ? 1 : 0);
    const bytes = spills ? readFileSync(out.path!) : out.bytes!;
    expect(out.bytes === undefined).toBe(spills);
    expect(out.path).toBe(spills ? asked[0] : undefined);
    expect(bytes.equals(inMemory)).toBe(true);
    expect(out.size).toBe(bytes.length);
    expect(out.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(xmlCryptoVerifies(bytes.toString('utf8'), node.certPem)).toBe(true);
  });

  it('a stream that fails part way fails the write (no package is returned)', async () => {
    const p = sample([randomBytes(10)]);
    const { attachments, ...rest } = p;
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(5);
      throw new Error('object does not match its hash');
    }
    await expect(
      writeSignedPackage(
        { ...rest, attachments: attachments.map(({ content: _c, ...a }) => a) },
        () => broken(),
        node,
        join(dir, 'broken.xml'),
      ),
    ).rejects.toThrow('does not match its hash');
  });
});
