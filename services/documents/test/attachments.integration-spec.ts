import {
  AuditActions,
  Buckets,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentSendRequestedEvent,
} from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { Objm } from '@nats-io/obj';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PdfSignatureVerifier } from '../src/signatures/pdf-signature.verifier';
import { documentBody, DocumentsHarness } from './support/harness';
import { makeCa, makeSigner, minimalPdf, signPdf, type TestIdentity } from '@lienthong/testing';

jest.setTimeout(90_000);

const A = '000.00.00.H01';
const B = '000.00.00.H02';
const C = '000.00.00.H03';
const LIMIT = 200_000;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('attachments: streamed upload, storage, signatures, object store (real PG, NATS, crypto)', () => {
  const h = new DocumentsHarness();
  const pki = mkdtempSync(join(tmpdir(), 'lt-pki-'));
  let ca: TestIdentity;
  let signer: TestIdentity;
  let clerkA: string;
  let clerkB: string;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  beforeAll(async () => {
    ca = makeCa('Test Government CA');
    signer = makeSigner('Nguyen Van A', ca);
    writeFileSync(join(pki, 'anchors.pem'), ca.pem);
    await h.start({ TRUST_ANCHORS: join(pki, 'anchors.pem'), ATTACHMENT_MAX_BYTES: String(LIMIT) });
    h.knownOrganizations.add(A).add(B).add(C);
    clerkA = await h.token(A);
    clerkB = await h.token(B);
  });
  afterAll(async () => {
    await h.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  async function draft(): Promise<string> {
    const res = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: [B] }));
    expect(res.status).toBe(201);
    return res.body.id;
  }

  const upload = (id: string, bytes: Buffer, name: string, token = clerkA) =>
    h.http
      .post(`/api/v1/documents/${id}/attachments`)
      .set(auth(token))
      .attach('file', bytes, { filename: name, contentType: 'text/plain' });

  it('verifies a signed PDF on upload, sniffing its type from the bytes', async () => {
    const id = await draft();
    const pdf = signPdf(minimalPdf(), signer);
    const res = await upload(id, pdf, 'quyet-dinh.pdf');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'quyet-dinh.pdf',
      contentType: 'application/pdf',
      size: pdf.length,
      sha256: createHash('sha256').update(pdf).digest('hex'),
      signature: {
        present: true,
        valid: true,
        trusted: true,
        signer: 'Nguyen Van A',
        issuer: 'Test Government CA',
      },
    });
    expect(res.body.signature.signedAt).toEqual(expect.any(String));

    const tampered = Buffer.from(pdf);
    tampered[tampered.indexOf('/Count 0') + 7] = 0x31;
    const bad = await upload(id, tampered, 'tampered.pdf');
    expect(bad.body.signature).toMatchObject({ present: true, valid: false, trusted: false });

    const doc = await h.http.get(`/api/v1/documents/${id}`).set(auth(clerkA));
    expect(doc.body.attachments).toHaveLength(2);
  });

  it('sniffs non-PDF content and stores identical content once', async () => {
    const id = await draft();
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from(randomUUID()),
    ]);
    const before = filesUnder(h.attachmentsDir).length;
    const one = await upload(id, png, 'scan.pdf');
    const two = await upload(id, png, 'scan-copy.png');
    expect(one.status).toBe(201);
    expect(two.status).toBe(201);
    expect(one.body.contentType).toBe('image/png');
    expect(one.body.signature).toEqual({ present: false, valid: false, trusted: false });
    expect(one.body.sha256).toBe(two.body.sha256);
    expect(one.body.id).not.toBe(two.body.id);
    expect(filesUnder(h.attachmentsDir).length).toBe(before + 1);
  });

  it('answers 413 over the size limit and leaves nothing behind', async () => {
    const id = await draft();
    const before = filesUnder(h.attachmentsDir);
    const res = await upload(id, Buffer.alloc(LIMIT + 10_000, 7), 'big.bin');
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('ATTACHMENT_TOO_LARGE');
    expect(filesUnder(h.attachmentsDir)).toEqual(before);
    const [{ n }] = await h.db.query('SELECT count(*)::int AS n FROM attachments WHERE document_id = $1', [
      id,
    ]);
    expect(n).toBe(0);
  });

  it('rejects a request without the file field and hides other organizations documents', async () => {
    const id = await draft();
    const noFile = await h.http
      .post(`/api/v1/documents/${id}/attachments`)
      .set(auth(clerkA))
      .field('other', 'x');
    expect(noFile.status).toBe(400);
    expect(noFile.body.fields[0].field).toBe('file');
    const json = await h.http
      .post(`/api/v1/documents/${id}/attachments`)
      .set(auth(clerkA))
      .send({ file: 'x' });
    expect(json.status).toBe(400);
    const foreign = await upload(id, Buffer.from('hello'), 'a.txt', clerkB);
    expect(foreign.status).toBe(404);
  });

  it('serves content with an audited read, sends bytes through the object store and fetches them on delivery', async () => {
    const id = await draft();
    const pdf = signPdf(minimalPdf(`Nội dung ${randomUUID()}`), signer);
    const sha = createHash('sha256').update(pdf).digest('hex');
    const att = (await upload(id, pdf, 'vb.pdf')).body;

    const content = await h.http
      .get(`/api/v1/documents/${id}/attachments/${att.id}/content`)
      .set(auth(clerkA))
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(content.status).toBe(200);
    expect(content.headers['content-type']).toBe('application/pdf');
    expect(Buffer.compare(content.body as Buffer, pdf)).toBe(0);
    expect(
      (await h.http.get(`/api/v1/documents/${id}/attachments/${att.id}/content`).set(auth(clerkB))).status,
    ).toBe(404);
    const reads = (await eventually(async () => {
      const events = (
        await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)
      ).map((e) => e.data);
      const r = events.filter(
        (e) => e.action === AuditActions.attachmentContentRead && e.resource.id === att.id,
      );
      return r.length > 0 ? r : undefined;
    }))!;
    expect(reads[0]).toMatchObject({ outcome: 'success', actor: { organizationCode: A } });

    expect((await h.http.post(`/api/v1/documents/${id}/send`).set(auth(clerkA))).status).toBe(202);
    const os = await new Objm(h.nc).open(Buckets.attachments());
    const stored = await os.getBlob(sha);
    expect(stored && Buffer.compare(Buffer.from(stored), pdf)).toBe(0);
    const sent = (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === id,
      ),
    ))!;
    expect(sent.data.attachments).toEqual([
      expect.objectContaining({ sha256: sha, storageKey: sha, size: pdf.length }),
    ]);
    // Attaching after send is refused.
    expect((await upload(id, Buffer.from('late'), 'late.txt')).status).toBe(409);

    // Remove the local copy so the delivery must fetch the bytes from the object store.
    const local = filesUnder(h.attachmentsDir).find((f) => f.endsWith(sha))!;
    unlinkSync(local);
    await h.deliver({
      deliveryId: randomUUID(),
      sourceDocumentId: id,
      edxmlDocumentId: id,
      fromOrganizationCode: A,
      toOrganizationCode: B,
      document: sent.data.document,
      attachments: sent.data.attachments,
    });
    const incoming = await eventually(async () => {
      const r = await h.http.get('/api/v1/documents?direction=incoming').set(auth(clerkB));
      return (r.body.items as { attachments: { id: string; signature: { trusted: boolean } }[] }[])[0];
    });
    expect(existsSync(local)).toBe(true);
    expect(incoming.attachments[0].signature.trusted).toBe(true);
    const got = await h.http
      .get(
        `/api/v1/documents/${(incoming as unknown as { id: string }).id}/attachments/${incoming.attachments[0].id}/content`,
      )
      .set(auth(clerkB));
    expect(got.status).toBe(200);

    // The signed share of the report counts A's sent and B's received document.
    const report = await h.http
      .get('/api/v1/reports/exchange?from=2026-01-01&to=2030-12-31')
      .set(auth(await h.token(A, ['auditor'])));
    const b = report.body.organizations.find((o: { code: string }) => o.code === B);
    expect(b).toMatchObject({ received: 1, signedShare: 1 });
  });

  it('puts the bytes in the object store at upload and verifies a PDF once for every local copy', async () => {
    const verify = jest.spyOn(h.app.get(PdfSignatureVerifier), 'verifySource');
    try {
      const id = await draft();
      const pdf = signPdf(minimalPdf(`Chỉ thị ${randomUUID()}`), signer);
      const sha = createHash('sha256').update(pdf).digest('hex');
      const att = (await upload(id, pdf, 'chi-thi.pdf')).body;
      expect(att.signature).toMatchObject({ valid: true, trusted: true });
      // In the shared object store before any send: sending has no bytes to copy.
      const os = await new Objm(h.nc).open(Buckets.attachments());
      const stored = await os.getBlob(sha);
      expect(stored && Buffer.compare(Buffer.from(stored), pdf)).toBe(0);
      expect(verify).toHaveBeenCalledTimes(1);

      expect((await h.http.post(`/api/v1/documents/${id}/send`).set(auth(clerkA))).status).toBe(202);
      const sent = (await eventually(async () =>
        (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
          (e) => e.data.documentId === id,
        ),
      ))!;
      for (const to of [B, C]) {
        await h.deliver({
          deliveryId: randomUUID(),
          sourceDocumentId: id,
          edxmlDocumentId: id,
          fromOrganizationCode: A,
          toOrganizationCode: to,
          document: sent.data.document,
          attachments: sent.data.attachments,
        });
      }
      const copies = await eventually(async () => {
        const [{ n }] = await h.db.query(
          `SELECT count(*)::int AS n FROM attachments a JOIN documents d ON d.id = a.document_id
            WHERE a.sha256 = $1 AND d.direction = 'incoming'`,
          [sha],
        );
        return n === 2 ? n : undefined;
      });
      expect(copies).toBe(2);
      const signatures = await h.db.query(
        `SELECT a.signature FROM attachments a JOIN documents d ON d.id = a.document_id
          WHERE a.sha256 = $1 AND d.direction = 'incoming'`,
        [sha],
      );
      for (const row of signatures) expect(row.signature).toMatchObject({ valid: true, trusted: true });
      // Both recipients' copies took the upload's result: still one verification.
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });
});
