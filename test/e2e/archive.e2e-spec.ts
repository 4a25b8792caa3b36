import { makeCa, makeSigner, minimalPdf, signPdf } from '@lienthong/testing';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { open as openZip, type Entry, type ZipFile } from 'yauzl';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const PROVINCE_A = '000.31.00.P31';
const PROVINCE_B = '000.32.00.P32';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear(); // register years follow Vietnam time

async function unzip(path: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<ZipFile>((res, rej) =>
    openZip(path, { lazyEntries: true }, (e, z) => (e ? rej(e) : res(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((res, rej) => {
    zip.on('end', () => res());
    zip.on('error', rej);
    zip.on('entry', (entry: Entry) =>
      zip.openReadStream(entry, async (e, s) => {
        if (e) return rej(e);
        const chunks: Buffer[] = [];
        for await (const c of s) chunks.push(c as Buffer);
        files.set(entry.fileName, Buffer.concat(chunks));
        zip.readEntry();
      }),
    );
    zip.readEntry();
  });
  return files;
}

function writeBag(dir: string, files: Map<string, Buffer>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, b] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), b);
  }
}

/** What a forger controlling the whole package would do after editing a payload file: re-seal both manifests. */
function reseal(files: Map<string, Buffer>): void {
  const payload = [...files].filter(([n]) => n.startsWith('data/'));
  files.set('manifest-sha256.txt', Buffer.from(payload.map(([n, b]) => `${sha256(b)}  ${n}\n`).join('')));
  const tags = ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt'];
  files.set(
    'tagmanifest-sha256.txt',
    Buffer.from(tags.map((n) => `${sha256(files.get(n)!)}  ${n}\n`).join('')),
  );
}

/**
 * The built CLI, as an archivist runs it; `npm` runs the package script itself. Asynchronous, so the test's
 * event loop keeps serving its HTTP connections meanwhile.
 */
function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
}
const auditVerify = (...args: string[]) =>
  run(process.execPath, [join(ROOT, 'services/audit/dist/cli/verify.js'), ...args]);

/** Issue 15 item 7: a register year as an archive package, verified offline. */
describe('archive package of a register year', () => {
  const work = mkdtempSync(join(tmpdir(), 'lt-e2e-archive-'));
  const ca = makeCa('Ban Co yeu Test CA');
  const leader = makeSigner('Bi thu Tinh uy A', ca);
  writeFileSync(join(work, 'anchors.pem'), ca.pem);
  const platform = new PlatformProcesses({ documents: { TRUST_ANCHORS: join(work, 'anchors.pem') } });
  const tokens: Record<string, string> = {};
  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);
  const pdfs: Buffer[] = [];
  const copies: string[] = [];
  const sources: string[] = [];

  beforeAll(async () => {
    await platform.start();
    const admin = await loginAt(platform, 'admin', platform.adminPassword);
    tokens.admin = admin;
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const [code, name] of [
      [PROVINCE_A, 'Tỉnh ủy A'],
      [PROVINCE_B, 'Tỉnh ủy B'],
    ]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    const password = 'Archive-e2e-Passw0rd!';
    for (const [username, org, roles] of [
      ['clerk.a', PROVINCE_A, ['clerk']],
      ['clerk.b', PROVINCE_B, ['clerk']],
      ['auditor.b', PROVINCE_B, ['auditor']],
      ['specialist.b', PROVINCE_B, ['specialist']],
      ['cleared.a', PROVINCE_A, ['clerk', 'cleared']],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
      tokens[username] = await loginAt(platform, username, password);
    }

    // Two signed decisions from A to B; B accepts the first.
    for (const n of [1, 2]) {
      const created = await api('documents', 'POST', '/api/v1/documents', tokens['clerk.a'], {
        number: String(40 + n),
        notation: 'QĐ/TU',
        type: 'QD',
        typeName: 'Quyết định',
        subject: `Lưu trữ quyết định số ${n}`,
        promulgationPlace: 'Hà Nội',
        promulgationDate: '2026-11-20',
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'normal',
        recipients: [PROVINCE_B],
      });
      expect(created.status).toBe(201);
      sources.push(created.body.id);
      const pdf = signPdf(minimalPdf(`Quyết định ${n}`), leader);
      pdfs.push(pdf);
      const form = new FormData();
      form.append('file', new Blob([pdf], { type: 'application/pdf' }), `quyết định ${n}.pdf`);
      const up = await fetch(`${platform.url('documents')}/api/v1/documents/${created.body.id}/attachments`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tokens['clerk.a']}` },
        body: form,
      });
      expect(up.status).toBe(201);
      const send = await api(
        'documents',
        'POST',
        `/api/v1/documents/${created.body.id}/send`,
        tokens['clerk.a'],
      );
      expect(send.status).toBe(202);
      const copy = await until(async () => {
        const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens['clerk.b']);
        return r.body.items?.find((d: { subject: string }) => d.subject === `Lưu trữ quyết định số ${n}`);
      }, `incoming copy ${n}`);
      copies.push(copy.id);
    }
    // The sender corrects the second one (business type 2); the recipient's copy records it.
    const update = await api(
      'documents',
      'POST',
      `/api/v1/documents/${sources[1]}/update`,
      tokens['clerk.a'],
      {
        reason: 'Sửa độ khẩn',
        changes: { urgency: 'urgent' },
      },
    );
    expect(update.status).toBe(202);
    await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/documents/${copies[1]}`, tokens['clerk.b']);
      return r.body.history?.some((h: { businessType: number }) => h.businessType === 2);
    }, 'the update on the recipient copy');
    const accepted = await api(
      'documents',
      'POST',
      `/api/v1/documents/${copies[0]}/status`,
      tokens['clerk.b'],
      {
        status: 'accepted',
      },
    );
    expect(accepted.status).toBe(200);
    // The package proves what the audit log holds: wait until the copies' events are logged.
    for (const [id, action] of [
      [copies[0], 'document.status.changed'],
      [copies[1], 'document.received'],
    ]) {
      await until(async () => {
        const r = await api('audit', 'GET', `/api/v1/audit/events?resourceId=${id}`, admin);
        return r.body.items?.some((e: { action: string }) => e.action === action);
      }, `${action} of ${id} in the audit log`);
    }
  });

  afterAll(async () => {
    await platform.stop();
    rmSync(work, { recursive: true, force: true });
  });

  let bag: Map<string, Buffer>;
  const zipPath = () => join(work, 'incoming.zip');

  it("streams the recipient's incoming register year as a BagIt ZIP with each document's record", async () => {
    const res = await fetch(`${platform.url('documents')}/api/v1/registers/incoming/archive?year=${year}`, {
      headers: { Authorization: `Bearer ${tokens['clerk.b']}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toContain(`incoming-register-${year}.zip`);
    writeFileSync(zipPath(), Buffer.from(await res.arrayBuffer()));
    bag = await unzip(zipPath());

    for (const tag of ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'tagmanifest-sha256.txt'])
      expect(bag.has(tag)).toBe(true);
    expect(bag.get('bagit.txt')!.toString()).toBe('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
    const info = bag.get('bag-info.txt')!.toString();
    expect(info).toContain(`External-Identifier: ${PROVINCE_B}/incoming/${year}\n`);
    const payload = [...bag].filter(([n]) => n.startsWith('data/'));
    const octets = payload.reduce((s, [, b]) => s + b.length, 0);
    expect(info).toContain(`Payload-Oxum: ${octets}.${payload.length}\n`);
    // Every payload file is listed with its hash, and nothing else is.
    const manifest = bag
      .get('manifest-sha256.txt')!
      .toString()
      .trim()
      .split('\n')
      .map((l) => /^([0-9a-f]{64}) +(.+)$/.exec(l)!);
    expect(manifest.map((m) => m[2]).sort()).toEqual(payload.map(([n]) => n).sort());
    for (const m of manifest) expect(sha256(bag.get(m[2])!)).toBe(m[1]);

    const register = JSON.parse(bag.get('data/register.json')!.toString());
    expect(register.entries.map((e: { documentId: string }) => e.documentId)).toEqual(copies);

    for (const [i, id] of copies.entries()) {
      const dir = `data/documents/00000${i + 1}`;
      const doc = JSON.parse(bag.get(`${dir}/document.json`)!.toString());
      expect(doc).toMatchObject({
        id,
        direction: 'incoming',
        arrivalNumber: i + 1,
        fromOrganizationCode: PROVINCE_A,
        subject: `Lưu trữ quyết định số ${i + 1}`,
      });
      const file = `${dir}/files/1-quyết định ${i + 1}.pdf`;
      expect(bag.get(file)!.equals(pdfs[i])).toBe(true);
      expect(doc.files).toEqual([expect.objectContaining({ path: `files/1-quyết định ${i + 1}.pdf` })]);

      const edxml = bag.get(`${dir}/document.edxml`)!.toString();
      expect(edxml).toContain('<edXML:Subject>Lưu trữ quyết định số');
      expect(edxml).toContain(`<edXML:From><edXML:OrganId>${PROVINCE_A}</edXML:OrganId></edXML:From>`);
      expect(edxml).toContain(`<edXML:AttachmentName>quyết định ${i + 1}.pdf</edXML:AttachmentName>`);

      const [verdict] = JSON.parse(bag.get(`${dir}/signatures.json`)!.toString());
      expect(verdict.signature).toMatchObject({
        present: true,
        valid: true,
        trusted: true,
        signer: 'Bi thu Tinh uy A',
      });

      const history = JSON.parse(bag.get(`${dir}/history.json`)!.toString());
      const actions = history.changes.map((c: { action: string }) => c.action);
      expect(actions).toContain('document.received');
      expect(history.current.status).toBe(i === 0 ? 'accepted' : 'arrived');
      if (i === 0) expect(actions).toContain('document.status.changed');
      if (i === 1) {
        expect(history.businessHistory).toEqual([
          expect.objectContaining({ businessType: 2, reason: 'Sửa độ khẩn' }),
        ]);
        expect(doc.urgency).toBe('urgent');
      }

      const proofs = JSON.parse(bag.get(`${dir}/audit-proofs.json`)!.toString());
      expect(proofs.events.length).toBeGreaterThanOrEqual(actions.length);
      for (const e of proofs.events) expect([id, doc.attachments[0].id]).toContain(e.event.resource.id);
    }

    // The checkpoint in the package is one the audit service signed and still publishes.
    const checkpoint = JSON.parse(bag.get('data/audit/checkpoint.json')!.toString());
    const all = await api('audit', 'GET', '/api/v1/audit/checkpoints?limit=500', tokens.admin);
    expect(all.body.items).toContainEqual(checkpoint);
  });

  it('verifies offline with `npm run audit:verify -- --bag`', async () => {
    const r = await run('npm', ['run', '--silent', 'audit:verify', '--', '--bag', zipPath()]);
    expect(r.out).toMatch(/^OK: bag verified: \d+ files, 2 documents, \d+ audit events/);
    expect(r.code).toBe(0);
    // The unpacked folder verifies the same way.
    writeBag(join(work, 'unpacked'), bag);
    expect((await auditVerify('--bag', join(work, 'unpacked'))).code).toBe(0);
  });

  it('fails, naming the problem, when a file or a proof was tampered with', async () => {
    const file = 'data/documents/000001/files/1-quyết định 1.pdf';
    const altered = new Map(bag);
    altered.set(file, Buffer.concat([pdfs[0], Buffer.from('\n% appended')]));
    writeBag(join(work, 'altered-file'), altered);
    const a = await auditVerify('--bag', join(work, 'altered-file'));
    expect(a.code).toBe(1);
    expect(a.out).toContain(`${file}: SHA-256`);
    expect(a.out).toContain('the file was altered');

    // A forged proof, even with the manifests re-sealed, does not lead to the signed root.
    const forged = new Map(bag);
    const proofsFile = 'data/documents/000002/audit-proofs.json';
    const proofs = JSON.parse(bag.get(proofsFile)!.toString());
    const target = proofs.events.find((e: { auditPath: string[] }) => e.auditPath.length > 0);
    target.auditPath[0] = target.auditPath[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
    forged.set(proofsFile, Buffer.from(JSON.stringify(proofs)));
    reseal(forged);
    writeBag(join(work, 'forged-proof'), forged);
    const b = await auditVerify('--bag', join(work, 'forged-proof'));
    expect(b.code).toBe(1);
    expect(b.out).toContain(
      `${proofsFile}: event at leaf ${target.leafIndex}: inclusion proof does not lead`,
    );

    // A changed event (a status rewritten after the fact) no longer hashes to its leaf.
    const rewritten = new Map(bag);
    const p1 = JSON.parse(bag.get('data/documents/000001/audit-proofs.json')!.toString());
    p1.events[0].event.outcome = 'failure';
    rewritten.set('data/documents/000001/audit-proofs.json', Buffer.from(JSON.stringify(p1)));
    reseal(rewritten);
    writeBag(join(work, 'rewritten-event'), rewritten);
    const c = await auditVerify('--bag', join(work, 'rewritten-event'));
    expect(c.code).toBe(1);
    expect(c.out).toContain('does not hash to its leaf hash');
  });

  it('is for clerks, org-admins and auditors of the organization; bad input is a 4xx; the export is audited', async () => {
    const get = (token: string, query: string, direction = 'incoming') =>
      fetch(`${platform.url('documents')}/api/v1/registers/${direction}/archive?${query}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
    expect((await get(tokens['specialist.b'], `year=${year}`)).status).toBe(403);
    const bad = await get(tokens['clerk.b'], 'year=abc');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ statusCode: 400 });
    expect((await get(tokens['clerk.b'], `year=${year}`, 'sideways')).status).toBe(404);

    // The auditor's package of the same register holds the same documents.
    const res = await get(tokens['auditor.b'], `year=${year}`);
    expect(res.status).toBe(200);
    writeFileSync(join(work, 'auditor.zip'), Buffer.from(await res.arrayBuffer()));
    const files = await unzip(join(work, 'auditor.zip'));
    expect([...files.keys()].filter((n) => n.endsWith('/document.json'))).toHaveLength(2);

    // A sender's outgoing register is a package too (the sender's copy, with its recipients); a classified
    // entry (a Mật draft, never sent) is in it only for a cleared clerk, as in the register.
    const secret = await api('documents', 'POST', '/api/v1/documents', tokens['clerk.a'], {
      number: '77',
      notation: 'QĐ/TU',
      type: 'QD',
      subject: 'Văn bản mật',
      promulgationDate: '2026-11-21',
      signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
      secrecy: 'secret',
      urgency: 'normal',
      recipients: [PROVINCE_B],
    });
    expect(secret.status).toBe(201);
    const subjects = async (token: string, name: string) => {
      const res = await get(token, `year=${year}`, 'outgoing');
      expect(res.status).toBe(200);
      writeFileSync(join(work, name), Buffer.from(await res.arrayBuffer()));
      expect((await auditVerify('--bag', join(work, name))).code).toBe(0);
      const files = await unzip(join(work, name));
      return [...files]
        .filter(([n]) => n.endsWith('/document.json'))
        .map(([, b]) => JSON.parse(b.toString()))
        .map((d: { subject: string; recipients: { organizationCode: string }[] }) => {
          expect(d.recipients.map((r) => r.organizationCode)).toEqual([PROVINCE_B]);
          return d.subject;
        })
        .sort();
    };
    expect(await subjects(tokens['clerk.a'], 'outgoing.zip')).toEqual([
      'Lưu trữ quyết định số 1',
      'Lưu trữ quyết định số 2',
    ]);
    expect(await subjects(tokens['cleared.a'], 'outgoing-cleared.zip')).toEqual([
      'Lưu trữ quyết định số 1',
      'Lưu trữ quyết định số 2',
      'Văn bản mật',
    ]);

    await until(async () => {
      const r = await api('audit', 'GET', '/api/v1/audit/events?action=register.archived', tokens.admin);
      return r.body.items?.some(
        (e: { resource: { id: string }; actor: { organizationCode: string } }) =>
          e.resource.id === `${PROVINCE_B}/incoming/${year}` && e.actor.organizationCode === PROVINCE_B,
      );
    }, 'register.archived in the audit log');
  });
});
