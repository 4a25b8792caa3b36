import fc from 'fast-check';
import {
  buildPackage,
  buildStatus,
  EdxmlError,
  formatDocumentId,
  generateSelfSigned,
  parseDocumentId,
  parseEdxml,
  parseEdxmlTimestamp,
  parsePackage,
  parseStatus,
  signPackage,
  verifyPackage,
  type EdxmlPackage,
} from './index';

const LIMITS = { maxBytes: 5 * 1024 * 1024 };

function sample(over: Partial<EdxmlPackage> = {}): EdxmlPackage {
  return {
    from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', email: 'vpcp@chinhphu.vn' },
    to: [{ organId: '000.00.01.H01', organName: 'Tỉnh ủy Hà Giang' }],
    documentId: formatDocumentId('000.00.00.G22', '2015-09-30', '7816', 'VPCP-TTĐT'),
    codeNumber: '7816',
    codeNotation: 'VPCP-TTĐT',
    promulgationPlace: 'Hà Nội',
    promulgationDate: '2015-09-30',
    type: '1',
    typeName: 'Công văn',
    subject: 'Về việc triển khai Chính phủ điện tử',
    content: 'Nội dung <đặc biệt> & "trích dẫn"',
    signer: { competence: 'TL. BỘ TRƯỞNG', position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    dueDate: '2015-10-15',
    priority: 1,
    steeringType: 0,
    toPlaces: ['Như trên', 'Lưu: VT'],
    responseFor: [],
    traces: [{ organId: '000.00.00.G22', timestamp: '2015-09-30T03:04:05.000Z' }],
    businessDocType: 0,
    paper: 0,
    attachments: [
      {
        contentId: 'cid:1',
        name: 'công-văn.pdf',
        contentType: 'application/pdf',
        content: Buffer.from('%PDF-1.7 xin chào'),
      },
    ],
    ...over,
  };
}

function expectEdxmlError(fn: () => unknown, code: string, element?: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdxmlError);
    expect((e as EdxmlError).code).toBe(code);
    if (element) expect((e as EdxmlError).element).toMatch(element);
    return e as EdxmlError;
  }
  throw new Error(`expected ${code}`);
}

describe('edXML packages', () => {
  it('build → parse keeps every field, with the namespace and order of NATIONAL-AXIS.md', () => {
    const p = sample();
    const xml = buildPackage(p);
    expect(xml).toContain('<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">');
    expect(xml.indexOf('<edXML:TraceHeaderList>')).toBeGreaterThan(xml.indexOf('</edXML:MessageHeader>'));
    expect(xml).toContain('<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>');
    expect(xml).toContain('<edXML:Timestamp>2015/09/30 10:04:05</edXML:Timestamp>');
    const back = parsePackage(xml, LIMITS).package;
    expect(back).toEqual(JSON.parse(JSON.stringify({ ...p, content: p.content }), reviveBuffers));
    expect(back.attachments[0].content.equals(p.attachments[0].content)).toBe(true);
  });

  it('reads liberally: other prefixes, wrong namespaces, both timestamp forms', () => {
    const xml = buildPackage(sample())
      .replace(/edXML:/g, 'x:')
      .replace('xmlns:x=', 'xmlns:y="urn:other" xmlns:x=')
      .replace(/xmlns:edXML="[^"]+"/, 'xmlns:x="urn:wrong"')
      .replace('2015/09/30 10:04:05', '30/09/2015 10:04:05');
    const back = parsePackage(xml, LIMITS).package;
    expect(back.subject).toBe('Về việc triển khai Chính phủ điện tử');
    expect(back.traces[0].timestamp).toBe('2015-09-30T03:04:05.000Z');
  });

  it('names the missing element', () => {
    const xml = buildPackage(sample()).replace(/<edXML:Subject>.*?<\/edXML:Subject>/, '');
    const e = expectEdxmlError(() => parsePackage(xml, LIMITS), 'EDXML_INVALID', /MessageHeader\/Subject$/);
    expect(e.message).toContain('Subject');
  });

  it('names a bad DocumentId, date and priority', () => {
    expectEdxmlError(
      () => parsePackage(buildPackage(sample({ documentId: 'nonsense' })), LIMITS),
      'EDXML_INVALID',
      /DocumentId$/,
    );
    const badDate = buildPackage(sample()).replace(
      '<edXML:PromulgationDate>2015/09/30',
      '<edXML:PromulgationDate>2015/02/30',
    );
    expectEdxmlError(() => parsePackage(badDate, LIMITS), 'EDXML_INVALID', /PromulgationDate$/);
    const badPriority = buildPackage(sample()).replace('<edXML:Priority>1<', '<edXML:Priority>9<');
    expectEdxmlError(() => parsePackage(badPriority, LIMITS), 'EDXML_INVALID', /Priority$/);
  });

  it('refuses malformed XML as EDXML_INVALID', () => {
    expectEdxmlError(() => parsePackage('<edXML><unclosed></edXML>', LIMITS), 'EDXML_INVALID');
    expectEdxmlError(() => parsePackage('not xml at all', LIMITS), 'EDXML_INVALID');
  });

  it('refuses XXE and billion laughs before parsing', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><edXML>&xxe;</edXML>`;
    expectEdxmlError(() => parseEdxml(xxe, LIMITS), 'EDXML_FORBIDDEN_CONSTRUCT');
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join(
        '',
      ) +
      ']><lolz>&lol9;</lolz>';
    expectEdxmlError(() => parseEdxml(laughs, LIMITS), 'EDXML_FORBIDDEN_CONSTRUCT');
    // A lone ENTITY declaration, in lowercase, or after a comment.
    expectEdxmlError(() => parseEdxml('<!-- x --><!doctype a><a/>', LIMITS), 'EDXML_FORBIDDEN_CONSTRUCT');
  });

  it('bounds size and depth', () => {
    expectEdxmlError(() => parseEdxml(buildPackage(sample()), { maxBytes: 100 }), 'EDXML_TOO_LARGE');
    const deep = '<a>'.repeat(200) + '</a>'.repeat(200);
    expectEdxmlError(() => parseEdxml(deep, { maxBytes: 1e6, maxDepth: 64 }), 'EDXML_INVALID');
  });

  it('build → parse is lossless for random documents with Vietnamese text', () => {
    const vn =
      'aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐÂĂÊÔƠƯ ,.-/&<>"\'\n\r\t';
    const text = fc
      .array(fc.constantFrom(...vn.split('')), { minLength: 1, maxLength: 60 })
      .map((a) => a.join('').trim())
      .filter((s) => s.length > 0);
    const code = fc.stringMatching(/^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$/);
    const day = fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    const instant = fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString());
    const organ = fc.record({ organId: code, organName: text });
    fc.assert(
      fc.property(
        fc.record({
          from: organ,
          to: fc.array(organ, { minLength: 1, maxLength: 3 }),
          date: day,
          number: fc.stringMatching(/^[0-9]{1,5}$/),
          notation: text.map((t) => t.replace(/[\s,]/g, '-')),
          subject: text,
          content: fc.option(text, { nil: undefined }),
          signer: fc.record({
            competence: fc.option(text, { nil: undefined }),
            position: text,
            fullName: text,
          }),
          priority: fc.constantFrom(0, 1, 2, 3, 4),
          steering: fc.constantFrom(0, 1, 2),
          traces: fc.array(fc.record({ organId: code, timestamp: instant }), { maxLength: 3 }),
          business: fc.constantFrom(0, 1, 2, 3),
          reason: fc.option(text, { nil: undefined }),
          attachments: fc.array(fc.record({ name: text, bytes: fc.uint8Array({ maxLength: 300 }) }), {
            maxLength: 3,
          }),
        }),
        (r) => {
          const p: EdxmlPackage = sample({
            from: r.from,
            to: r.to,
            documentId: formatDocumentId(r.from.organId, r.date, r.number, r.notation),
            codeNumber: r.number,
            codeNotation: r.notation,
            promulgationDate: r.date,
            promulgationPlace: undefined,
            subject: r.subject,
            content: r.content,
            signer: r.signer,
            dueDate: undefined,
            priority: r.priority as EdxmlPackage['priority'],
            steeringType: r.steering as EdxmlPackage['steeringType'],
            traces: r.traces,
            toPlaces: [],
            businessDocType: r.business as EdxmlPackage['businessDocType'],
            businessDocReason: r.reason,
            attachments: r.attachments.map((a, i) => ({
              contentId: `cid:${i}`,
              name: a.name,
              contentType: 'application/pdf',
              content: Buffer.from(a.bytes),
            })),
          });
          const back = parsePackage(buildPackage(p), LIMITS).package;
          expect(back.subject).toBe(p.subject);
          expect(back.content).toBe(p.content);
          expect(back.signer).toEqual(withUndefined(p.signer, ['competence', 'position', 'fullName']));
          expect(back.from.organName).toBe(p.from.organName);
          expect(back.to.map((t) => t.organId)).toEqual(p.to.map((t) => t.organId));
          expect(back.traces).toEqual(p.traces);
          expect(back.businessDocReason).toBe(p.businessDocReason);
          expect(back.priority).toBe(p.priority);
          expect(back.steeringType).toBe(p.steeringType);
          expect(back.businessDocType).toBe(p.businessDocType);
          expect(parseDocumentId(back.documentId)).toEqual({
            organId: r.from.organId,
            date: r.date,
            number: r.number,
            notation: r.notation,
          });
          expect(back.attachments.map((a) => [a.name, a.content.toString('hex')])).toEqual(
            p.attachments.map((a) => [a.name, a.content.toString('hex')]),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('edXML status messages', () => {
  it('build → parse as a SOAP 1.1 envelope with edXML:Status', () => {
    const xml = buildStatus({
      responseFor: {
        organId: '000.00.00.G22',
        code: '7816/VPCP-TTĐT',
        promulgationDate: '2015-09-30',
        documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT',
      },
      from: { organId: '000.00.01.H01', organName: 'Tỉnh ủy Hà Giang' },
      statusCode: '02',
      description: 'Sai thể thức văn bản',
      timestamp: '2026-01-02T03:04:05.000Z',
      staffInfo: { department: 'Văn thư', staff: 'Trần Thị B' },
    });
    expect(xml).toContain('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"');
    expect(xml).toContain('<SOAP-ENV:Header><edXML:Status>');
    const s = parseStatus(xml, LIMITS);
    expect(s.statusCode).toBe('02');
    expect(s.description).toBe('Sai thể thức văn bản');
    expect(s.timestamp).toBe('2026-01-02T03:04:05.000Z');
    expect(s.responseFor.documentId).toBe('000.00.00.G22,2015/09/30,7816/VPCP-TTĐT');
    expect(s.from.organId).toBe('000.00.01.H01');
  });

  it('accepts both timestamp forms and refuses a bad status code', () => {
    expect(parseEdxmlTimestamp('02/01/2026 10:04:05', 'T')).toBe('2026-01-02T03:04:05.000Z');
    expect(parseEdxmlTimestamp('2026/01/02 10:04:05', 'T')).toBe('2026-01-02T03:04:05.000Z');
    expectEdxmlError(() => parseEdxmlTimestamp('2026-13-02 10:04:05', 'T'), 'EDXML_INVALID', /^T$/);
    const bad = buildStatus({
      responseFor: { organId: 'A', documentId: 'A,2026/01/01,1/X' },
      from: { organId: 'B' },
      statusCode: '3',
      timestamp: new Date().toISOString(),
    });
    expectEdxmlError(() => parseStatus(bad, LIMITS), 'EDXML_INVALID', /StatusCode$/);
  });
});

describe('edXML signatures', () => {
  const node = generateSelfSigned('test-node-a', 1024);
  const other = generateSelfSigned('test-node-b', 1024);

  it('a signed package verifies, is trusted by the right certificate and still parses', () => {
    const signed = signPackage(buildPackage(sample()), node);
    expect(signed.indexOf('Signature')).toBeGreaterThan(signed.indexOf('</edXML:TraceHeaderList>'));
    const check = verifyPackage(signed, [node.certPem], LIMITS.maxBytes);
    expect(check).toMatchObject({ present: true, valid: true, trusted: true });
    expect(verifyPackage(signed, [other.certPem], LIMITS.maxBytes)).toMatchObject({
      valid: true,
      trusted: false,
    });
    expect(parsePackage(signed, LIMITS).package.subject).toBe(sample().subject);
  });

  it('a tampered package is reported invalid; an unsigned one as absent', () => {
    const signed = signPackage(buildPackage(sample()), node);
    const tampered = signed.replace('triển khai', 'hủy bỏ');
    const check = verifyPackage(tampered, [node.certPem], LIMITS.maxBytes);
    expect(check.present).toBe(true);
    expect(check.valid).toBe(false);
    expect(check.problem).toBeDefined();
    expect(verifyPackage(buildPackage(sample()), [node.certPem], LIMITS.maxBytes)).toMatchObject({
      present: false,
      valid: false,
    });
  });
});

function reviveBuffers(_k: string, v: unknown) {
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer')
    return Buffer.from((v as { data: number[] }).data);
  return v;
}

function withUndefined<T extends object>(o: T, keys: (keyof T)[]): T {
  const out = { ...o };
  for (const k of keys) if (out[k] === undefined || out[k] === null) out[k] = undefined as T[keyof T];
  return out;
}

describe('parser limits', () => {
  it('refuses a package naming more To entries than allowed as EDXML_INVALID (400), not later', () => {
    const to = Array.from({ length: 6 }, (_, i) => ({ organId: `000.00.00.H${10 + i}` }));
    const xml = buildPackage(sample({ to }));
    expect(parsePackage(xml, { ...LIMITS, maxRecipients: 6 }).package.to).toHaveLength(6);
    let caught: unknown;
    try {
      parsePackage(xml, { ...LIMITS, maxRecipients: 5 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EdxmlError);
    expect(caught).toMatchObject({
      code: 'EDXML_INVALID',
      element: 'edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To',
    });
    expect((caught as Error).message).toContain('at most 5');
  });
});
