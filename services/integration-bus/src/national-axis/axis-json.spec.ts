import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Base64Blocks, StreamingJsonScanner } from './axis-json';

/** Scans `json` cut at the given sizes; returns the target's text, the top-level scalars and whether it was seen. */
function scan(json: string, sizes: number[]) {
  let target = '';
  const s = new StreamingJsonScanner(['data', 'content'], (t) => (target += t));
  const b = Buffer.from(json, 'utf8');
  let i = 0;
  let k = 0;
  while (i < b.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]);
    s.push(b.subarray(i, i + n));
    i += n;
  }
  s.end();
  return { target, top: s.top, saw: s.sawTarget };
}

describe('getEdoc answers read as a stream (StreamingJsonScanner, Base64Blocks)', () => {
  it('hands over data.content in pieces and keeps the top-level scalars, whatever the cuts (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.string({ maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (bytes, desc, sizes, statusLast) => {
          const content = Buffer.from(bytes).toString('base64');
          const data = { extra: { content: 'not this one' }, content, list: [1, 'x', null] };
          const json = statusLast
            ? JSON.stringify({ data, ErrorDesc: desc, status: 'OK', ErrorCode: 0 })
            : JSON.stringify({ status: 'OK', ErrorCode: '0', ErrorDesc: desc, data });
          const r = scan(json, sizes);
          expect(r.target).toBe(content);
          expect(r.saw).toBe(true);
          expect(r.top.status).toBe('OK');
          expect(r.top.ErrorDesc).toBe(desc);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('escapes in the streamed string are decoded (a JSON writer may escape "/")', () => {
    expect(scan('{"status":"OK","data":{"content":"ab\\/c\\u0064=="}}', [3]).target).toBe('ab/cd==');
  });

  it('a FAIL answer has no content; malformed or truncated JSON throws', () => {
    const r = scan('{"status":"FAIL","ErrorCode":"NOT_FOUND","ErrorDesc":"docid x"}', [7]);
    expect(r).toMatchObject({ saw: false, top: { status: 'FAIL', ErrorCode: 'NOT_FOUND' } });
    expect(() => scan('{"status":"OK","data":{"content":"abc', [5])).toThrow(/ends early/);
    expect(() => scan('{"status":"OK"}}', [5])).toThrow(/malformed/);
    expect(() => scan('{"status":"OK",]', [5])).toThrow(/malformed/);
  });

  it('Base64Blocks decodes in blocks to the same bytes and refuses what is not base64', () => {
    const bytes = randomBytes(300_001);
    const text = bytes.toString('base64');
    const blocks = new Base64Blocks();
    const out: Buffer[] = [];
    for (let i = 0; i < text.length; i += 7777) {
      const b = blocks.push(text.slice(i, i + 7777));
      if (b) out.push(b);
    }
    const last = blocks.end();
    if (last) out.push(last);
    expect(out.length).toBeGreaterThan(2);
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    const bad = new Base64Blocks();
    bad.push('QUJD*EVG');
    expect(() => bad.end()).toThrow(/not base64/);
    const urlSafe = new Base64Blocks();
    urlSafe.push('QU-D');
    expect(() => urlSafe.end()).toThrow(/not base64/);
  });
});
