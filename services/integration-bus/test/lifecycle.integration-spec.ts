import { Subjects, type DocumentDeliveryEvent, type DocumentSendRequestedEvent } from '@lienthong/contracts';
import { eventually, type TestTokens } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { buildPackage, formatDocumentId, parsePackage } from '../src/edxml';
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

const PARTY_OFFICE = '000.00.00.H01';
const LOCAL_ORG = '000.00.00.H02';
const AGENCY = '000.00.00.G22';
const AGENCY_2 = '000.00.00.G23';
const PROVINCE_ORG = '000.00.01.H10';

jest.setTimeout(60_000);

describe('business types 2 and 3 through the bus: local, federation, national axis and inbound edXML', () => {
  let world: BusWorld;
  let tokens: TestTokens;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  const credA = newCredentials('lienthong-bus-central');
  const credB = newCredentials('lienthong-bus-prov1');
  let busA: BusInstance;

  beforeAll(async () => {
    world = await startBusWorld({
      orgs: [
        org(PARTY_OFFICE, 'party', 'central'),
        org(LOCAL_ORG, 'party', 'central'),
        org(AGENCY, 'state', 'central'),
        org(AGENCY_2, 'state', 'central'),
        org(PROVINCE_ORG, 'party', 'prov1'),
      ],
      axis: {
        systems: { [SYSTEM_ID]: SECRET, [AGENCY]: 'agency-secret' },
        agencies: [{ code: '000.00.00.G30', name: 'Bộ Nội vụ' }],
      },
      buses: [
        {
          cred: credA,
          axis: true,
          env: {
            TRUSTED_NODE_CERTS: credB.certPem,
            EDXML_MAX_BYTES: String(200_000),
          },
        },
        { cred: credB, env: { NODE_ID: 'prov1', TRUSTED_NODE_CERTS: credA.certPem } },
      ],
    });
    ({ tokens, probe } = world);
    [busA] = world.buses;
    sim = world.sim as NationalAxisSimulator;
  });

  afterAll(async () => {
    await world?.stop();
  });

  async function sendRequested(
    recipients: string[],
    over: Partial<DocumentSendRequestedEvent['document']> = {},
    attachment?: Buffer,
  ) {
    const attachments = [];
    if (attachment) {
      const key = await probe.putObject(attachment);
      attachments.push({
        id: randomUUID(),
        name: 'quyết-định.pdf',
        contentType: 'application/pdf',
        size: attachment.length,
        sha256: key,
        storageKey: key,
      });
    }
    const ev: DocumentSendRequestedEvent = {
      documentId: randomUUID(),
      fromOrganizationCode: PARTY_OFFICE,
      recipients,
      businessType: 0,
      document: {
        number: String(Math.floor(Math.random() * 1e6)),
        notation: 'QĐ/TW',
        type: 'QĐ',
        typeName: 'Quyết định',
        subject: 'Về việc triển khai chuyển đổi số',
        content: 'Nội dung',
        promulgationPlace: 'Hà Nội',
        promulgationDate: '2026-11-20',
        signer: { competence: 'TM. BAN THƯỜNG VỤ', position: 'Bí thư', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'urgent',
        steering: false,
        dueDate: null,
        ...over,
      },
      attachments,
    };
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', ev, ev.documentId);
    return ev;
  }

  /**
   * The document packages the simulated axis received for `ev`: parsed and matched on sender, number and
   * notation (a substring match of the number also hit unrelated packages and statuses).
   */
  const axisPackagesFor = (agency: string, ev: DocumentSendRequestedEvent) =>
    sim.received(agency).filter((i) => {
      if (i.messageType !== 'edoc') return false;
      const p = parsePackage(i.content, { maxBytes: 1e7 }).package;
      return (
        p.from.organId === ev.fromOrganizationCode &&
        p.codeNumber === ev.document.number &&
        p.codeNotation === ev.document.notation
      );
    });

  const deliveriesTo = async (to: string, documentId?: string) =>
    (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).filter(
      (e) =>
        (e.data.recipients ?? []).some((r) => r.organizationCode === to) &&
        (!documentId || e.data.sourceDocumentId === documentId),
    );
  const operator = () => tokens.mint({ org: PARTY_OFFICE, roles: ['operator'] });
  const exchangesOf = async (documentId: string) => {
    const res = await busA.http
      .get(`/api/v1/exchanges?documentId=${encodeURIComponent(documentId)}`)
      .set('Authorization', `Bearer ${await operator()}`);
    expect(res.status).toBe(200);
    return res.body.items as {
      id: string;
      to: string;
      route: string;
      state: string;
      attempts: number;
      lastError?: string;
      trace: { event: string }[];
    }[];
  };

  /** Waits until `fn` finds something, then returns it. */
  const found = <T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000) =>
    eventually(async () => {
      const v = await fn();
      if (v === undefined) throw new Error('not yet');
      return v;
    }, timeoutMs) as Promise<T>;

  const edxmlIdOf = (ev: DocumentSendRequestedEvent) =>
    formatDocumentId(ev.fromOrganizationCode, ev.document.promulgationDate, ev.document.number, 'QĐ/TW');

  it('an update (type 2) reaches local, federation and axis recipients with its reason and new values', async () => {
    const ev = await sendRequested([LOCAL_ORG, PROVINCE_ORG, AGENCY]);
    const originalId = edxmlIdOf(ev);
    await found(async () => (await deliveriesTo(LOCAL_ORG, ev.documentId))[0]);
    await found(async () => (await deliveriesTo(PROVINCE_ORG, ev.documentId))[0]);
    await found(() => axisPackagesFor(AGENCY, ev)[0]);

    const changes = {
      subject: 'Về việc điều chỉnh',
      promulgationDate: '2026-11-21',
      urgency: 'flash' as const,
    };
    const update = (businessKey: string, reason: string): DocumentSendRequestedEvent => ({
      ...ev,
      businessType: 2,
      reason,
      changes,
      businessKey,
      edxmlDocumentId: originalId,
      document: { ...ev.document, ...changes },
    });
    const first = update(randomUUID(), 'Sai ngày ban hành');
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', first, randomUUID());

    const local = await found(async () =>
      (await deliveriesTo(LOCAL_ORG, ev.documentId)).find((d) => d.data.businessType === 2),
    );
    expect(local.data).toMatchObject({
      edxmlDocumentId: originalId,
      reason: 'Sai ngày ban hành',
      changes,
      document: { subject: changes.subject, promulgationDate: '2026-11-21' },
    });
    const remote = await found(async () =>
      (await deliveriesTo(PROVINCE_ORG, ev.documentId)).find((d) => d.data.businessType === 2),
    );
    // Across federation the package carries the new values and the reason; the receiver compares its copy.
    expect(remote.data).toMatchObject({
      edxmlDocumentId: originalId,
      reason: 'Sai ngày ban hành',
      document: { subject: changes.subject, promulgationDate: '2026-11-21', urgency: 'flash' },
    });
    const axis = await found(() =>
      sim
        .received(AGENCY)
        .filter((i) => i.messageType === 'edoc')
        .map((i) => parsePackage(i.content, { maxBytes: 1e7 }).package)
        .find((p) => p.documentId === originalId && p.businessDocType === 2),
    );
    expect(axis).toMatchObject({
      businessDocReason: 'Sai ngày ban hành',
      subject: changes.subject,
      promulgationDate: '2026-11-21',
      priority: 3,
    });

    // A second update is a second exchange per recipient; the same update redelivered is not.
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', first, randomUUID());
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      update(randomUUID(), 'Lần hai'),
      randomUUID(),
    );
    await found(async () =>
      (await deliveriesTo(LOCAL_ORG, ev.documentId)).find((d) => d.data.reason === 'Lần hai'),
    );
    await found(async () =>
      (await deliveriesTo(PROVINCE_ORG, ev.documentId)).find((d) => d.data.reason === 'Lần hai'),
    );
    const locals = (await deliveriesTo(LOCAL_ORG, ev.documentId)).filter((d) => d.data.businessType === 2);
    expect(locals.map((d) => d.data.reason).sort()).toEqual(['Lần hai', 'Sai ngày ban hành']);
    const ex = await exchangesOf(ev.documentId);
    expect(ex.filter((e) => e.to === LOCAL_ORG)).toHaveLength(3);
  });

  it('a replacement (type 3) names the replaced DocumentId on every route (ReplacementInfo on the axis)', async () => {
    const earlier = await sendRequested([LOCAL_ORG, PROVINCE_ORG, AGENCY]);
    const earlierId = edxmlIdOf(earlier);
    const ev: DocumentSendRequestedEvent = {
      ...earlier,
      documentId: randomUUID(),
      businessType: 3,
      replaces: { sourceDocumentId: earlier.documentId, edxmlDocumentId: earlierId },
      document: { ...earlier.document, number: String(Number(earlier.document.number) + 1) },
    };
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', ev, ev.documentId);
    const local = await found(async () => (await deliveriesTo(LOCAL_ORG, ev.documentId))[0]);
    expect(local.data).toMatchObject({
      businessType: 3,
      replaces: { sourceDocumentId: earlier.documentId, edxmlDocumentId: earlierId },
    });
    const remote = await found(async () => (await deliveriesTo(PROVINCE_ORG, ev.documentId))[0]);
    expect(remote.data).toMatchObject({ businessType: 3, replaces: { edxmlDocumentId: earlierId } });
    const pkg = await found(() =>
      axisPackagesFor(AGENCY, ev)
        .map((i) => parsePackage(i.content, { maxBytes: 1e7 }).package)
        .find((p) => p.businessDocType === 3),
    );
    expect(pkg).toMatchObject({
      documentId: edxmlIdOf(ev),
      businessDocumentId: earlierId,
      replacementInfo: [{ documentId: earlierId, organIds: [AGENCY] }],
    });
  });

  it('inbound edXML from an agency system: type 2 applies once per update, type 3 needs the replaced id', async () => {
    const SENDER = '000.00.01.T02';
    const auth = `Bearer ${await tokens.mint({ org: SENDER, roles: ['exchange'], typ: 'client' })}`;
    const base = {
      from: { organId: SENDER },
      to: [{ organId: LOCAL_ORG }],
      documentId: formatDocumentId(SENDER, '2026-11-22', '31', 'UBND-VP'),
      codeNumber: '31',
      codeNotation: 'UBND-VP',
      promulgationDate: '2026-11-22',
      type: '1',
      subject: 'Giấy mời họp',
      signer: { position: 'Chánh Văn phòng', fullName: 'Lê Văn C' },
      priority: 0 as const,
      steeringType: 0 as const,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0 as const,
      attachments: [],
    };
    const post = (xml: string) =>
      busA.http
        .post('/api/v1/edxml')
        .set('Authorization', auth)
        .set('Content-Type', 'application/xml')
        .send(xml);
    expect((await post(buildPackage(base))).status).toBe(202);
    const updated = buildPackage({
      ...base,
      subject: 'Giấy mời họp (đổi giờ)',
      businessDocType: 2,
      businessDocReason: 'Đổi giờ họp',
    });
    const first = await post(updated);
    expect(first.status).toBe(202);
    expect(first.body.exchanges).toEqual([expect.objectContaining({ to: LOCAL_ORG, route: 'local' })]);
    const again = await post(updated);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const delivery = await found(async () =>
      (await deliveriesTo(LOCAL_ORG)).find(
        (d) => d.data.edxmlDocumentId === base.documentId && d.data.businessType === 2,
      ),
    );
    expect(delivery.data).toMatchObject({
      fromOrganizationCode: SENDER,
      reason: 'Đổi giờ họp',
      document: { subject: 'Giấy mời họp (đổi giờ)' },
    });
    // Another update of the same document is applied too.
    const other = await post(
      buildPackage({
        ...base,
        subject: 'Giấy mời họp (đổi phòng)',
        businessDocType: 2,
        businessDocReason: 'Đổi phòng',
      }),
    );
    expect(other.status).toBe(202);

    // A replacement without the DocumentId it replaces is refused, naming the element.
    const replacement = {
      ...base,
      documentId: formatDocumentId(SENDER, '2026-11-23', '32', 'UBND-VP'),
      codeNumber: '32',
      promulgationDate: '2026-11-23',
      businessDocType: 3 as const,
    };
    const bad = await post(buildPackage(replacement));
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('EDXML_INVALID');
    expect(bad.body.message).toContain('ReplacementInfoList');
    const good = await post(
      buildPackage({
        ...replacement,
        replacementInfo: [{ documentId: base.documentId, organIds: [LOCAL_ORG] }],
      }),
    );
    expect(good.status).toBe(202);
    const d3 = await found(async () =>
      (await deliveriesTo(LOCAL_ORG)).find((d) => d.data.edxmlDocumentId === replacement.documentId),
    );
    expect(d3.data).toMatchObject({
      businessType: 3,
      replaces: { sourceDocumentId: base.documentId, edxmlDocumentId: base.documentId },
    });
  });
});
