import {
  streamName,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
  type ExchangeStateEvent,
  type NodeInboundEvent,
} from '@lienthong/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually, type TestTokens } from '@lienthong/testing';
import canonicalize from 'canonicalize';
import { createHmac, randomUUID, sign, X509Certificate } from 'node:crypto';
import {
  buildPackage,
  buildStatus,
  formatDocumentId,
  parsePackage,
  parseStatus,
  signPackage,
  verifyPackage,
} from '../src/edxml';
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

const PARTY_OFFICE = '000.00.00.H01';
const LOCAL_ORG = '000.00.00.H02';
const AGENCY = '000.00.00.G22';
const AGENCY_2 = '000.00.00.G23';
const PROVINCE_ORG = '000.00.01.H10';

jest.setTimeout(60_000);

/** `eventually` for checks that throw until they hold. */
const until = (fn: () => unknown, timeoutMs?: number) =>
  eventually(async () => {
    await fn();
    return true;
  }, timeoutMs);

describe('integration bus (real PostgreSQL, NATS and the simulated national axis over HTTP)', () => {
  let world: BusWorld;
  let tokens: TestTokens;
  let identity: RealIdentity;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  const credA = newCredentials('lienthong-bus-central');
  const credB = newCredentials('lienthong-bus-prov1');
  let busA: BusInstance;
  let busB: BusInstance;

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
    ({ tokens, identity, probe } = world);
    [busA, busB] = world.buses;
    sim = world.sim as NationalAxisSimulator;
  });

  afterAll(async () => {
    await world?.stop();
  });

  async function sendRequested(
    recipients: string[],
    over: Partial<DocumentSendRequestedEvent['document']> = {},
    attachment?: Buffer,
    correlationId?: string,
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
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      ev,
      ev.documentId,
      ev.documentId,
      correlationId,
    );
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

  it('routes one document to a local party organization and to a government agency', async () => {
    const pdf = Buffer.from('%PDF-1.7 tệp đính kèm');
    const ev = await sendRequested([LOCAL_ORG, AGENCY], {}, pdf);

    const [delivery] = await eventually(async () => {
      const d = await deliveriesTo(LOCAL_ORG, ev.documentId);
      if (d.length === 0) throw new Error('no delivery yet');
      return d;
    });
    expect(delivery.data).toMatchObject({
      sourceDocumentId: ev.documentId,
      fromOrganizationCode: PARTY_OFFICE,
      toOrganizationCode: LOCAL_ORG,
      edxmlDocumentId: formatDocumentId(PARTY_OFFICE, '2026-11-20', ev.document.number, 'QĐ/TW'),
      document: { subject: ev.document.subject, urgency: 'urgent' },
      attachments: [{ sha256: ev.attachments[0].sha256 }],
    });
    expect(delivery.data.deliveryId).toMatch(/^[0-9a-f-]{36}$/);

    const item = await eventually(() => {
      const [i] = axisPackagesFor(AGENCY, ev);
      if (!i) throw new Error('not at the axis yet');
      return i;
    });
    // Correct HMAC headers (the simulator also refused nothing from the bus).
    const h = item.headers!;
    expect(h['xroadvnpt-systemid']).toBe(SYSTEM_ID);
    expect(h['xroadvnpt-messagetype']).toBe('edoc');
    expect(h['xroadvnpt-to']).toBe(AGENCY);
    expect(h['xroadvnpt-hash-header']).toBe(
      createHmac('sha256', SECRET).update(h['xroadvnpt-sign-header']).digest('hex'),
    );
    expect(sim.refusals.filter((r) => r.operation === 'sendEdoc')).toEqual([]);
    // A valid signed package carrying the attachment.
    const xml = item.content.toString('utf8');
    expect(verifyPackage(xml, [credA.certPem], 1e7)).toMatchObject({
      present: true,
      valid: true,
      trusted: true,
    });
    const pkg = parsePackage(xml, { maxBytes: 1e7 }).package;
    expect(pkg.to.map((t) => t.organId)).toEqual([AGENCY]);
    expect(pkg.attachments[0].content.equals(pdf)).toBe(true);

    const exchanges = await eventually(async () => {
      const list = await exchangesOf(ev.documentId);
      if (!list.find((e) => e.to === AGENCY && e.state === 'sent')) throw new Error('not sent yet');
      return list;
    });
    expect(exchanges.find((e) => e.to === LOCAL_ORG)).toMatchObject({ route: 'local', state: 'sent' });
    // The published local row keeps no copy of the document (nothing reads it); the national-axis row keeps
    // its own, naming only its recipient (the axis sender builds the package from it).
    const stored = (await busA.db.query(`SELECT to_code, payload FROM exchanges WHERE document_id = $1`, [
      ev.documentId,
    ])) as { to_code: string; payload: { recipients: string[] } | null }[];
    expect(stored.find((r) => r.to_code === LOCAL_ORG)?.payload).toBeNull();
    expect(stored.find((r) => r.to_code === AGENCY)?.payload?.recipients).toEqual([AGENCY]);
    // The state events leave through the outbox after the commit that set the rows: wait for them.
    const states = await eventually(async () => {
      const all = (await probe.events<ExchangeStateEvent>(Subjects.busExchangeState())).filter(
        (e) => e.data.documentId === ev.documentId,
      );
      const names = all.map((s) => `${s.data.organizationCode}:${s.data.state}`);
      if (!names.includes(`${AGENCY}:sent`)) throw new Error(`not yet: ${names.join(', ')}`);
      return names;
    });
    expect(states).toEqual(expect.arrayContaining([`${AGENCY}:sent`]));
    // A local recipient gets no transport state: its delivery moves the sender's row to 01 itself.
    expect(states.filter((n) => n.startsWith(`${LOCAL_ORG}:`))).toEqual([]);

    // The agency answers 03 through the axis: the sender gets bus.status and the exchange is delivered.
    sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'status',
      content: Buffer.from(
        buildStatus({
          responseFor: { organId: PARTY_OFFICE, documentId: pkg.documentId },
          from: { organId: AGENCY, organName: 'Văn phòng Chính phủ' },
          statusCode: '03',
          timestamp: new Date().toISOString(),
        }),
      ),
    });
    const status = await eventually(async () => {
      const s = (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).find(
        (e) => e.data.sourceDocumentId === ev.documentId,
      );
      if (!s) throw new Error('no status yet');
      return s;
    });
    expect(status.data).toMatchObject({
      fromOrganizationCode: AGENCY,
      toOrganizationCode: PARTY_OFFICE,
      status: 'accepted',
      statusCode: '03',
    });
    await until(async () => {
      const ex = (await exchangesOf(ev.documentId)).find((e) => e.to === AGENCY)!;
      if (ex.state !== 'delivered') throw new Error(ex.state);
    });
    // The axis item was acknowledged after it was stored.
    await until(() => {
      if (![...sim.items.values()].some((i) => i.messageType === 'status' && i.acks[SYSTEM_ID] === 'done'))
        throw new Error('not acked');
    });
  });

  it('statuses an agency sends together (01 then 03) are applied in order, once each, and acknowledged after', async () => {
    const ev = await sendRequested([AGENCY]);
    const item = await eventually(() => {
      const [i] = axisPackagesFor(AGENCY, ev);
      if (!i) throw new Error('not at the axis yet');
      return i;
    });
    const pkg = parsePackage(item.content, { maxBytes: 1e7 }).package;
    await until(async () => {
      const ex = (await exchangesOf(ev.documentId)).find((e) => e.to === AGENCY)!;
      if (ex.state !== 'sent') throw new Error(ex.state);
    });
    // Injected in the same tick: the poller lists both in one round.
    const items = ['01', '03'].map((statusCode) =>
      sim.inject({
        from: AGENCY,
        to: [SYSTEM_ID],
        messageType: 'status',
        content: Buffer.from(
          buildStatus({
            responseFor: { organId: PARTY_OFFICE, documentId: pkg.documentId },
            from: { organId: AGENCY, organName: 'Văn phòng Chính phủ' },
            statusCode,
            timestamp: new Date().toISOString(),
          }),
        ),
      }),
    );
    await until(() => {
      for (const i of items)
        if (sim.items.get(i.docId)!.acks[SYSTEM_ID] !== 'done') throw new Error('not acked');
    });
    const statuses = await eventually(async () => {
      const all = (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).filter(
        (e) => e.data.sourceDocumentId === ev.documentId,
      );
      if (all.length < 2) throw new Error(`${all.length} statuses`);
      return all;
    });
    expect(statuses.map((s) => [s.data.statusCode, s.data.toOrganizationCode])).toEqual([
      ['01', PARTY_OFFICE],
      ['03', PARTY_OFFICE],
    ]);
    const ex = (await exchangesOf(ev.documentId)).find((e) => e.to === AGENCY)!;
    expect(ex.state).toBe('delivered');
    expect(ex.trace.map((t) => t.event).filter((e) => e === 'delivered' || e === 'status')).toEqual([
      'delivered',
      'status',
    ]);
    // The first answer is reported to documents once, by its `bus.status` (01) above; no `delivered` state
    // event (documents maps it to no status). It would have left in the same commit, before the statuses.
    const states = (await probe.events<ExchangeStateEvent>(Subjects.busExchangeState())).filter(
      (e) => e.data.documentId === ev.documentId && e.data.organizationCode === AGENCY,
    );
    expect(states.map((e) => e.data.state)).toEqual(['sent']);
  });

  it('an incoming package from the axis becomes a delivery and is acknowledged done after commit', async () => {
    const p = {
      from: { organId: AGENCY, organName: 'Văn phòng Chính phủ' },
      to: [{ organId: LOCAL_ORG }],
      documentId: formatDocumentId(AGENCY, '2026-11-21', '512', 'VPCP-KGVX'),
      codeNumber: '512',
      codeNotation: 'VPCP-KGVX',
      promulgationDate: '2026-11-21',
      type: '2',
      subject: 'Về việc báo cáo tình hình',
      signer: { position: 'Phó Chủ nhiệm', fullName: 'Lê Văn C' },
      priority: 0 as const,
      steeringType: 0 as const,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0 as const,
      attachments: [
        {
          contentId: 'cid:1',
          name: 'bc.pdf',
          contentType: 'application/pdf',
          content: Buffer.from('%PDF báo cáo'),
        },
      ],
    };
    const item = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(p)),
    });
    const [d] = await eventually(async () => {
      const x = (await deliveriesTo(LOCAL_ORG)).filter((e) => e.data.edxmlDocumentId === p.documentId);
      if (!x.length) throw new Error('no delivery');
      return x;
    });
    expect(d.data).toMatchObject({
      fromOrganizationCode: AGENCY,
      document: { subject: 'Về việc báo cáo tình hình', secrecy: 'none' },
    });
    await until(() => {
      if (sim.items.get(item.docId)!.acks[SYSTEM_ID] !== 'done') throw new Error('not acked');
    });
    // The same package fetched again (a second copy on the axis) is applied once.
    const again = sim.inject({
      from: AGENCY,
      to: [SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(p)),
    });
    await until(() => {
      if (sim.items.get(again.docId)!.acks[SYSTEM_ID] !== 'done') throw new Error('not acked');
    });
    expect(
      (await deliveriesTo(LOCAL_ORG)).filter((e) => e.data.edxmlDocumentId === p.documentId),
    ).toHaveLength(1);
    // The receiver (documents) answers 01: a status message goes back to the agency through the axis.
    await probe.publish(Subjects.documentStatusChanged(), 'document.status-changed', {
      statusId: randomUUID(),
      sourceDocumentId: d.data.sourceDocumentId,
      edxmlDocumentId: p.documentId,
      fromOrganizationCode: LOCAL_ORG,
      toOrganizationCode: AGENCY,
      status: 'arrived',
      statusCode: '01',
      at: new Date().toISOString(),
    } satisfies DocumentStatusEvent);
    const back = (await eventually(() => sim.received(AGENCY).find((i) => i.messageType === 'status')))!;
    expect(back.headers!['xroadvnpt-messagetype']).toBe('status');
    const parsed = parseStatus(back.content, { maxBytes: 1e6 });
    expect(parsed).toMatchObject({
      statusCode: '01',
      from: { organId: LOCAL_ORG },
      responseFor: { organId: AGENCY, documentId: p.documentId },
    });
    // Agencies from getAgenciesList were registered in identity as state organizations.
    expect(await identity.get('000.00.00.G30')).toMatchObject({ sector: 'state', name: 'Bộ Nội vụ' });
  });

  it('01s the sender already has, batched in one message, mark each exchange delivered and relay nothing back', async () => {
    const docs = [await sendRequested([LOCAL_ORG]), await sendRequested([LOCAL_ORG])];
    const deliveries = await Promise.all(
      docs.map((ev) =>
        eventually(async () => {
          const [d] = await deliveriesTo(LOCAL_ORG, ev.documentId);
          if (!d) throw new Error('no delivery yet');
          return d;
        }),
      ),
    );
    const statuses = deliveries.map(
      (d) =>
        ({
          statusId: randomUUID(),
          sourceDocumentId: d.data.sourceDocumentId,
          edxmlDocumentId: d.data.edxmlDocumentId,
          fromOrganizationCode: LOCAL_ORG,
          toOrganizationCode: PARTY_OFFICE,
          status: 'arrived',
          statusCode: '01',
          at: new Date().toISOString(),
          senderApplied: true,
        }) satisfies DocumentStatusEvent,
    );
    await probe.publish(Subjects.documentStatusChanged(), 'document.status-changed-batch', { statuses });
    for (const ev of docs)
      await until(async () => {
        const [ex] = await exchangesOf(ev.documentId);
        if (ex.state !== 'delivered') throw new Error(ex.state);
      });
    const relayed = (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).filter((e) =>
      statuses.some((s) => s.statusId === e.data.statusId),
    );
    expect(relayed).toHaveLength(0);
  });

  it('send requests arriving together are routed in one go: each recipient once, a repeated request not again, each delivery under its own correlation id', async () => {
    const unknownOrg = '000.00.00.X97';
    const sent = [];
    for (let i = 0; i < 6; i++) {
      const correlationId = `batch-${randomUUID()}`;
      sent.push({
        ev: await sendRequested([LOCAL_ORG, unknownOrg], {}, undefined, correlationId),
        correlationId,
      });
    }
    // The first request again under another NATS message id (a redelivery the stream does not drop).
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      sent[0].ev,
      sent[0].ev.documentId,
      randomUUID(),
    );
    // The consumer takes requests in order: once this one is delivered, the repeated one was handled.
    const marker = await sendRequested([LOCAL_ORG]);
    await eventually(async () => {
      const [d] = await deliveriesTo(LOCAL_ORG, marker.documentId);
      if (!d) throw new Error('not yet');
      return d;
    });
    for (const { ev, correlationId } of sent) {
      const deliveries = await deliveriesTo(LOCAL_ORG, ev.documentId);
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0].correlationId).toBe(correlationId);
      expect(deliveries[0].data.recipients?.map((r) => r.organizationCode)).toEqual([LOCAL_ORG]);
      const exchanges = await exchangesOf(ev.documentId);
      expect(exchanges.map((x) => [x.to, x.state, x.lastError ?? null]).sort()).toEqual(
        [
          [LOCAL_ORG, 'sent', null],
          [unknownOrg, 'failed', 'RECIPIENT_UNKNOWN'],
        ].sort(),
      );
    }
  });

  it('a recall (business type 1) is delivered to the local recipient as a separate exchange', async () => {
    const ev = await sendRequested([LOCAL_ORG]);
    await until(async () => expect(await deliveriesTo(LOCAL_ORG, ev.documentId)).toHaveLength(1));
    await probe.publish(
      Subjects.documentRecallRequested(),
      'document.recall-requested',
      { ...ev, businessType: 1, reason: 'Ban hành nhầm' },
      randomUUID(),
    );
    await until(async () => {
      const recall = (await deliveriesTo(LOCAL_ORG, ev.documentId)).filter((d) => d.data.businessType === 1);
      expect(recall).toHaveLength(1);
      expect(recall[0].data).toMatchObject({ reason: 'Ban hành nhầm', sourceDocumentId: ev.documentId });
    });
    expect(await exchangesOf(ev.documentId)).toHaveLength(2);
  });

  it('axis down then back: queued with back-off, then delivered exactly once', async () => {
    sim.setDown(true);
    const ev = await sendRequested([AGENCY_2]);
    await until(async () => {
      const [ex] = await exchangesOf(ev.documentId);
      if (!ex || ex.attempts < 1 || ex.state !== 'queued' || !ex.lastError)
        throw new Error('no failed attempt yet');
    });
    sim.setDown(false);
    await until(async () => {
      const [ex] = await exchangesOf(ev.documentId);
      if (ex.state !== 'sent') throw new Error(ex.state);
    }, 20_000);
    expect(axisPackagesFor(AGENCY_2, ev)).toHaveLength(1);
    const [ex] = await exchangesOf(ev.documentId);
    expect(ex.trace.map((t) => t.event)).toEqual(
      expect.arrayContaining(['queued', 'retry-scheduled', 'sent']),
    );
  });

  it('a local exchange that kept no copy of the document is retried with the copy of its sibling', async () => {
    const ev = await sendRequested([LOCAL_ORG, AGENCY], { subject: 'Gửi lại từ bản của exchange khác' });
    await until(async () => expect(await deliveriesTo(LOCAL_ORG, ev.documentId)).toHaveLength(1));
    const [local] = (await busA.db.query(
      `SELECT id, payload FROM exchanges WHERE document_id = $1 AND to_code = $2`,
      [ev.documentId, LOCAL_ORG],
    )) as { id: string; payload: unknown }[];
    expect(local.payload).toBeNull();
    // Made to look failed (as after a lost answer), then retried by an operator: the delivery is published
    // again with the whole document.
    await busA.db.query(`UPDATE exchanges SET state = 'failed' WHERE id = $1`, [local.id]);
    const auth = `Bearer ${await operator()}`;
    expect(
      (await busA.http.post(`/api/v1/exchanges/${local.id}/retry`).set('Authorization', auth)).status,
    ).toBe(202);
    const again = await eventually(async () => {
      const d = await deliveriesTo(LOCAL_ORG, ev.documentId);
      if (d.length < 2) throw new Error('not re-published yet');
      return d[1];
    });
    expect(again.data).toMatchObject({
      sourceDocumentId: ev.documentId,
      exchangeId: local.id,
      recipients: [{ organizationCode: LOCAL_ORG, exchangeId: local.id }],
      document: { subject: 'Gửi lại từ bản của exchange khác', number: ev.document.number },
    });
  });

  it('the bus closed mid-flight and restarted: nothing lost, nothing doubled', async () => {
    await busA.app.close();
    const ev = await sendRequested([LOCAL_ORG, AGENCY]);
    // The same event redelivered under another message id (as after a crash between commit and ack).
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      ev,
      ev.documentId,
      `${ev.documentId}-again`,
    );
    await busA.restart();
    await until(async () => {
      if ((await deliveriesTo(LOCAL_ORG, ev.documentId)).length === 0) throw new Error('no delivery');
      if (axisPackagesFor(AGENCY, ev).length === 0) throw new Error('not at axis');
    }, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await deliveriesTo(LOCAL_ORG, ev.documentId)).toHaveLength(1);
    expect(axisPackagesFor(AGENCY, ev)).toHaveLength(1);
    expect(await exchangesOf(ev.documentId)).toHaveLength(2);
  });

  it('classified documents and unknown recipients are refused without a package', async () => {
    const secret = await sendRequested([LOCAL_ORG], { secrecy: 'secret' });
    const unknown = await sendRequested(['000.00.00.X99']);
    await until(async () => {
      const states = (await probe.events<ExchangeStateEvent>(Subjects.busExchangeState())).filter((e) =>
        [secret.documentId, unknown.documentId].includes(e.data.documentId),
      );
      if (states.length < 2) throw new Error('not yet');
      expect(states.map((s) => s.data.error).sort()).toEqual(['DOCUMENT_CLASSIFIED', 'RECIPIENT_UNKNOWN']);
    });
    expect(await deliveriesTo(LOCAL_ORG, secret.documentId)).toHaveLength(0);
    await until(async () => {
      const audits = await auditEvents();
      expect(
        audits.find((a) => a.data.action === 'exchange.refused' && a.data.resource.id === secret.documentId),
      ).toMatchObject({
        data: { outcome: 'denied', details: { reason: 'DOCUMENT_CLASSIFIED' } },
      });
    });
    expect(await exchangesOf(secret.documentId)).toHaveLength(0);
    const [failed] = await exchangesOf(unknown.documentId);
    expect(failed).toMatchObject({ state: 'failed', lastError: 'RECIPIENT_UNKNOWN' });
    // Operator retry: 202 for failed, 409 for a sent exchange, 404 for an unknown id.
    const auth = `Bearer ${await operator()}`;
    expect(
      (await busA.http.post(`/api/v1/exchanges/${failed.id}/retry`).set('Authorization', auth)).status,
    ).toBe(202);
    const [sent] = (await exchangesOf((await eventuallyDoc()).documentId)).filter(
      (e) => e.state === 'sent' || e.state === 'delivered',
    );
    const conflictRes = await busA.http.post(`/api/v1/exchanges/${sent.id}/retry`).set('Authorization', auth);
    expect(conflictRes.status).toBe(409);
    expect(conflictRes.body.code).toBe('EXCHANGE_NOT_RETRYABLE');
    expect((await busA.http.get(`/api/v1/exchanges/${randomUUID()}`).set('Authorization', auth)).status).toBe(
      404,
    );
    const one = await busA.http.get(`/api/v1/exchanges/${failed.id}`).set('Authorization', auth);
    expect(Object.keys(one.body).sort()).toEqual(
      ['attempts', 'documentId', 'from', 'id', 'lastError', 'route', 'state', 'to', 'trace']
        .filter((k) => k !== 'lastError' || 'lastError' in one.body)
        .sort(),
    );
    expect(
      (
        await busA.http
          .get('/api/v1/exchanges')
          .set('Authorization', `Bearer ${await tokens.mint({ org: PARTY_OFFICE, roles: ['clerk'] })}`)
      ).status,
    ).toBe(403);
  });

  const auditEvents = () =>
    probe.events<AuditEventPayload>(Subjects.auditEvent('integration-bus'), Streams.audit().name);

  it('TTL → expired, last attempt → dead, operator retry → sent again (all audited)', async () => {
    sim.setDown(true);
    const x = await sendRequested([AGENCY_2]);
    const y = await sendRequested([AGENCY_2]);
    await until(async () => {
      for (const ev of [x, y])
        if (!((await exchangesOf(ev.documentId))[0]?.attempts >= 1)) throw new Error('no attempt yet');
    });
    // Time passes: x outlives its TTL; y is at its last attempt.
    await busA.db.query(
      `UPDATE exchanges SET expires_at = now() - interval '1 second' WHERE document_id = $1`,
      [x.documentId],
    );
    await busA.db.query(`UPDATE exchanges SET attempts = 9, next_attempt_at = now() WHERE document_id = $1`, [
      y.documentId,
    ]);
    await until(async () => {
      expect((await exchangesOf(x.documentId))[0].state).toBe('expired');
      expect((await exchangesOf(y.documentId))[0].state).toBe('dead');
    }, 20_000);
    await until(async () => {
      const states = (await probe.events<ExchangeStateEvent>(Subjects.busExchangeState())).filter((e) =>
        [x.documentId, y.documentId].includes(e.data.documentId),
      );
      expect(states.map((e) => e.data.state)).toEqual(expect.arrayContaining(['expired', 'dead']));
    });
    sim.setDown(false);
    const [ex] = await exchangesOf(x.documentId);
    const auth = `Bearer ${await operator()}`;
    const retried = await busA.http.post(`/api/v1/exchanges/${ex.id}/retry`).set('Authorization', auth);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: ex.id, state: 'queued', attempts: 0 });
    await until(async () => expect((await exchangesOf(x.documentId))[0].state).toBe('sent'), 20_000);
    await until(async () => {
      const actions = (await auditEvents())
        .filter((a) => [ex.id].includes(a.data.resource.id))
        .map((a) => a.data.action);
      expect(actions).toEqual(
        expect.arrayContaining(['exchange.queued', 'exchange.expired', 'exchange.retried', 'exchange.sent']),
      );
    });
  });

  /** A federation message as a node would send it, signed by `cred` (the envelope proof). */
  function federationMessage(
    cred: { certPem: string; keyPem: string },
    fromNodeId: string,
    body: Record<string, unknown>,
  ) {
    const ev: Record<string, unknown> = { ...body, fromNodeId, toNodeId: 'prov1' };
    const signature = sign('sha256', Buffer.from(canonicalize(ev)!, 'utf8'), cred.keyPem).toString('base64');
    return {
      ...ev,
      proof: { certificate: new X509Certificate(cred.certPem).raw.toString('base64'), signature },
    };
  }

  function forgedPackage(signer: { certPem: string; keyPem: string }, number: string) {
    const documentId = formatDocumentId(PARTY_OFFICE, '2026-11-22', number, 'GIẢ-MẠO');
    const xml = signPackage(
      buildPackage({
        from: { organId: PARTY_OFFICE },
        to: [{ organId: PROVINCE_ORG }],
        documentId,
        codeNumber: number,
        codeNotation: 'GIẢ-MẠO',
        promulgationDate: '2026-11-22',
        type: '1',
        subject: 'Giả mạo',
        signer: {},
        priority: 0,
        steeringType: 0,
        toPlaces: [],
        responseFor: [],
        traces: [],
        businessDocType: 0,
        attachments: [],
      }),
      signer,
    );
    return { documentId, packageBase64: Buffer.from(xml).toString('base64') };
  }

  const rejectedOnProv1 = async (reason: string, documentId: string) =>
    until(async () => {
      const a = (await auditEvents()).find(
        (e) =>
          e.data.action === 'edxml.rejected' &&
          e.data.details?.reason === reason &&
          e.data.details?.documentId === documentId,
      );
      expect(a?.source).toMatch(/@prov1$/);
    });

  it('federation refuses messages from untrusted or impersonated nodes and packages signed by an untrusted node (audited, nothing delivered)', async () => {
    const stranger = newCredentials('lienthong-bus-central');
    // 1. A node certificate outside the trust list, even one naming a trusted node.
    const a = forgedPackage(stranger, '77');
    await probe.publish(
      Subjects.federationOut('prov1'),
      'bus.node-inbound',
      federationMessage(stranger, 'central', {
        kind: 'package',
        sourceDocumentId: 'forged-1',
        packageBase64: a.packageBase64,
      }),
    );
    await rejectedOnProv1('SIGNATURE_UNTRUSTED', 'forged-1');
    // 2. A trusted node's envelope around an edXML package signed by an untrusted key.
    const b = forgedPackage(stranger, '78');
    await probe.publish(
      Subjects.federationOut('prov1'),
      'bus.node-inbound',
      federationMessage(credA, 'central', {
        kind: 'package',
        sourceDocumentId: 'forged-2',
        packageBase64: b.packageBase64,
      }),
    );
    await rejectedOnProv1('SIGNATURE_UNTRUSTED', 'forged-2');
    // 3. A trusted certificate used to claim another node's identity.
    const c = forgedPackage(credA, '79');
    await probe.publish(
      Subjects.federationOut('prov1'),
      'bus.node-inbound',
      federationMessage(credA, 'prov2', {
        kind: 'package',
        sourceDocumentId: 'forged-3',
        packageBase64: c.packageBase64,
      }),
    );
    await rejectedOnProv1('NODE_MISMATCH', 'forged-3');
    // 4. A trusted node tampering with the message after signing it.
    const d = forgedPackage(credA, '80');
    const tampered = {
      ...federationMessage(credA, 'central', {
        kind: 'package',
        sourceDocumentId: 'forged-4',
        packageBase64: d.packageBase64,
      }),
      sourceDocumentId: 'forged-4',
      toNodeId: 'prov1',
      fromNodeId: 'central',
    };
    (tampered as Record<string, unknown>).packageBase64 = a.packageBase64;
    await probe.publish(Subjects.federationOut('prov1'), 'bus.node-inbound', tampered);
    await rejectedOnProv1('SIGNATURE_INVALID', 'forged-4');
    // 5. A trusted node sending for an organization it does not serve.
    const eDocumentId = formatDocumentId(PROVINCE_ORG, '2026-11-22', '81', 'GIẢ-MẠO');
    const eXml = signPackage(
      buildPackage({
        from: { organId: PROVINCE_ORG },
        to: [{ organId: PROVINCE_ORG }],
        documentId: eDocumentId,
        codeNumber: '81',
        codeNotation: 'GIẢ-MẠO',
        promulgationDate: '2026-11-22',
        type: '1',
        subject: 'Giả mạo',
        signer: {},
        priority: 0,
        steeringType: 0,
        toPlaces: [],
        responseFor: [],
        traces: [],
        businessDocType: 0,
        attachments: [],
      }),
      credA,
    );
    await probe.publish(
      Subjects.federationOut('prov1'),
      'bus.node-inbound',
      federationMessage(credA, 'central', {
        kind: 'package',
        sourceDocumentId: 'forged-5',
        packageBase64: Buffer.from(eXml).toString('base64'),
      }),
    );
    await rejectedOnProv1('ORGANIZATION_NOT_SERVED_BY_NODE', 'forged-5');
    const delivered = (await deliveriesTo(PROVINCE_ORG)).map((e) => e.data.edxmlDocumentId);
    for (const x of [a, b, c, d, { documentId: eDocumentId }]) expect(delivered).not.toContain(x.documentId);
  });

  async function eventuallyDoc() {
    const ev = await sendRequested([LOCAL_ORG]);
    await until(async () => {
      if ((await exchangesOf(ev.documentId)).length === 0) throw new Error('no exchange');
    });
    return ev;
  }

  it('inbound edXML API: 202, duplicate 200 with the same answer, 400/413 with codes, stays healthy', async () => {
    const token = await tokens.mint({ org: '000.00.01.T01', roles: ['exchange'], typ: 'client' });
    const auth = `Bearer ${token}`;
    const p = {
      from: { organId: '000.00.01.T01' },
      to: [{ organId: LOCAL_ORG }],
      documentId: formatDocumentId('000.00.01.T01', '2026-11-22', '9', 'UBND-VP'),
      codeNumber: '9',
      codeNotation: 'UBND-VP',
      promulgationDate: '2026-11-22',
      type: '1',
      subject: 'Giấy mời họp',
      signer: {},
      priority: 2 as const,
      steeringType: 0 as const,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0 as const,
      attachments: [],
    };
    const xml = signPackage(buildPackage(p), credB);
    const first = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(xml);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      documentId: p.documentId,
      exchanges: [{ to: LOCAL_ORG, route: 'local', state: 'sent' }],
    });
    const second = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(xml);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(
      (await deliveriesTo(LOCAL_ORG)).filter((e) => e.data.edxmlDocumentId === p.documentId).length,
    ).toBeLessThanOrEqual(1);

    const missing = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(buildPackage(p).replace(/<edXML:Subject>.*?<\/edXML:Subject>/, ''));
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('EDXML_INVALID');
    expect(missing.body.message).toContain('Subject');
    const malformed = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send('<edXML><broken></edXML>');
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('EDXML_INVALID');
    const dtd = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>');
    expect(dtd.status).toBe(400);
    expect(dtd.body.code).toBe('EDXML_FORBIDDEN_CONSTRUCT');
    const big = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(`<edXML>${'x'.repeat(250_000)}</edXML>`);
    expect(big.status).toBe(413);
    const tampered = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(xml.replace('Giấy mời họp', 'Giấy mời khác'));
    expect(tampered.status).toBe(400);
    expect(tampered.body.code).toBe('EDXML_INVALID');
    const noRole = await busA.http
      .post('/api/v1/edxml')
      .set('Authorization', `Bearer ${await operator()}`)
      .set('Content-Type', 'application/xml')
      .send(xml);
    expect(noRole.status).toBe(403);
    expect((await busA.http.get('/health/live')).status).toBe(200);

    const status = buildStatus({
      responseFor: { organId: PARTY_OFFICE, documentId: 'x' },
      from: { organId: '000.00.01.T01' },
      statusCode: '01',
      timestamp: new Date().toISOString(),
    });
    const st = await busA.http
      .post('/api/v1/edxml/status')
      .set('Authorization', auth)
      .set('Content-Type', 'application/xml')
      .send(status);
    expect(st.status).toBe(202);
  });

  it('federation: a package crosses to the node serving the recipient and its status comes back', async () => {
    const ev = await sendRequested([PROVINCE_ORG], {}, Buffer.from('%PDF liên thông tỉnh'));
    const [d] = await eventually(async () => {
      const x = await deliveriesTo(PROVINCE_ORG, ev.documentId);
      if (!x.length) throw new Error('no delivery on prov1');
      return x;
    });
    expect(d.source).toMatch(/@prov1$/);
    expect(d.data).toMatchObject({
      fromOrganizationCode: PARTY_OFFICE,
      document: { subject: ev.document.subject },
    });
    expect(d.data.attachments[0].sha256).toBe(ev.attachments[0].sha256);
    expect((await exchangesOf(ev.documentId))[0]).toMatchObject({ route: 'federation', state: 'sent' });

    // documents on prov1 answers 01 → node prov1 → node central → bus.status for the sender.
    const statusId = randomUUID();
    await probe.publish(Subjects.documentStatusChanged(), 'document.status-changed', {
      statusId,
      sourceDocumentId: ev.documentId,
      edxmlDocumentId: d.data.edxmlDocumentId,
      fromOrganizationCode: PROVINCE_ORG,
      toOrganizationCode: PARTY_OFFICE,
      status: 'arrived',
      statusCode: '01',
      at: new Date().toISOString(),
    } satisfies DocumentStatusEvent);
    const st = await eventually(async () => {
      const s = (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).find(
        (e) => e.data.statusId === statusId,
      );
      if (!s) throw new Error('no status');
      return s;
    });
    expect(st.source).toMatch(/@central$/);
    expect(st.data).toMatchObject({
      sourceDocumentId: ev.documentId,
      toOrganizationCode: PARTY_OFFICE,
      statusCode: '01',
    });
    await until(async () => {
      const [ex] = await exchangesOf(ev.documentId);
      if (ex.state !== 'delivered') throw new Error(ex.state);
    });
  });

  it('federation backlog: a burst of packages (a copy and a forged one among them) is applied once each; their 01s go back in one signed statuses message', async () => {
    const tag = String(Date.now() % 100000);
    const good = Array.from({ length: 6 }, (_, i) => forgedPackage(credA, `${tag}${i}`));
    const forged = forgedPackage(newCredentials('lienthong-bus-central'), `${tag}9`);
    const message = (p: { packageBase64: string }, sourceDocumentId: string) =>
      federationMessage(credA, 'central', {
        kind: 'package',
        sourceDocumentId,
        packageBase64: p.packageBase64,
      });
    // Published back to back so that the consumer takes them in batches; the third one twice.
    const burst = [
      ...good.map((p, i) => message(p, `burst-${tag}-${i}`)),
      message(good[2], `burst-${tag}-2`),
      message(forged, `burst-${tag}-forged`),
    ];
    for (const m of burst) await probe.publish(Subjects.federationOut('prov1'), 'bus.node-inbound', m);
    await rejectedOnProv1('SIGNATURE_UNTRUSTED', `burst-${tag}-forged`);
    const deliveries = await eventually(async () => {
      const all = (await deliveriesTo(PROVINCE_ORG)).filter((e) =>
        good.some((p) => p.documentId === e.data.edxmlDocumentId),
      );
      if (new Set(all.map((e) => e.data.edxmlDocumentId)).size < good.length)
        throw new Error(`${all.length} delivered`);
      return all;
    });
    // Each package once, the copy not again, the forged one never.
    expect(deliveries.map((e) => e.data.edxmlDocumentId).sort()).toEqual(
      good.map((p) => p.documentId).sort(),
    );
    expect(deliveries.every((e) => e.source.endsWith('@prov1'))).toBe(true);
    const received = (await auditEvents()).filter(
      (a) => a.data.action === 'edxml.received' && good.some((p) => p.documentId === a.data.resource.id),
    );
    expect(received).toHaveLength(good.length);

    // documents on prov1 answers 01 for all of them in one message → one signed `statuses` message to central.
    const statuses = deliveries.map(
      (d) =>
        ({
          statusId: randomUUID(),
          sourceDocumentId: d.data.sourceDocumentId,
          edxmlDocumentId: d.data.edxmlDocumentId,
          fromOrganizationCode: PROVINCE_ORG,
          toOrganizationCode: PARTY_OFFICE,
          status: 'arrived',
          statusCode: '01',
          at: new Date().toISOString(),
        }) satisfies DocumentStatusEvent,
    );
    await probe.publish(Subjects.documentStatusChanged(), 'document.status-changed-batch', { statuses });
    const ids = new Set<string>(statuses.map((x) => x.statusId));
    const relayed = await eventually(async () => {
      const s = (await probe.events<DocumentStatusEvent>(Subjects.busStatus())).filter((e) =>
        ids.has(e.data.statusId),
      );
      if (s.length < statuses.length) throw new Error(`${s.length} statuses at central`);
      return s;
    });
    expect(relayed.every((e) => e.source.endsWith('@central'))).toBe(true);
    expect(new Set(relayed.map((e) => e.data.statusId)).size).toBe(statuses.length);
    const crossed = (
      await probe.events<NodeInboundEvent>(Subjects.federationOut('central'), streamName('FEDOUT'))
    ).filter((e) => (e.data.statuses ?? []).some((x) => ids.has(x.statusId)));
    expect(crossed).toHaveLength(1);
    expect(crossed[0].data).toMatchObject({ kind: 'statuses', fromNodeId: 'prov1', toNodeId: 'central' });
    expect(crossed[0].data.statuses!.map((x) => x.statusId)).toEqual(statuses.map((x) => x.statusId));
    // prov1's exchanges of the received packages are delivered, each audited once.
    await until(async () => {
      const rows: { edxml_document_id: string; route: string; state: string; id: string }[] =
        await busB.db.query(
          'SELECT id, edxml_document_id, route, state FROM exchanges WHERE edxml_document_id = ANY($1::text[])',
          [good.map((p) => p.documentId)],
        );
      expect(rows).toHaveLength(good.length);
      for (const r of rows) expect(r).toMatchObject({ route: 'local', state: 'delivered' });
      const delivered = (await auditEvents()).filter(
        (a) => a.data.action === 'exchange.delivered' && rows.some((r) => r.id === a.data.resource.id),
      );
      expect(delivered).toHaveLength(good.length);
    });
  });

  it('federation: a package larger than a NATS message crosses in parts and arrives intact', async () => {
    const big = Buffer.alloc(1_600_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const ev = await sendRequested([PROVINCE_ORG], {}, big);
    const [d] = await eventually(async () => {
      const x = await deliveriesTo(PROVINCE_ORG, ev.documentId);
      if (!x.length) throw new Error('no delivery on prov1');
      return x;
    }, 30_000);
    // The receiving bus keys the bytes it reassembled by their SHA-256: equal keys mean identical bytes.
    expect(d.data.attachments[0]).toMatchObject({ sha256: ev.attachments[0].sha256, size: big.length });
  });

  it('a fan-out larger than one slice: routed slice by slice, each recipient delivered and audited once, a redelivery adds nothing', async () => {
    // 2,050 organizations of this node: three routing transactions (1,000 + 1,000 + 50).
    const codes = Array.from({ length: 2050 }, (_, i) => `BC.${String(i).padStart(4, '0')}`);
    for (let i = 0; i < codes.length; i += 50)
      await Promise.all(codes.slice(i, i + 50).map((c) => identity.add(org(c, 'party', 'central'))));
    const ev = await sendRequested(codes);
    const deliveries = await eventually(async () => {
      const x = (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).filter(
        (e) => e.data.sourceDocumentId === ev.documentId,
      );
      if (x.flatMap((e) => e.data.recipients ?? []).length < codes.length)
        throw new Error('not all delivered');
      return x;
    }, 60_000);
    // Every delivery message fits in a NATS message and names at most one slice of recipients.
    for (const d of deliveries) {
      expect(d.data.recipients!.length).toBeLessThanOrEqual(1000);
      expect(Buffer.byteLength(JSON.stringify(d))).toBeLessThan(1024 * 1024);
    }
    const delivered = deliveries.flatMap((d) => d.data.recipients!.map((r) => r.organizationCode));
    expect(delivered.sort()).toEqual([...codes].sort());
    const exchanges = async () =>
      (await busA.db.query(`SELECT id, to_code, state FROM exchanges WHERE document_id = $1`, [
        ev.documentId,
      ])) as { id: string; to_code: string; state: string }[];
    const rows = await exchanges();
    expect(rows).toHaveLength(codes.length);
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['sent']));
    // Each exchange's queued and sent records reach the audit stream (in batches that fit a NATS message).
    const ids = new Set(rows.map((r) => r.id));
    await until(async () => {
      const audited = (await auditEvents()).filter((a) => ids.has(a.data.resource.id));
      expect(audited.filter((a) => a.data.action === 'exchange.queued')).toHaveLength(codes.length);
      expect(audited.filter((a) => a.data.action === 'exchange.sent')).toHaveLength(codes.length);
    }, 30_000);
    // The same send request delivered again (another stream message id): no row, delivery or audit added.
    await probe.publish(
      Subjects.documentSendRequested(),
      'document.send-requested',
      ev,
      ev.documentId,
      randomUUID(),
    );
    // Wait until the bus has taken and acknowledged it.
    const jsm = await jetstreamManager(probe.nc);
    await until(async () => {
      const c = await jsm.consumers.info(Streams.documents().name, 'bus-central-send');
      expect(c.num_pending + c.num_ack_pending).toBe(0);
      expect(c.delivered.stream_seq).toBeGreaterThanOrEqual(c.ack_floor.stream_seq);
    }, 30_000);
    expect(await exchanges()).toHaveLength(codes.length);
    const again = (await probe.events<DocumentDeliveryEvent>(Subjects.busDelivery())).filter(
      (e) => e.data.sourceDocumentId === ev.documentId,
    );
    expect(again).toHaveLength(deliveries.length);
    const audited = (await auditEvents()).filter((a) => ids.has(a.data.resource.id));
    expect(audited).toHaveLength(2 * codes.length);
  }, 180_000);
});
