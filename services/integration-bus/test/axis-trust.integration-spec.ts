import {
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
} from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { buildPackage, buildStatus, formatDocumentId, type EdxmlPackage } from '../src/edxml';
import type { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';
import {
  type BusInstance,
  type BusWorld,
  type NatsProbe,
  type RealIdentity,
  newCredentials,
  org,
  SECRET,
  startBusWorld,
  SYSTEM_ID,
} from './support/bus-harness';

/**
 * Attacks from a hostile national axis (issue 13, item 2): the simulated axis hands the bus forged items.
 * The axis is trusted only for state agencies, each only for itself; its statuses answer only exchanges
 * that went through it; its agency list may add agencies but never change an existing organization.
 * Every refusal is audited as edxml.rejected with a code and is not taken again.
 */
const OFFICE = '000.00.00.H01'; // party office on this node (sends documents)
const LOCAL = '000.00.00.H02'; // party organization on this node
const AGENCY = '000.00.00.G22'; // state agency behind the axis
const AGENCY_NEW = '000.00.00.G31'; // listed by the axis, unknown to identity
const AGENCY_NAME = 'Văn phòng Chính phủ';

jest.setTimeout(90_000);

const until = (fn: () => unknown, timeoutMs?: number) =>
  eventually(async () => {
    await fn();
    return true;
  }, timeoutMs);

describe('a hostile national axis cannot speak for anyone but state agencies (attacks)', () => {
  let world: BusWorld;
  let identity: RealIdentity;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  let bus: BusInstance;

  beforeAll(async () => {
    world = await startBusWorld({
      orgs: [
        org(OFFICE, 'party', 'central'),
        org(LOCAL, 'party', 'central', 'Ban Tuyên giáo'),
        org(AGENCY, 'state', 'central', AGENCY_NAME),
      ],
      axis: {
        systems: { [SYSTEM_ID]: SECRET },
        // The axis's list renames a state agency, re-sectors a party organization and adds a new agency.
        agencies: [
          { code: AGENCY, name: 'Cơ quan giả mạo' },
          { code: LOCAL, name: 'Ban Tuyên giáo (giả)' },
          { code: AGENCY_NEW, name: 'Bộ Khoa học và Công nghệ' },
        ],
      },
      buses: [
        {
          cred: newCredentials('bus-axis-trust'),
          axis: true,
        },
      ],
    });
    ({ identity, probe } = world);
    [bus] = world.buses;
    sim = world.sim as NationalAxisSimulator;
  });

  afterAll(async () => {
    await world?.stop();
  });

  const audits = () =>
    probe.events<AuditEventPayload>(Subjects.auditEvent('integration-bus'), Streams.audit().name);
  const rejected = async (reason: string, axisDocId: string) =>
    (await audits()).filter(
      (a) =>
        a.data.action === 'edxml.rejected' &&
        a.data.details?.reason === reason &&
        a.data.details?.axisDocId === axisDocId,
    );
  const deliveries = async (edxmlDocumentId: string) =>
    (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).filter(
      (e) => e.data.edxmlDocumentId === edxmlDocumentId,
    );
  const statuses = async (edxmlDocumentId: string) =>
    (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).filter(
      (e) => e.data.edxmlDocumentId === edxmlDocumentId,
    );
  const getEdocCalls = (docId: string) =>
    sim.calls.filter((c) => c.operation === 'getEdoc' && c.docId === docId).length;

  function pkg(from: string, to: string, number: string): EdxmlPackage {
    return {
      from: { organId: from, organName: 'Tên giả' },
      to: [{ organId: to }],
      documentId: formatDocumentId(from, '2026-11-25', number, 'GIẢ'),
      codeNumber: number,
      codeNotation: 'GIẢ',
      promulgationDate: '2026-11-25',
      type: '1',
      subject: 'Chỉ đạo giả mạo',
      signer: { position: 'Bí thư', fullName: 'Kẻ Giả Mạo' },
      priority: 3,
      steeringType: 1,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0,
      attachments: [],
    };
  }

  /** Refused with `reason`, acknowledged `fail`, and never fetched again however often the axis lists it. */
  async function expectRefusedOnce(docId: string, reason: string) {
    await until(async () => expect(await rejected(reason, docId)).toHaveLength(1), 20_000);
    await until(() => expect(sim.items.get(docId)!.acks[SYSTEM_ID]).toBe('fail'));
    const fetched = getEdocCalls(docId);
    // The simulator keeps listing `fail` items: several more polling rounds pass (poll interval 300 ms).
    const lists = sim.calls.filter((c) => c.operation === 'getReceivedEdocList').length;
    await until(() =>
      expect(sim.calls.filter((c) => c.operation === 'getReceivedEdocList').length).toBeGreaterThan(
        lists + 6,
      ),
    );
    expect(getEdocCalls(docId)).toBe(fetched);
    expect(await rejected(reason, docId)).toHaveLength(1);
  }

  it('a package in the name of a party organization, handed over by the axis as a state agency’s, is refused', async () => {
    const forged = pkg(OFFICE, LOCAL, '9001');
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(forged)),
    });
    await expectRefusedOnce(item.docId, 'AXIS_SENDER_MISMATCH');
    expect(await deliveries(forged.documentId)).toHaveLength(0);
  });

  it('a package whose sender is a party organization (axis item and package agree) is refused', async () => {
    const forged = pkg(LOCAL, OFFICE, '9002');
    const item = sim.inject({
      from: LOCAL,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(forged)),
    });
    await expectRefusedOnce(item.docId, 'AXIS_SENDER_NOT_STATE');
    expect(await deliveries(forged.documentId)).toHaveLength(0);
  });

  it('a package whose DocumentId names another sender than its From is refused', async () => {
    const forged = {
      ...pkg(AGENCY, LOCAL, '9003'),
      documentId: formatDocumentId(OFFICE, '2026-11-25', '9003', 'GIẢ'),
    };
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(forged)),
    });
    await expectRefusedOnce(item.docId, 'AXIS_SENDER_MISMATCH');
    expect(await deliveries(forged.documentId)).toHaveLength(0);
  });

  /** A document OFFICE sends to LOCAL only: its exchange never touches the axis. */
  async function sendLocal(number: string) {
    const ev: DocumentSendRequestedEvent = {
      documentId: randomUUID(),
      fromOrganizationCode: OFFICE,
      recipients: [LOCAL],
      businessType: 0,
      document: {
        number,
        notation: 'CV/TU',
        type: 'CV',
        subject: 'Về việc họp giao ban',
        promulgationDate: '2026-11-25',
        signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
        secrecy: 'none',
        urgency: 'normal',
        steering: false,
      },
      attachments: [],
    };
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', ev, ev.documentId);
    const edxmlDocumentId = formatDocumentId(OFFICE, '2026-11-25', number, 'CV/TU');
    await until(async () => expect(await deliveries(edxmlDocumentId)).toHaveLength(1));
    return edxmlDocumentId;
  }

  const forgedStatus = (documentId: string, from: string, statusCode: string) =>
    Buffer.from(
      buildStatus({
        responseFor: { organId: OFFICE, documentId },
        from: { organId: from },
        statusCode,
        description: 'giả mạo',
        timestamp: new Date().toISOString(),
      }),
    );

  it('a status in the name of a local party recipient, for a local exchange, is refused', async () => {
    const documentId = await sendLocal(String(7000 + Math.floor(Math.random() * 999)));
    const item = sim.inject({
      from: LOCAL,
      to: [SYSTEM_ID],
      messageType: 'status',
      content: forgedStatus(documentId, LOCAL, '02'),
    });
    await expectRefusedOnce(item.docId, 'AXIS_SENDER_NOT_STATE');
    expect(await statuses(documentId)).toHaveLength(0);
    const ex = await bus.db.query('SELECT state FROM exchanges WHERE edxml_document_id = $1', [documentId]);
    expect(ex).toEqual([{ state: 'sent' }]);
  });

  it('a state agency’s status about a document that never went to it through the axis is refused', async () => {
    const documentId = await sendLocal(String(8000 + Math.floor(Math.random() * 999)));
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'status',
      content: forgedStatus(documentId, AGENCY, '06'),
    });
    await expectRefusedOnce(item.docId, 'AXIS_STATUS_NOT_AXIS_EXCHANGE');
    expect(await statuses(documentId)).toHaveLength(0);
  });

  it('a status whose From is not the axis item’s sender is refused', async () => {
    const documentId = await sendLocal(String(6000 + Math.floor(Math.random() * 999)));
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'status',
      content: forgedStatus(documentId, LOCAL, '03'),
    });
    await expectRefusedOnce(item.docId, 'AXIS_SENDER_MISMATCH');
    expect(await statuses(documentId)).toHaveLength(0);
  });

  it('the agency list adds agencies but never renames or re-sectors an existing organization', async () => {
    await until(async () =>
      expect(await identity.get(AGENCY_NEW)).toMatchObject({
        sector: 'state',
        name: 'Bộ Khoa học và Công nghệ',
      }),
    );
    expect(await identity.get(AGENCY)).toMatchObject({ sector: 'state', name: AGENCY_NAME });
    expect(await identity.get(LOCAL)).toMatchObject({ sector: 'party', name: 'Ban Tuyên giáo' });
    await until(async () => {
      const refused = (await audits()).filter(
        (a) => a.data.action === 'edxml.rejected' && a.data.resource.type === 'organization',
      );
      expect(refused.map((a) => `${a.data.resource.id}:${String(a.data.details?.reason)}`).sort()).toEqual([
        `${AGENCY}:AXIS_AGENCY_RENAME`,
        `${LOCAL}:AXIS_AGENCY_RESECTOR`,
      ]);
    });
  });

  it('a genuine agency package still arrives (the checks refuse forgeries only)', async () => {
    const genuine = pkg(AGENCY, LOCAL, String(5000 + Math.floor(Math.random() * 999)));
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(genuine)),
    });
    await until(async () => expect(await deliveries(genuine.documentId)).toHaveLength(1));
    await until(() => expect(sim.items.get(item.docId)!.acks[SYSTEM_ID]).toBe('done'));
  });
});
