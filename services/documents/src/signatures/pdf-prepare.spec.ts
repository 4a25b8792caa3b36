import { Readable } from 'node:stream';
import { preparePdf, preparePdfBuffer, type RandomAccessSource } from './pdf-prepare';
import { MAX_DICTIONARY_BYTES } from './pdf-scan';

/** A file read by ranges in chunks of `chunk` bytes, counting the bytes handed out at once. */
function source(file: Buffer, chunk: number): RandomAccessSource & { largestRead: number } {
  const s = {
    size: file.length,
    largestRead: 0,
    open(range?: { start: number; end: number }) {
      const { start, end } = range ?? { start: 0, end: file.length };
      function* chunks() {
        for (let at = start; at < end; at += chunk) yield file.subarray(at, Math.min(end, at + chunk));
      }
      return Readable.from(chunks());
    },
    async read(range: { start: number; end: number }) {
      s.largestRead = Math.max(s.largestRead, range.end - range.start);
      return file.subarray(range.start, range.end);
    },
  };
  return s;
}

const sig = (n: number, br: string, contents = '3082ab') =>
  `${n} 0 obj << /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange ${br} /Contents <${contents}> >> endobj\n`;

describe('preparing a PDF for signature checks from ranges and streams', () => {
  const cases: [string, Buffer][] = [];
  const head = '%PDF-1.7\n';
  /** A signature whose ByteRange leaves out exactly its Contents and runs to the end of the file. */
  const wellFormed = (rest: string) => {
    const draft = head + sig(3, '[0 0000 0000 0000]');
    const open = draft.indexOf('<3082ab>');
    const close = open + '<3082ab>'.length;
    const pad = (n: number) => String(n).padStart(4, '0');
    const total = draft.length + rest.length;
    return head + sig(3, `[0 ${pad(open)} ${pad(close)} ${pad(total - close)}]`) + rest;
  };
  const one = wellFormed('x'.repeat(40) + '\n%%EOF\n');
  cases.push(['one signature', Buffer.from(one, 'latin1')]);
  cases.push([
    'two signatures, a look-alike key and a range ending before the file',
    Buffer.from(one + '/ByteRangeX [1 2 3 4]\n%%EOF\n' + sig(4, '[0 10 20 5]') + 'tail', 'latin1'),
  ]);
  cases.push([
    'an unsigned file',
    Buffer.from(head + '1 0 obj << /Type /Catalog >> endobj\n%%EOF', 'latin1'),
  ]);
  cases.push(['a file ending with the key', Buffer.from(head + 'trailer /ByteRange', 'latin1')]);
  cases.push([
    'a key far into a large file (windows, not the file)',
    Buffer.concat([
      Buffer.alloc(3 * MAX_DICTIONARY_BYTES, 0x20),
      Buffer.from(sig(9, '[0 10 20 30]') + '%%EOF', 'latin1'),
    ]),
  ]);

  it.each(cases)(
    '%s: the same as from the file in memory, whatever the chunk boundaries',
    async (_, file) => {
      const expected = preparePdfBuffer(file, 20);
      const chunks = file.length > MAX_DICTIONARY_BYTES ? [4093, 64 * 1024] : [1, 7, 10, 11, 64 * 1024];
      for (const chunk of chunks) {
        const src = source(file, chunk);
        expect(await preparePdf(src, 20)).toEqual(expected);
        expect(src.largestRead).toBeLessThanOrEqual(2 * MAX_DICTIONARY_BYTES);
      }
    },
  );

  it('hashes a well-formed signed range with every digest, and stops counting past the maximum', async () => {
    const file = cases[0][1];
    const p = await preparePdf(source(file, 5), 20);
    expect(p.count).toBe(1);
    expect(Object.keys(p.signatures[0].digests ?? {}).sort()).toEqual([
      'sha1',
      'sha224',
      'sha256',
      'sha384',
      'sha512',
    ]);
    const many = Buffer.from(head + [1, 2, 3].map((n) => sig(n, '[0 1 2 3]')).join(''), 'latin1');
    const capped = await preparePdf(source(many, 13), 2);
    expect(capped).toEqual({ size: many.length, count: 3, signatures: [] });
    expect(preparePdfBuffer(many, 2).count).toBe(3);
  });
});
