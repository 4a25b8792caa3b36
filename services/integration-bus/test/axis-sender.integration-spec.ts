import { Subjects, type DocumentSendRequestedEvent } from '@lienthong/contracts';
import { eventually, TestTokens, testNatsUrl } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { parsePackage, verifyPackage } from '../src/edxml';
import { AxisWakeup } from '../src/national-axis/axis-wakeup';
import { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';
import {
  BusInstance,
  busEnv,
  NatsProbe,
  newCredentials,
  org,
  RealIdentity,
  SECRET,
  SYSTEM_ID,
} from './support/bus-harness';

const OFFICE = '000.00.00.H01';
const LOCAL = '000.00.00.H02';
const AGENCIES = ['000.00.00.G22', '000.00.00.G23', '000.00.00.G24'];

jest.setTimeout(90_000);

const until = (fn: () => unknown, timeoutMs?: number) =>
  eventually(async () => {
    await fn();
    return true;
  }, timeoutMs);

/**
 * The national-axis sender (issue 12 items 5–6) on real PostgreSQL, NATS and the simulated axis over HTTP,
 * with two bus replicas on one schema. The poll fallback is set to a minute, so whatever reaches the axis
 * here was claimed because queuing woke the sender.
 */
describe('national-axis sender: one package per document, woken on queue, replicas share the work', () => {
  let tokens: TestTokens;
  let identity: RealIdentity;
  let probe: NatsProbe;
  let sim: NationalAxisSimulator;
  const cred = newCredentials('bus-axis-sender');
  let a: BusInstance;
  let b: BusInstance;

  beforeAll(async () => {
    tokens = await TestTokens.start();
    identity = await new RealIdentity().start();
    await identity.add(
      org(OFFICE, 'party', 'central'),
      org(LOCAL, 'party', 'central'),
      ...AGENCIES.map((c) => org(c, 'state', 'central')),
    );
    probe = await new NatsProbe().start(await testNatsUrl());
    sim = new NationalAxisSimulator({ systems: { [SYSTEM_ID]: SECRET } });
    const env = await busEnv(tokens, cred, {
      NATIONAL_AXIS_URL: await sim.start(0),
      NATIONAL_AXIS_SYSTEM_ID: SYSTEM_ID,
      NATIONAL_AXIS_SECRET: SECRET,
      EXCHANGE_SCHEDULER_MS: '60000',
      NATIONAL_AXIS_POLL_MS: '60000',
      NATIONAL_AXIS_BATCH: '8',
      NATIONAL_AXIS_CONCURRENCY: '4',
    });
    a = await new BusInstance(cred).start(env);
    b = await new BusInstance(cred).start(env);
  });

  afterAll(async () => {
    await b?.stop(false);
    await a?.stop();
    await sim?.stop();
    await identity?.stop();
    await probe?.stop();
    await tokens?.close();
  });

  async function send(recipients: string[], number: string) {
    const ev: DocumentSendRequestedEvent = {
      documentId: randomUUID(),
      fromOrganizationCode: OFFICE,
      recipients,
      businessType: 0,
      document: {
        number,
        notation: 'CV/VPTW',
        type: 'CV',
        subject: `Về việc ${number}`,
        promulgationDate: '2026-11-26',
        signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
        secrecy: 'none',
        urgency: 'normal',
        steering: false,
      },
      attachments: [],
    };
    await probe.publish(Subjects.documentSendRequested(), 'document.send-requested', ev, ev.documentId);
    return ev;
  }

  const packagesOf = (number: string) =>
    sim
      .received()
      .filter((i) => i.messageType === 'edoc')
      .map((i) => ({ item: i, pkg: parsePackage(i.content, { maxBytes: 1e7 }).package }))
      .filter((x) => x.pkg.codeNumber === number);

  it('one signed package carries every axis recipient of a document; each exchange records it', async () => {
    const ev = await send([LOCAL, ...AGENCIES], '101');
    const [only] = await eventually(async () => {
      const p = packagesOf('101');
      if (p.length === 0) throw new Error('not at the axis yet');
      return p;
    });
    expect(only.item.to.sort()).toEqual(AGENCIES);
    expect(only.item.headers!['xroadvnpt-to'].split(';').sort()).toEqual(AGENCIES);
    expect(only.pkg.to.map((t) => t.organId).sort()).toEqual(AGENCIES);
    expect(verifyPackage(only.item.content.toString('utf8'), [cred.certPem], 1e7)).toMatchObject({
      valid: true,
      trusted: true,
    });
    await until(async () => {
      const rows: { to_code: string; state: string; axis_doc_id: string | null; attempts: number }[] =
        await a.db.query(
          `SELECT to_code, state, axis_doc_id, attempts FROM exchanges WHERE document_id = $1 AND route = 'national-axis'`,
          [ev.documentId],
        );
      expect(rows).toHaveLength(3);
      for (const r of rows)
        expect(r).toMatchObject({ state: 'sent', axis_doc_id: only.item.docId, attempts: 1 });
    });
    expect(packagesOf('101')).toHaveLength(1);
  });

  it('two replicas on one schema: every document reaches the axis exactly once', async () => {
    const numbers = Array.from({ length: 30 }, (_, i) => String(200 + i));
    await Promise.all(numbers.map((n, i) => send([AGENCIES[i % 3], AGENCIES[(i + 1) % 3]], n)));
    await until(async () => {
      const [{ n }] = await a.db.query(
        `SELECT count(*)::int AS n FROM exchanges WHERE state = 'sent' AND route = 'national-axis' AND edxml_document_id LIKE '%,2026/11/26,2__/CV/VPTW'`,
      );
      expect(n).toBe(60);
    }, 30_000);
    for (const n of numbers) {
      const p = packagesOf(n);
      expect(p).toHaveLength(1);
      expect(p[0].item.to).toHaveLength(2);
    }
  });

  it('a claim whose lease lapsed (its sender died mid-call) is claimed again and completed', async () => {
    const ev = await send([AGENCIES[0]], '301');
    await until(() => expect(packagesOf('301')).toHaveLength(1));
    await until(async () => {
      const [r] = await a.db.query('SELECT state FROM exchanges WHERE document_id = $1', [ev.documentId]);
      expect(r.state).toBe('sent');
    });
    // As a replica leaves it when it dies between its claim and its results: `sending`, lease run out.
    await a.db.query(
      `UPDATE exchanges SET state = 'sending', next_attempt_at = now() - interval '1 second' WHERE document_id = $1`,
      [ev.documentId],
    );
    b.app.get(AxisWakeup).notify();
    await until(async () => {
      const [r] = await a.db.query('SELECT state, attempts FROM exchanges WHERE document_id = $1', [
        ev.documentId,
      ]);
      expect(r).toEqual({ state: 'sent', attempts: 2 });
    });
    // At least once: the package went again (the receiving side applies a DocumentId once).
    expect(packagesOf('301')).toHaveLength(2);
  });

  it('a wake-up crosses replicas over core NATS', async () => {
    let heard = 0;
    const off = b.app.get(AxisWakeup).onWake(() => heard++);
    a.app.get(AxisWakeup).notify();
    await until(() => expect(heard).toBeGreaterThan(0));
    off();
  });
});
