import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import {
  buildPackage,
  buildSignedPackage,
  EdxmlError,
  formatDocumentId,
  generateSelfSigned,
  parseEdxml,
  parsePackage,
  readEdxml,
  signPackage,
  streamedCanonicalForm,
  type EdxmlPackage,
  type EdxmlReaderOptions,
} from './index';
import { parseSafeXml } from './safe-xml';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const BIG = 64 * 1024 * 1024;

function sample(over: Partial<EdxmlPackage> = {}): EdxmlPackage {
  return {
    from: { organId: '000.00.00.H01', organName: 'Văn phòng & <Trung ương>' },
    to: [{ organId: '000.00.00.G22' }, { organId: '000.00.00.G23', organName: 'Bộ Nội vụ' }],
    documentId: formatDocumentId('000.00.00.H01', '2026-11-20', '12', 'CV/VPTW'),
    codeNumber: '12',
    codeNotation: 'CV/VPTW',
    promulgationPlace: 'Hà Nội',
    promulgationDate: '2026-11-20',
    type: '1',
    typeName: 'Công văn',
    subject: 'Về việc "trích dẫn"',
    content: "Nội dung <đặc biệt> & 'đơn'\r\ndòng mới\ttab > cuối",
    signer: { competence: 'TL. CHÁNH VĂN PHÒNG', fullName: 'Trần Thị B' },
    priority: 2,
    steeringType: 1,
    toPlaces: ['Như trên'],
    responseFor: [],
    traces: [{ organId: '000.00.00.H01', timestamp: '2026-11-20T03:04:05.000Z' }],
    businessDocType: 0,
    attachments: [
      { contentId: 'cid:1', name: 'a & b.pdf', contentType: 'application/pdf', content: randomBytes(3000) },
      { contentId: 'cid:2', name: 'empty.txt', contentType: 'text/plain', content: Buffer.alloc(0) },
    ],
    ...over,
  };
}

/** xml-crypto's canonical form of the document without its (first) Signature: the oracle. */
function xmlCryptoCanonical(xml: string): string {
  const doc = parseSafeXml(xml, { maxBytes: BIG });
  const sig = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')[0];
  sig?.parentNode?.removeChild(sig);
  return new ExclusiveCanonicalization().process(doc.documentElement as never, {}).toString();
}

function xmlCryptoVerifies(signed: string, certPem: string): boolean {
  const doc = parseSafeXml(signed, { maxBytes: BIG });
  const sig = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')[0];
  const check = new SignedXml({ publicCert: certPem, getCertFromKeyInfo: () => null });
  check.loadSignature(sig.toString());
  try {
    return check.checkSignature(signed);
  } catch {
    return false;
  }
}

/** The text cut in chunks at the given byte sizes (cycled): boundaries fall anywhere, multi-byte characters too. */
function chunked(text: string | Buffer, sizes: number[]): Buffer[] {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  let i = 0;
  let k = 0;
  while (i < b.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

async function* gen(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

describe('streamed edXML reader (one pass: exclusive c14n digest, attachments decoded, signature checked)', () => {
  const node = generateSelfSigned('lienthong-bus-reader-test', 1024);
  const other = generateSelfSigned('lienthong-bus-other', 1024);
  let temp: string;
  let opts: EdxmlReaderOptions;

  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'reader-spec-'));
    opts = {
      maxBytes: BIG,
      maxMetadataBytes: 4 * 1024 * 1024,
      memoryBytes: 1024 * 1024,
      tempDir: temp,
      trusted: [node.certPem],
    };
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  const read = (src: string | Buffer, o: Partial<EdxmlReaderOptions> = {}, sizes = [65536]) =>
    readEdxml(gen(chunked(src, sizes)), { ...opts, ...o });

  it('a package built and signed here: valid, trusted, the same package as the DOM parser reads', async () => {
    const p = sample();
    const signed = buildSignedPackage(p, node);
    const r = await read(signed);
    expect(r.signature).toMatchObject({ present: true, valid: true, trusted: true });
    expect(r.message.kind).toBe('package');
    const dom = parsePackage(signed, { maxBytes: BIG }).package;
    const got = r.message.kind === 'package' ? r.message.package : undefined;
    const { attachments: a1, ...m1 } = got!;
    const { attachments: a2, ...m2 } = dom;
    expect(m1).toEqual(m2);
    expect(a1.map((a) => [a.contentId, a.name, a.contentType, a.content.toString('hex')])).toEqual(
      a2.map((a) => [a.contentId, a.name, a.contentType, a.content.toString('hex')]),
    );
    expect(a1.map((a) => [a.size, a.sha256])).toEqual(
      a2.map((a) => [a.content.length, createHash('sha256').update(a.content).digest('hex')]),
    );
    await r.cleanup();
  });

  it('signed by xml-crypto (the general signer): valid; signed by another node: valid, not trusted', async () => {
    const viaXmlCrypto = signPackage(buildPackage(sample()), node);
    expect((await read(viaXmlCrypto)).signature).toMatchObject({ valid: true, trusted: true });
    const foreign = buildSignedPackage(sample(), other);
    expect((await read(foreign)).signature).toMatchObject({ valid: true, trusted: false });
    const unsigned = buildPackage(sample());
    expect((await read(unsigned)).signature).toMatchObject({ present: false, valid: false });
  });

  it('attachments above the memory budget are decoded to a file with their SHA-256; cleanup removes it', async () => {
    const big = randomBytes(700_000);
    const signed = buildSignedPackage(
      sample({
        attachments: [{ contentId: 'cid:1', name: 'big.pdf', contentType: 'application/pdf', content: big }],
      }),
      node,
    );
    const r = await read(signed, { memoryBytes: 100_000 }, [4093, 65536, 17]);
    expect(r.signature.valid).toBe(true);
    const a = r.message.kind === 'package' ? r.message.package.attachments[0] : undefined;
    expect(a?.file).toBeDefined();
    expect(a?.content.length).toBe(0);
    expect(a?.size).toBe(big.length);
    expect(a?.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(readFileSync(a!.file!).equals(big)).toBe(true);
    await r.cleanup();
    expect(existsSync(a!.file!)).toBe(false);
  });

  it('the streamed digest equals xml-crypto for arbitrary packages cut in arbitrary chunks (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        async (text, odd, bytes, sizes) => {
          const signed = buildSignedPackage(
            sample({
              subject: text.trim() || 'x',
              content: odd,
              attachments: [
                {
                  contentId: 'cid:1',
                  name: 'x.bin',
                  contentType: 'application/pdf',
                  content: Buffer.from(bytes),
                },
              ],
            }),
            node,
          );
          const canonical = await streamedCanonicalForm(chunked(signed, sizes));
          expect(canonical).toBe(xmlCryptoCanonical(signed));
          const r = await read(signed, {}, sizes);
          expect(r.signature.valid).toBe(xmlCryptoVerifies(signed, node.certPem));
          expect(r.signature.valid).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  const handMade: [string, string][] = [
    [
      'namespaces declared high, used deep',
      '<a:r xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u"><x><b:y a:at="1" b:z="2"/></x><b:y/></a:r>',
    ],
    [
      'default namespace changes',
      '<r xmlns="urn:d"><s xmlns="urn:e"><t xmlns="urn:d"><u/></t></s><v xmlns="urn:d"/></r>',
    ],
    [
      'a prefix redeclared to another URI',
      '<p:r xmlns:p="urn:1"><p:s xmlns:p="urn:2"><p:t/></p:s><p:u/></p:r>',
    ],
    [
      'attributes in any order, namespaced ones after plain',
      '<r xmlns:z="urn:z" xmlns:a="urn:a" z:b="1" c="2" a:d="3" a="4" b="5"/>',
    ],
    ['comments inside and outside', '<!-- before --><r><!-- c1 -->x<!--c2--><s/><!----></r><!-- after -->'],
    ['CDATA with markup and CRLF', '<r><![CDATA[<not> & "markup" ]]]]><![CDATA[>\r\nline]]>tail</r>'],
    [
      'entity and character references',
      '<r a="&amp;&lt;&gt;&quot;&apos;&#9;&#10;&#13;&#x41;">&amp;&lt;&gt;&quot;&apos;&#65;&#x1F600;&#13;</r>',
    ],
    [
      'whitespace: literal tabs and newlines in attributes, CRLF and CR in text',
      '<r a="x\ty\nz\r\nw">  a\r\nb\rc\t </r>\n\n',
    ],
    [
      'XML declaration, BOM and a processing instruction before the root',
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<?pi data?><r>x</r>',
    ],
    ['self-closing and empty elements, > in text and attributes', '<r><e/><f></f><g a=">">a > b</g></r>'],
    ['single quotes and spaces around =', "<r a = 'x\"y' b\n=\n'z'/>"],
    [
      'xml: attributes are not declared',
      '<r xml:lang="vi" xmlns:x="urn:x"><x:s xml:space="preserve"> </x:s></r>',
    ],
    [
      'the same namespace under two prefixes',
      '<a:r xmlns:a="urn:s" xmlns:b="urn:s"><b:s a:x="1" b:y="2"/></a:r>',
    ],
    [
      'non-ASCII names and text',
      '<tài-liệu xmlns:đ="urn:đ"><đ:mục thuộc-tính="giá trị">Tiếng Việt có dấu</đ:mục></tài-liệu>',
    ],
    [
      'a Signature element removed (enveloped)',
      `<r><h><Signature xmlns="${DSIG_NS}"><SignedInfo/></Signature>x</h></r>`,
    ],
  ];

  it.each(handMade)(
    'hand-made document: %s — streamed canonical form equals xml-crypto',
    async (_name, xml) => {
      const expected = xmlCryptoCanonical(xml);
      for (const sizes of [[1], [2, 3, 5], [7], [1 << 20]]) {
        expect(await streamedCanonicalForm(chunked(xml, sizes))).toBe(expected);
      }
    },
  );

  it('the default namespace undeclared (xmlns=""): the W3C form, where xml-crypto repeats xmlns="" on children', async () => {
    // Exclusive XML Canonicalization 1.0, section 3: xmlns="" is rendered only where the nearest output
    // ancestor rendered a non-empty default namespace. xml-crypto renders it again on <u> (it carries a null
    // namespace from xmldom into the comparison); our builder never writes xmlns="".
    const xml = '<r xmlns="urn:d"><s xmlns="urn:e"><t xmlns=""><u/></t></s><v xmlns="urn:d"/></r>';
    expect(await streamedCanonicalForm([Buffer.from(xml)])).toBe(
      '<r xmlns="urn:d"><s xmlns="urn:e"><t xmlns=""><u></u></t></s><v></v></r>',
    );
    expect(xmlCryptoCanonical(xml)).toBe(
      '<r xmlns="urn:d"><s xmlns="urn:e"><t xmlns=""><u xmlns=""></u></t></s><v></v></r>',
    );
  });

  it('random hand-made trees (namespaces, attributes, text with references) equal xml-crypto (property)', async () => {
    const prefix = fc.constantFrom('', 'a', 'b', 'ns1');
    const uri = fc.constantFrom('urn:x', 'urn:y', 'http://example.org/ns');
    const text = fc.constantFrom(
      't',
      ' ',
      '&amp;',
      '&lt;x&gt;',
      '&#233;',
      'a\r\nb',
      '<![CDATA[c&d]]>',
      '<!--c-->',
      '"q"',
      '\t',
    );
    type Tree = { p: string; decl: [string, string][]; attrs: [string, string][]; kids: (Tree | string)[] };
    const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
      t: fc.record({
        p: prefix,
        decl: fc.array(fc.tuple(prefix, uri), { maxLength: 2 }),
        attrs: fc.array(
          fc.tuple(
            fc.constantFrom('x', 'y', 'a:z', 'b:w', 'id'),
            fc.constantFrom('1', 'a&amp;b', 'c\td', '&#10;'),
          ),
          { maxLength: 3 },
        ),
        kids: fc.array(fc.oneof({ depthSize: 'small' }, text, tie('t')), { maxLength: 3 }),
      }),
    })).t;
    const render = (t: Tree, depth: number): string => {
      const name = `${t.p ? `${t.p}:` : ''}e${depth}`;
      const decls = new Map<string, string>();
      for (const [p, u] of t.decl) decls.set(p, u);
      // Every prefix this element uses is declared on it (the documents stay namespace-well-formed).
      if (t.p && !decls.has(t.p)) decls.set(t.p, 'urn:p');
      const attrs = new Map<string, string>();
      for (const [n, v] of t.attrs) attrs.set(n, v);
      for (const n of attrs.keys())
        if (n.includes(':') && !decls.has(n.split(':')[0])) decls.set(n.split(':')[0], 'urn:q');
      const seen = new Set<string>();
      const attrText = [...attrs]
        .filter(([n]) => {
          const key = n.includes(':') ? `${decls.get(n.split(':')[0])}|${n.split(':')[1]}` : n;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        })
        .map(([n, v]) => ` ${n}="${v}"`)
        .join('');
      const declText = [...decls].map(([p, u]) => (p ? ` xmlns:${p}="${u}"` : ` xmlns="${u}"`)).join('');
      const kids = t.kids.map((k) => (typeof k === 'string' ? k : render(k, depth + 1))).join('');
      return `<${name}${declText}${attrText}>${kids}</${name}>`;
    };
    await fc.assert(
      fc.asyncProperty(
        tree,
        fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 4 }),
        async (t, sizes) => {
          const xml = render(t, 0);
          expect(await streamedCanonicalForm(chunked(xml, sizes))).toBe(xmlCryptoCanonical(xml));
        },
      ),
      { numRuns: 200 },
    );
  });

  describe('tampering is refused', () => {
    let signed: string;
    beforeAll(() => {
      signed = buildSignedPackage(sample(), node);
    });
    const expectInvalid = async (xml: string, problem?: RegExp) => {
      expect(xml).not.toBe(signed);
      const r = await read(xml, {}, [977]);
      expect(r.signature.present).toBe(true);
      expect(r.signature.valid).toBe(false);
      if (problem) expect(r.signature.problem).toMatch(problem);
      return r;
    };

    it('a byte changed in an attachment, in metadata, a recipient added', async () => {
      const b64 = /<edXML:ContentTransferEncoded>([^<]+)</.exec(signed)![1];
      const flipped = b64.slice(0, 10) + (b64[10] === 'A' ? 'B' : 'A') + b64.slice(11);
      await expectInvalid(signed.replace(b64, flipped), /digest/);
      await expectInvalid(signed.replace('Trần Thị B', 'Trần Thị C'), /digest/);
      await expectInvalid(
        signed.replace('<edXML:OrganId>000.00.00.G22', '<edXML:OrganId>000.00.00.G99'),
        /digest/,
      );
      // Each is also refused by the independent verifier.
      expect(xmlCryptoVerifies(signed.replace(b64, flipped), node.certPem)).toBe(false);
    });

    it('the SignatureValue or the certificate changed', async () => {
      const value = /<SignatureValue>([^<]+)</.exec(signed)![1];
      const other64 = other.certPem.replace(/-----[^-]+-----|\s/g, '');
      const mine64 = node.certPem.replace(/-----[^-]+-----|\s/g, '');
      await expectInvalid(
        signed.replace(value, value.slice(0, -6) + 'AAAA' + value.slice(-2)),
        /does not verify/,
      );
      const r = await expectInvalid(signed.replace(mine64, other64), /does not verify/);
      expect(r.signature.trusted).toBe(false);
    });

    it('a moved Signature (same bytes elsewhere) is refused although its digest still matches', async () => {
      const sig = /<Signature [\s\S]*<\/Signature>/.exec(signed)![0];
      const moved = signed.replace(sig, '').replace('</edXML:edXMLHeader>', `</edXML:edXMLHeader>${sig}`);
      await expectInvalid(moved, /not after TraceHeaderList/);
      const inAttachment = signed.replace(sig, '').replace('<edXML:Attachment>', `<edXML:Attachment>${sig}`);
      await expectInvalid(inAttachment, /not after TraceHeaderList/);
    });

    it('a second Signature, or one nested in the first', async () => {
      const sig = /<Signature [\s\S]*<\/Signature>/.exec(signed)![0];
      await expectInvalid(
        signed.replace('<edXML:AttachmentEncoded>', `<edXML:AttachmentEncoded>${sig}`),
        /more than one/,
      );
      await expectInvalid(
        signed.replace('</Signature>', `${sig}</Signature>`),
        /inside the Signature|more than one/,
      );
    });

    it('wrapping: the signed package inside another element, a reference to a part, a second Reference', async () => {
      const body = signed.replace(/^<\?xml[^>]*\?>/, '');
      // A SOAP-like wrapper the parser accepts (it finds edXMLEnvelope below Envelope): the digest now differs.
      const wrapped = `<Envelope xmlns="urn:evil"><Body>${body}</Body></Envelope>`;
      await expectInvalid(wrapped, /digest/);
      await expectInvalid(signed.replace('<Reference URI="">', '<Reference URI="#part">'), /whole package/);
      const ref = /<Reference [\s\S]*<\/Reference>/.exec(signed)![0];
      await expectInvalid(signed.replace(ref, ref + ref), /whole package/);
    });

    it('the transforms changed (enveloped dropped): not our profile, xml-crypto refuses it', async () => {
      const t = `<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></Transform>`;
      await expectInvalid(signed.replace(t, ''));
    });
  });

  describe('malformed input: the same refusals as the DOM parser, and nothing left behind', () => {
    const base = buildPackage(sample());
    // Where xmldom is lenient (an element or a bare & in text, a control character) the reader is strict.
    const strict = new Set(['an element inside base64', 'bare ampersand', 'control character']);
    const cases: [string, string][] = [
      [
        'DOCTYPE',
        `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]>${base.replace(/^<\?xml[^>]*\?>/, '')}`,
      ],
      ['ENTITY in body', base.replace('<edXML:Subject>', '<edXML:Subject><!ENTITY x "y">')],
      ['truncated', base.slice(0, base.length - 20)],
      ['mismatched end tag', base.replace('</edXML:Subject>', '</edXML:Subjekt>')],
      [
        'bad base64',
        base.replace(/<edXML:ContentTransferEncoded>[^<]+/, '<edXML:ContentTransferEncoded>!!!!'),
      ],
      [
        'an element inside base64',
        base.replace(/<edXML:ContentTransferEncoded>/, '<edXML:ContentTransferEncoded><x/>'),
      ],
      ['undefined entity', base.replace('<edXML:Subject>', '<edXML:Subject>&xxe;')],
      ['bare ampersand', base.replace('<edXML:Subject>', '<edXML:Subject>a & b')],
      ['two roots', `${base}<r/>`],
      ['missing recipient', base.replace(/<edXML:To>[\s\S]*?<\/edXML:To>/g, '')],
      ['UTF-16', '\uFEFF<r/>'],
      ['deep nesting', `${'<a>'.repeat(100)}${'</a>'.repeat(100)}`],
      ['control character', base.replace('<edXML:Subject>', '<edXML:Subject>\u0001')],
    ];

    it.each(cases)('%s', async (name, xml) => {
      const bytes = name === 'UTF-16' ? Buffer.from(xml, 'utf16le') : Buffer.from(xml, 'utf8');
      let domCode: string | undefined;
      try {
        parseEdxml(bytes, { maxBytes: BIG });
      } catch (e) {
        domCode = (e as EdxmlError).code;
      }
      if (strict.has(name)) domCode = 'EDXML_INVALID';
      expect(domCode).toBeDefined();
      const before = readdirSync(temp).length;
      const err = await read(bytes, { memoryBytes: 0 }, [3, 1000]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EdxmlError);
      expect((err as EdxmlError).code).toBe(domCode);
      expect(readdirSync(temp).length).toBe(before);
    });

    it('too large: the body, or its metadata', async () => {
      await expect(read(base, { maxBytes: 1000 })).rejects.toMatchObject({ code: 'EDXML_TOO_LARGE' });
      const padded = buildPackage(sample({ subject: 'x'.repeat(50_000) }));
      await expect(read(padded, { maxMetadataBytes: 20_000 })).rejects.toMatchObject({
        code: 'EDXML_TOO_LARGE',
      });
    });
  });
});
