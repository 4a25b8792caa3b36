import { Buckets, Subjects, type DocumentDeliveryEvent } from '@lienthong/contracts';
import { eventually, type TestTokens } from '@lienthong/testing';
import { Objm } from '@nats-io/obj';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSignedPackage, formatDocumentId, type EdxmlPackage } from '../src/edxml';
import type { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';
import {
  type BusInstance,
  type BusWorld,
  type NatsProbe,
  newCredentials,
  org,
  SECRET,
  startBusWorld,
  SYSTEM_ID,
} from './support/bus-harness';

const OFFICE = '000.00.00.H01';
const LOCAL = '000.00.00.H02';
const AGENCY = '000.00.00.G22';
const PROVINCE = '000.00.01.T01';
const CLIENT_ORG = '000.00.02.T02';
const MiB = 1024 * 1024;

jest.setTimeout(240_000);

/**
 * Issue 15 item 4, the receiving side, on real PostgreSQL, NATS and the simulated axis over HTTP: packages of
 * 20+ MiB come in by every route — POST /api/v1/edxml, getEdoc from the axis, federation parts — through the
 * streamed reader: attachments decoded to EDXML_TEMP_DIR (EDXML_IN_MEMORY_BYTES is 1 MiB here), the signature
 * checked on the way, the attachment in the object store under its SHA-256, the temporary files gone after;
 * a tampered one is refused with its code and leaves nothing (no object, no file).
 */
describe('large packages received as streams (inbound API, national axis, federation)', () => {
  let world: BusWorld;
  let tokens: TestTokens;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  let busA: BusInstance;
  const credA = newCredentials('lienthong-bus-central');
  const credB = newCredentials('lienthong-bus-prov1');
  const tempA = mkdtempSync(join(tmpdir(), 'bus-in-a-'));
  const tempB = mkdtempSync(join(tmpdir(), 'bus-in-b-'));
  const simFiles = mkdtempSync(join(tmpdir(), 'bus-in-sim-'));

  beforeAll(async () => {
    const streamed = { EDXML_IN_MEMORY_BYTES: String(MiB), EDXML_MAX_BYTES: String(256 * MiB) };
    world = await startBusWorld({
      orgs: [
        org(OFFICE, 'party', 'central'),
        org(LOCAL, 'party', 'central'),
        org(AGENCY, 'state', 'central'),
        org(CLIENT_ORG, 'party', 'central'),
        org(PROVINCE, 'party', 'prov1'),
      ],
      axis: { systems: { [SYSTEM_ID]: SECRET }, spoolAboveBytes: MiB },
      buses: [
        {
          cred: credA,
          axis: true,
          env: {
            TRUSTED_NODE_CERTS: credB.certPem,
            EDXML_TEMP_DIR: tempA,
            ...streamed,
          },
        },
        {
          cred: credB,
          env: {
            NODE_ID: 'prov1',
            TRUSTED_NODE_CERTS: credA.certPem,
            EDXML_TEMP_DIR: tempB,
            ...streamed,
          },
        },
      ],
    });
    ({ tokens, probe } = world);
    [busA] = world.buses;
    sim = world.sim as NationalAxisSimulator;
  });

  afterAll(async () => {
    await world?.stop();
    for (const d of [tempA, tempB, simFiles]) rmSync(d, { recursive: true, force: true });
  });

  function pkg(from: string, to: string, content: Buffer): EdxmlPackage {
    const number = String(Math.floor(Math.random() * 1e6));
    return {
      from: { organId: from },
      to: [{ organId: to }],
      documentId: formatDocumentId(from, '2026-11-30', number, 'CV'),
      codeNumber: number,
      codeNotation: 'CV',
      promulgationDate: '2026-11-30',
      type: '1',
      subject: 'Tệp lớn nhận vào',
      signer: {},
      priority: 0,
      steeringType: 0,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0,
      attachments: [{ contentId: 'cid:1', name: 'lớn.pdf', contentType: 'application/pdf', content }],
    };
  }

  const deliveryOf = (to: string, documentId: string) =>
    eventually(async () => {
      const d = (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).find(
        (e) =>
          e.data.edxmlDocumentId === documentId &&
          (e.data.recipients ?? []).some((r) => r.organizationCode === to),
      );
      if (!d) throw new Error('no delivery yet');
      return d;
    }, 180_000);

  const objectInfo = async (key: string) => {
    const os = await new Objm(probe.nc).create(Buckets.attachments());
    const info = await os.info(key);
    return info && !info.deleted ? info : null;
  };

  const pdf = (mb: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(mb * MiB)]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('POST /api/v1/edxml: a 24 MiB signed package is taken in from the stream; a tampered one is refused, nothing kept', async () => {
    const token = await tokens.mint({ org: CLIENT_ORG, roles: ['exchange'], typ: 'client' });
    const content = pdf(24);
    const p = pkg(CLIENT_ORG, LOCAL, content);
    const xml = Buffer.from(buildSignedPackage(p, credB), 'utf8');
    expect(xml.length).toBeGreaterThan(32 * MiB);

    // Tampered first: one base64 character in the middle of the attachment changed (the digest no longer matches).
    const at = xml.indexOf('ContentTransferEncoded>') + 23 + 12 * MiB;
    const tampered = Buffer.from(xml);
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    const refused = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/xml')
      .send(tampered);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'EDXML_INVALID' });
    expect(refused.body.message).toMatch(/Signature/);
    // Nothing half-written: the bytes the tampered package carries never reached the object store, no file is left.
    const start = tampered.indexOf('ContentTransferEncoded>') + 23;
    const end = tampered.indexOf('<', start);
    const tamperedContent = Buffer.from(tampered.subarray(start, end).toString('latin1'), 'base64');
    expect(tamperedContent.length).toBe(content.length);
    expect(await objectInfo(sha(tamperedContent))).toBeNull();
    expect(readdirSync(tempA)).toEqual([]);

    const res = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/xml')
      .send(xml);
    expect(res.status).toBe(202);
    const d = await deliveryOf(LOCAL, p.documentId);
    expect(d.data.attachments).toEqual([
      expect.objectContaining({ sha256: sha(content), size: content.length }),
    ]);
    expect((await objectInfo(sha(content)))?.size).toBe(content.length);
    expect(readdirSync(tempA)).toEqual([]);
  });

  it('POST /api/v1/edxml: a body longer than EDXML_MAX_BYTES is 413 EDXML_TOO_LARGE, malformed XML 400', async () => {
    const token = await tokens.mint({ org: CLIENT_ORG, roles: ['exchange'], typ: 'client' });
    const post = (body: Buffer | string) =>
      busA.http
        .post('/api/v1/edxml')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/xml')
        .send(body);
    const tooLarge = await post(Buffer.alloc(256 * MiB + 1, 0x20));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.code).toBe('EDXML_TOO_LARGE');
    const doctype = await post(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    );
    expect(doctype.status).toBe(400);
    expect(doctype.body.code).toBe('EDXML_FORBIDDEN_CONSTRUCT');
    const truncated = await post(buildSignedPackage(pkg(CLIENT_ORG, LOCAL, pdf(2)), credB).slice(0, 2 * MiB));
    expect(truncated.status).toBe(400);
    expect(truncated.body.code).toBe('EDXML_INVALID');
    expect(readdirSync(tempA)).toEqual([]);
  });

  it('national axis: a 24 MiB package fetched by getEdoc is decoded from the JSON answer as it arrives', async () => {
    const content = pdf(24);
    const p = pkg(AGENCY, LOCAL, content);
    const path = join(simFiles, 'from-agency.xml');
    const xml = Buffer.from(buildSignedPackage(p, newCredentials('agency-signer')), 'utf8');
    writeFileSync(path, xml);
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.alloc(0),
      contentFile: { path, size: xml.length },
    });
    const d = await deliveryOf(LOCAL, p.documentId);
    expect(d.data.attachments).toEqual([
      expect.objectContaining({ sha256: sha(content), size: content.length }),
    ]);
    await eventually(async () => {
      if (item.acks[SYSTEM_ID] !== 'done') throw new Error(`ack ${item.acks[SYSTEM_ID]}`);
      return true;
    }, 30_000);
    expect(readdirSync(tempA)).toEqual([]);
  });

  it('federation: a 20 MiB package crosses in parts that the receiving node reads one at a time', async () => {
    const content = pdf(20);
    const key = await probe.putObject(content);
    const documentId = randomUUID();
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      {
        documentId,
        fromOrganizationCode: OFFICE,
        recipients: [PROVINCE],
        businessType: 0,
        document: {
          number: String(Math.floor(Math.random() * 1e6)),
          notation: 'CV/VPTW',
          type: 'CV',
          subject: 'Tệp lớn liên thông tỉnh',
          promulgationDate: '2026-11-30',
          signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
          secrecy: 'none',
          urgency: 'normal',
          steering: false,
        },
        attachments: [
          {
            id: randomUUID(),
            name: 'lớn.pdf',
            contentType: 'application/pdf',
            size: content.length,
            sha256: key,
            storageKey: key,
          },
        ],
      },
      documentId,
    );
    const d = await eventually(async () => {
      const x = (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).find(
        (e) =>
          e.data.sourceDocumentId === documentId &&
          (e.data.recipients ?? []).some((r) => r.organizationCode === PROVINCE),
      );
      if (!x) throw new Error('no delivery on prov1');
      return x;
    }, 180_000);
    expect(d.source).toMatch(/@prov1$/);
    expect(d.data.attachments).toEqual([expect.objectContaining({ sha256: key, size: content.length })]);
    // The delivery leaves through the outbox after the commit; the decoded attachment's file is removed just
    // after that commit, so the directory is checked until it is empty (it never is if the file leaks).
    await eventually(() => readdirSync(tempB).length === 0, 15_000);
    expect(readdirSync(tempB)).toEqual([]);
  });
});
