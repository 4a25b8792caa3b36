import { Buckets, type DocumentSendRequestedEvent, Subjects } from '@lienthong/contracts';
import {
  eventually,
  makeCa,
  makeSigner,
  minimalPdf,
  signPdf,
  startTestS3Server,
  type TestIdentity,
  type TestS3Server,
} from '@lienthong/testing';
import { Objm } from '@nats-io/obj';
import { Client } from 'minio';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachmentStorage } from '../src/attachments/attachment-storage';
import { S3AttachmentStorage } from '../src/attachments/s3-attachment-storage';
import { createDocumentsApp } from '../src/documents.app';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(180_000);

const A = '000.00.00.H01';
const B = '000.00.00.H02';
const PART = 5 * 1024 * 1024;
const LIMIT = 20 * 1024 * 1024;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('attachments in an S3-compatible object store (real S3 server, PG, NATS)', () => {
  const h = new DocumentsHarness();
  const pki = mkdtempSync(join(tmpdir(), 'lt-pki-'));
  const staging = mkdtempSync(join(tmpdir(), 'lt-s3-staging-'));
  let s3: TestS3Server;
  let client: Client;
  let storage: S3AttachmentStorage;
  let signer: TestIdentity;
  let clerkA: string;
  let clerkB: string;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  const s3Env = () => ({
    ATTACHMENTS_STORE: `s3://${s3.bucket}/attachments`,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_PART_SIZE: String(PART),
    ATTACHMENTS_STAGING_DIR: staging,
  });

  beforeAll(async () => {
    s3 = await startTestS3Server();
    console.log(`S3 server for this test: ${s3.kind} at ${s3.endpoint}`);
    const url = new URL(s3.endpoint);
    client = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: url.protocol === 'https:',
      region: s3.region,
      accessKey: s3.accessKeyId,
      secretKey: s3.secretAccessKey,
      pathStyle: true,
    });
    const ca = makeCa('Test Government CA');
    signer = makeSigner('Nguyen Van A', ca);
    writeFileSync(join(pki, 'anchors.pem'), ca.pem);
    await h.start({
      TRUST_ANCHORS: join(pki, 'anchors.pem'),
      ATTACHMENT_MAX_BYTES: String(LIMIT),
      ...s3Env(),
    });
    h.knownOrganizations.add(A).add(B);
    clerkA = await h.token(A);
    clerkB = await h.token(B);
    storage = h.app.get(AttachmentStorage) as S3AttachmentStorage;
  });
  afterAll(async () => {
    await h.stop();
    await s3?.stop();
    rmSync(pki, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  });
  afterEach(() => jest.restoreAllMocks());

  async function draft(): Promise<string> {
    const res = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: [B] }));
    expect(res.status).toBe(201);
    return res.body.id;
  }
  const upload = (id: string, bytes: Buffer, name: string) =>
    h.http
      .post(`/api/v1/documents/${id}/attachments`)
      .set(auth(clerkA))
      .attach('file', bytes, { filename: name, contentType: 'application/octet-stream' });
  const objectBytes = async (key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await client.getObject(s3.bucket, key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const content = (docId: string, attId: string, token: string) =>
    h.http
      .get(`/api/v1/documents/${docId}/attachments/${attId}/content`)
      .set(auth(token))
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });

  it('is the store in use: content-addressed objects in the bucket, nothing in the attachments directory', async () => {
    expect(storage).toBeInstanceOf(S3AttachmentStorage);
    const id = await draft();
    const bytes = Buffer.concat([Buffer.from('Công văn '), randomBytes(4096)]);
    const res = await upload(id, bytes, 'cong-van.txt');
    expect(res.status).toBe(201);
    expect(res.body.sha256).toBe(sha(bytes));
    const key = `attachments/${sha(bytes)}`;
    expect((await client.statObject(s3.bucket, key)).size).toBe(bytes.length);
    expect(Buffer.compare(await objectBytes(key), bytes)).toBe(0);
    expect(readdirSync(h.attachmentsDir)).toEqual([]);
    expect(readdirSync(staging)).toEqual([]);

    const got = await content(id, res.body.id, clerkA);
    expect(got.status).toBe(200);
    expect(Buffer.compare(got.body as Buffer, bytes)).toBe(0);
  });

  it('deduplicates: the same bytes uploaded again are looked up (HEAD) and not sent again', async () => {
    const bytes = randomBytes(64 * 1024);
    const first = await upload(await draft(), bytes, 'a.bin');
    expect(first.status).toBe(201);
    const c = (storage as unknown as { client: Client }).client;
    const puts = jest.spyOn(c, 'putObject');
    const multipart = jest.spyOn(c, 'initiateNewMultipartUpload');
    const heads = jest.spyOn(c, 'statObject');
    const second = await upload(await draft(), bytes, 'b.bin');
    expect(second.status).toBe(201);
    expect(second.body.sha256).toBe(first.body.sha256);
    expect(second.body.id).not.toBe(first.body.id);
    expect(heads).toHaveBeenCalledWith(s3.bucket, `attachments/${sha(bytes)}`);
    expect(puts).not.toHaveBeenCalled();
    expect(multipart).not.toHaveBeenCalled();
    const listed: string[] = [];
    for await (const o of client.listObjectsV2(s3.bucket, `attachments/${sha(bytes)}`, true))
      listed.push((o as { name: string }).name);
    expect(listed).toEqual([`attachments/${sha(bytes)}`]);
  });

  it('sends a body above the part size as a multipart upload and verifies its signature from the store', async () => {
    const c = (storage as unknown as { client: Client }).client;
    const parts = jest.spyOn(c, 'uploadPart');
    const pdf = signPdf(minimalPdf(randomBytes(6 * 1024 * 1024).toString('base64')), signer);
    expect(pdf.length).toBeGreaterThan(2 * PART);
    const id = await draft();
    const res = await upload(id, pdf, 'quyet-dinh.pdf');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      contentType: 'application/pdf',
      size: pdf.length,
      sha256: sha(pdf),
      signature: { present: true, valid: true, trusted: true, signer: 'Nguyen Van A' },
    });
    expect(parts).toHaveBeenCalledTimes(Math.ceil(pdf.length / PART));
    for (const [, payload] of parts.mock.calls) expect((payload as Buffer).length).toBeLessThanOrEqual(PART);
    expect((await client.statObject(s3.bucket, `attachments/${sha(pdf)}`)).size).toBe(pdf.length);
    expect(Buffer.compare(await objectBytes(`attachments/${sha(pdf)}`), pdf)).toBe(0);
    expect(readdirSync(staging)).toEqual([]);
  });

  it('answers 413 over the limit and leaves no object, no staged file', async () => {
    const before: string[] = [];
    for await (const o of client.listObjectsV2(s3.bucket, '', true))
      before.push((o as { name: string }).name);
    const res = await upload(await draft(), Buffer.alloc(LIMIT + 1024, 3), 'big.bin');
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('ATTACHMENT_TOO_LARGE');
    const after: string[] = [];
    for await (const o of client.listObjectsV2(s3.bucket, '', true)) after.push((o as { name: string }).name);
    expect(after.sort()).toEqual(before.sort());
    expect(readdirSync(staging)).toEqual([]);
  });

  it('fetches a delivered attachment from the NATS object store into the bucket', async () => {
    const id = await draft();
    const pdf = signPdf(minimalPdf(`Chỉ thị ${randomUUID()}`), signer);
    const key = `attachments/${sha(pdf)}`;
    expect((await upload(id, pdf, 'chi-thi.pdf')).status).toBe(201);
    const os = await new Objm(h.nc).open(Buckets.attachments());
    expect(Buffer.compare(Buffer.from((await os.getBlob(sha(pdf)))!), pdf)).toBe(0);
    expect((await h.http.post(`/api/v1/documents/${id}/send`).set(auth(clerkA))).status).toBe(202);
    const sent = (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === id,
      ),
    ))!;
    // As if the recipient were on a node with its own bucket: the bytes must come from the bus.
    await client.removeObject(s3.bucket, key);
    await h.deliver({
      deliveryId: randomUUID(),
      sourceDocumentId: id,
      edxmlDocumentId: id,
      fromOrganizationCode: A,
      toOrganizationCode: B,
      document: sent.data.document,
      attachments: sent.data.attachments,
    });
    const incoming = (await eventually(async () => {
      const r = await h.http.get('/api/v1/documents?direction=incoming').set(auth(clerkB));
      return (
        r.body.items as { id: string; sourceDocumentId?: string; attachments: { id: string }[] }[]
      ).find((d) => d.attachments.length > 0);
    }))!;
    expect(Buffer.compare(await objectBytes(key), pdf)).toBe(0);
    const got = await content(incoming.id, incoming.attachments[0].id, clerkB);
    expect(got.status).toBe(200);
    expect(Buffer.compare(got.body as Buffer, pdf)).toBe(0);
  });

  it('refuses to boot on a missing bucket, and without credentials', async () => {
    const env = { ...h.env, ...s3Env(), ATTACHMENTS_STORE: `s3://${s3.bucket}-missing` };
    await expect(createDocumentsApp(env, false)).rejects.toThrow(/bucket .*-missing does not exist/);
    await expect(
      createDocumentsApp({ ...h.env, ...s3Env(), S3_SECRET_ACCESS_KEY: '' }, false),
    ).rejects.toThrow(/S3_SECRET_ACCESS_KEY/);
  });
});
