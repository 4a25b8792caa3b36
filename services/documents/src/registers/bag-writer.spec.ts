import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { fromBuffer, type Entry, type ZipFile } from 'yauzl';
import { BagWriter, manifestPath, safeName } from './bag-writer';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const z = await new Promise<ZipFile>((res, rej) =>
    fromBuffer(zip, { lazyEntries: true }, (e, f) => (e ? rej(e) : res(f))),
  );
  const out = new Map<string, Buffer>();
  await new Promise<void>((res, rej) => {
    z.on('end', () => res());
    z.on('error', rej);
    z.on('entry', (entry: Entry) =>
      z.openReadStream(entry, async (e, s) => {
        if (e) return rej(e);
        const chunks: Buffer[] = [];
        for await (const c of s) chunks.push(c as Buffer);
        out.set(entry.fileName, Buffer.concat(chunks));
        z.readEntry();
      }),
    );
    z.readEntry();
  });
  return out;
}

async function written(fill: (bag: BagWriter) => Promise<void>): Promise<Map<string, Buffer>> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => sink.on('end', r));
  const bag = new BagWriter(sink);
  await fill(bag);
  await ended;
  return unzip(Buffer.concat(chunks));
}

describe('BagWriter', () => {
  it('writes a BagIt 1.0 bag whose manifests hash what it holds', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7); // streamed in many chunks
    const files = await written(async (bag) => {
      await bag.addJson('register.json', { year: 2026, entries: [] });
      await bag.add(
        'documents/000001/files/1-quyết định.pdf',
        Readable.from([big.subarray(0, 1000), big.subarray(1000)]),
        true,
      );
      await bag.add('documents/000001/document.edxml', '<edXML/>');
      await bag.finish({ 'Source-Organization': '000.00.00.G01' }, new Date('2026-11-30T01:00:00Z'));
    });
    expect([...files.keys()].sort()).toEqual([
      'bag-info.txt',
      'bagit.txt',
      'data/documents/000001/document.edxml',
      'data/documents/000001/files/1-quyết định.pdf',
      'data/register.json',
      'manifest-sha256.txt',
      'tagmanifest-sha256.txt',
    ]);
    expect(files.get('bagit.txt')!.toString()).toBe(
      'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n',
    );
    expect(files.get('data/documents/000001/files/1-quyết định.pdf')!.equals(big)).toBe(true);

    const manifest = files.get('manifest-sha256.txt')!.toString().trim().split('\n');
    expect(manifest).toHaveLength(3);
    for (const line of manifest) {
      const [, hash, path] = /^(\S+) +(.+)$/.exec(line)!;
      expect(sha(files.get(path)!)).toBe(hash);
    }
    const payload = [...files].filter(([n]) => n.startsWith('data/'));
    const octets = payload.reduce((n, [, b]) => n + b.length, 0);
    const info = files.get('bag-info.txt')!.toString();
    expect(info).toContain('Source-Organization: 000.00.00.G01\n');
    expect(info).toContain('Bagging-Date: 2026-11-30\n');
    expect(info).toContain(`Payload-Oxum: ${octets}.3\n`);
    const tags = files.get('tagmanifest-sha256.txt')!.toString().trim().split('\n');
    expect(tags.map((l) => l.split(/ +/)[1]).sort()).toEqual([
      'bag-info.txt',
      'bagit.txt',
      'manifest-sha256.txt',
    ]);
    for (const line of tags) {
      const [, hash, path] = /^(\S+) +(.+)$/.exec(line)!;
      expect(sha(files.get(path)!)).toBe(hash);
    }
  });

  it('refuses the same path twice and fails (not hangs) when a source stream errors', async () => {
    const sink = new PassThrough();
    sink.resume();
    const bag = new BagWriter(sink);
    await bag.add('a.txt', 'a');
    await expect(bag.add('a.txt', 'b')).rejects.toThrow(/duplicate path/);
    const broken = new Readable({
      read() {
        this.destroy(new Error('attachment store unavailable'));
      },
    });
    await expect(bag.add('b.pdf', broken)).rejects.toThrow(/attachment store unavailable/);
    bag.abort();
  });

  it('encodes manifest paths and file names safely', () => {
    expect(manifestPath('data/a%b\nc\r.txt')).toBe('data/a%25b%0Ac%0D.txt');
    expect(safeName('../etc/passwd')).toBe('__etc_passwd');
    expect(safeName('Quyết định: số 1/2026.pdf')).toBe('Quyết định_ số 1_2026.pdf');
    expect(safeName('\u0000\u0001', 'attachment')).toBe('__');
    expect(safeName('   ', 'attachment')).toBe('attachment');
  });
});
