import { derivedUuid } from '@lienthong/common';
import {
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
} from '@lienthong/contracts';
import { eventually, type TestTokens } from '@lienthong/testing';
import { jetstream } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { buildPackage, buildStatus, formatDocumentId, type EdxmlPackage } from '../src/edxml';
import {
  type BusInstance,
  type BusWorld,
  type NatsProbe,
  newCredentials,
  org,
  startBusWorld,
} from './support/bus-harness';

const OFFICE = '000.00.00.H41';
const RECEIVER = '000.00.00.H42';
const PROVINCE_ORG = '000.00.02.H43';
const AGENCY_SYSTEM = '000.00.02.T44';

jest.setTimeout(90_000);

/** Issue 13.1 and 13.11 (federation parts) against two real bus nodes on real PostgreSQL and NATS. */
describe('integration bus trust boundaries', () => {
  let world: BusWorld;
  let tokens: TestTokens;
  let probe: NatsProbe;
  const credA = newCredentials('lienthong-bus-central');
  const credB = newCredentials('lienthong-bus-prov2');
  let busA: BusInstance;

  beforeAll(async () => {
    world = await startBusWorld({
      orgs: [
        org(OFFICE, 'party', 'central'),
        org(RECEIVER, 'party', 'central'),
        org(PROVINCE_ORG, 'party', 'prov2'),
        org(AGENCY_SYSTEM, 'party', 'central'),
      ],
      buses: [
        {
          cred: credA,
          env: {
            TRUSTED_NODE_CERTS: credB.certPem,
            FEDERATION_PART_BYTES: String(64 * 1024),
            EDXML_ACT_FOR: `delegate-client=${OFFICE}`,
          },
        },
        { cred: credB, env: { NODE_ID: 'prov2', TRUSTED_NODE_CERTS: credA.certPem } },
      ],
    });
    ({ tokens, probe } = world);
    [busA] = world.buses;
  });

  afterAll(async () => {
    await world?.stop();
  });

  const pkg = (from: string, documentId: string, businessDocType: 0 | 1 = 0): EdxmlPackage => ({
    from: { organId: from },
    to: [{ organId: RECEIVER }],
    documentId,
    codeNumber: documentId.split(',')[2].split('/')[0],
    codeNotation: 'CV',
    promulgationDate: '2026-11-20',
    type: '1',
    subject: 'Giấy mời',
    signer: {},
    priority: 0,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [],
    businessDocType,
    ...(businessDocType === 1 ? { businessDocReason: 'thu hồi' } : {}),
    attachments: [],
  });
  const post = async (path: string, xml: string, token: string) =>
    busA.http
      .post(path)
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/xml')
      .send(xml);
  const busAudit = async () =>
    (await probe.events<AuditEventPayload>(Subjects.auditEvent('integration-bus'), Streams.audit().name)).map(
      (e) => e.data,
    );

  it('refuses packages and statuses of another organization (403 EDXML_SENDER_MISMATCH), audited, nothing routed', async () => {
    const token = await tokens.mint({ org: AGENCY_SYSTEM, roles: ['exchange'], typ: 'client' });
    const forged = formatDocumentId(OFFICE, '2026-11-20', '4101', 'CV');
    for (const [path, xml] of [
      ['/api/v1/edxml', buildPackage(pkg(OFFICE, forged))],
      ['/api/v1/edxml', buildPackage(pkg(OFFICE, forged, 1))],
      ['/api/v1/edxml', buildPackage(pkg(AGENCY_SYSTEM, forged))],
      [
        '/api/v1/edxml/status',
        buildStatus({
          responseFor: { organId: OFFICE, documentId: forged },
          from: { organId: RECEIVER },
          statusCode: '03',
          timestamp: new Date().toISOString(),
        }),
      ],
    ] as const) {
      const r = await post(path, xml, token);
      expect({ path, status: r.status, code: r.body.code }).toEqual({
        path,
        status: 403,
        code: 'EDXML_SENDER_MISMATCH',
      });
      expect(r.body.fields.length).toBeGreaterThan(0);
    }
    const refusals = await eventually(async () => {
      const found = (await busAudit()).filter(
        (e) => e.details?.reason === 'EDXML_SENDER_MISMATCH' && e.resource.id === forged,
      );
      if (found.length < 4) throw new Error(`${found.length} refusals audited`);
      return found;
    });
    expect(refusals.every((e) => e.outcome === 'denied' && e.actor.organizationCode === AGENCY_SYSTEM)).toBe(
      true,
    );
    // Nothing was stored for the forged DocumentId: the genuine package later is not a "duplicate".
    const rows = await busA.db.query(
      `SELECT count(*)::int AS n FROM exchanges WHERE edxml_document_id = $1`,
      [forged],
    );
    expect(rows[0].n).toBe(0);
    const genuine = await post(
      '/api/v1/edxml',
      buildPackage(pkg(OFFICE, forged)),
      await tokens.mint({ org: OFFICE, roles: ['exchange'], typ: 'client' }),
    );
    expect(genuine.status).toBe(202);
  });

  it('a client explicitly allowed to act for an organization (EDXML_ACT_FOR) may send for it', async () => {
    const token = await tokens.mint({
      sub: 'delegate-client',
      org: AGENCY_SYSTEM,
      roles: ['exchange'],
      typ: 'client',
    });
    const r = await post(
      '/api/v1/edxml',
      buildPackage(pkg(OFFICE, formatDocumentId(OFFICE, '2026-11-20', '4102', 'CV'))),
      token,
    );
    expect(r.status).toBe(202);
  });

  it('federation: parts squatted under a predictable transfer id do not spoil the genuine package', async () => {
    const attachment = Buffer.alloc(200_000, 7);
    const key = await probe.putObject(attachment);
    const ev: DocumentSendRequestedEvent = {
      documentId: randomUUID(),
      fromOrganizationCode: OFFICE,
      recipients: [PROVINCE_ORG],
      businessType: 0,
      document: {
        number: '4103',
        notation: 'QĐ/TW',
        type: 'QĐ',
        subject: 'Quyết định có phụ lục lớn',
        promulgationDate: '2026-11-20',
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'normal',
        steering: false,
        dueDate: null,
      },
      attachments: [
        {
          id: randomUUID(),
          name: 'phu-luc.pdf',
          contentType: 'application/pdf',
          size: attachment.length,
          sha256: key,
          storageKey: key,
        },
      ],
    };
    // The attacker (any publisher on the federation subjects) derives the transfer id the way the sender
    // did and publishes a part first with the same message id, so the genuine part is dropped as a duplicate.
    const edxmlId = formatDocumentId(OFFICE, '2026-11-20', '4103', 'QĐ/TW');
    const guessed = derivedUuid(`federation|${OFFICE}|${edxmlId}|0|prov2`);
    const js = jetstream(probe.nc);
    const base = Subjects.federationOut('prov2').replace(/\.msg$/, '');
    for (let i = 0; i < 8; i++) {
      await js.publish(`${base}.part.${guessed}.${i}`, Buffer.from('spoiled'), { msgID: `${guessed}.${i}` });
      await js.publish(`${base}.part.central.${guessed}.${i}`, Buffer.from('spoiled'), {
        msgID: `central.${guessed}.${i}`,
      });
    }
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', ev, ev.documentId);
    const delivered = await eventually(async () => {
      const d = (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).find(
        (e) => e.data.sourceDocumentId === ev.documentId && e.data.toOrganizationCode === PROVINCE_ORG,
      );
      if (!d) throw new Error('not delivered on prov2');
      return d;
    }, 45_000);
    expect(delivered.data.attachments[0]).toMatchObject({ sha256: key, size: attachment.length });
  });
});
