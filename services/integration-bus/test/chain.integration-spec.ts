import { eventually, TestTokens, testServiceEnv } from '@lienthong/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { dropSchema } from '@lienthong/testing';
import { createDocumentsApp } from '../../documents/src/documents.app';
import { buildStatus, parsePackage } from '../src/edxml';
import { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';
import {
  BusInstance,
  busEnv,
  newCredentials,
  org,
  RealIdentity,
  SECRET,
  SYSTEM_ID,
} from './support/bus-harness';

const OFFICE = '000.00.00.H01';
const LOCAL = '000.00.00.H02';
const AGENCY = '000.00.00.G22';

jest.setTimeout(90_000);

/** The whole chain on real services: documents → bus → documents (local) and → the simulated axis and back. */
describe('documents ↔ integration bus ↔ national axis (real identity, documents, bus; simulated axis)', () => {
  let tokens: TestTokens;
  let identity: RealIdentity;
  let documents: INestApplication;
  let docsEnv: Record<string, string | undefined>;
  let bus: BusInstance;
  let sim: NationalAxisSimulator;
  const attachmentsDir = mkdtempSync(join(tmpdir(), 'lt-bus-chain-'));

  beforeAll(async () => {
    tokens = await TestTokens.start();
    identity = await new RealIdentity().start();
    await identity.add(
      org(OFFICE, 'party', 'central'),
      org(LOCAL, 'party', 'central'),
      org(AGENCY, 'state', 'central'),
    );
    sim = new NationalAxisSimulator({ systems: { [SYSTEM_ID]: SECRET } });
    const cred = newCredentials('bus-chain');
    bus = await new BusInstance(cred).start(
      await busEnv(tokens, cred, {
        NATIONAL_AXIS_URL: await sim.start(0),
        NATIONAL_AXIS_SYSTEM_ID: SYSTEM_ID,
        NATIONAL_AXIS_SECRET: SECRET,
      }),
    );
    docsEnv = await testServiceEnv('documents', {
      JWKS_URL: tokens.jwksUrl,
      ATTACHMENTS_DIR: attachmentsDir,
      GRPC_PORT: '0',
    });
    documents = await createDocumentsApp(docsEnv, false);
  });

  afterAll(async () => {
    await documents?.close().catch(() => undefined);
    if (docsEnv) await dropSchema(docsEnv.DATABASE_URL!, docsEnv.DB_SCHEMA!);
    await bus?.stop();
    await sim?.stop();
    await identity?.stop();
    await tokens?.close();
    rmSync(attachmentsDir, { recursive: true, force: true });
  });

  const docs = () => request(documents.getHttpServer());

  it('a party office sends to a local organization and an agency: arrival number, 01 back, package at the axis, 03 back', async () => {
    const clerk = await tokens.mint({ org: OFFICE, roles: ['clerk'] });
    const created = await docs()
      .post('/api/v1/documents')
      .set('Authorization', `Bearer ${clerk}`)
      .send({
        number: '41',
        notation: 'CV/VPTW',
        type: 'CV',
        typeName: 'Công văn',
        subject: 'Về việc triển khai liên thông văn bản',
        promulgationPlace: 'Hà Nội',
        promulgationDate: '2026-11-20',
        signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'urgent',
        recipients: [LOCAL, AGENCY],
      });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const pdf = Buffer.from('%PDF-1.4\n% liên thông\n%%EOF\n');
    const up = await docs()
      .post(`/api/v1/documents/${id}/attachments`)
      .set('Authorization', `Bearer ${clerk}`)
      .attach('file', pdf, { filename: 'cv.pdf', contentType: 'application/pdf' });
    expect(up.status).toBe(201);
    expect(
      (await docs().post(`/api/v1/documents/${id}/send`).set('Authorization', `Bearer ${clerk}`)).status,
    ).toBe(202);

    // The local recipient has it with an arrival number.
    const localClerk = await tokens.mint({ org: LOCAL, roles: ['clerk'] });
    const incoming = await eventually(async () => {
      const res = await docs()
        .get('/api/v1/documents?direction=incoming')
        .set('Authorization', `Bearer ${localClerk}`);
      return (
        res.body.items as {
          id: string;
          subject: string;
          arrivalNumber: number;
          fromOrganizationCode: string;
        }[]
      ).find((d) => d.subject === 'Về việc triển khai liên thông văn bản');
    }, 20_000);
    expect(incoming).toMatchObject({ fromOrganizationCode: OFFICE, arrivalNumber: expect.any(Number) });

    // The agency's package reached the axis, signed, with the attachment.
    const item = await eventually(() => sim.received(AGENCY)[0], 20_000);
    const pkg = parsePackage(item.content, { maxBytes: 1e7 }).package;
    expect(pkg.attachments[0].content.equals(pdf)).toBe(true);

    // Sender view: LOCAL answered 01 (arrived) through the bus; the agency is `sent`.
    const recipients = async () => {
      const res = await docs().get(`/api/v1/documents/${id}`).set('Authorization', `Bearer ${clerk}`);
      return Object.fromEntries(
        (res.body.recipients as { organizationCode: string; status: string }[]).map((r) => [
          r.organizationCode,
          r.status,
        ]),
      );
    };
    await eventually(async () => {
      const r = await recipients();
      return r[LOCAL] === 'arrived' && r[AGENCY] === 'sent';
    }, 20_000);

    // The agency accepts (03) through the axis.
    sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'status',
      content: Buffer.from(
        buildStatus({
          responseFor: { organId: OFFICE, documentId: pkg.documentId },
          from: { organId: AGENCY },
          statusCode: '03',
          timestamp: new Date().toISOString(),
        }),
      ),
    });
    await eventually(async () => (await recipients())[AGENCY] === 'accepted', 20_000);
  });
});
