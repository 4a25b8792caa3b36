import { AuditActions, Streams, Subjects, type AuditEventPayload } from '@lienthong/contracts';
import { eventually, makeCa, makeSigner, verifyWebhookSignature, WebhookReceiver } from '@lienthong/testing';
import forge from 'node-forge';
import { randomUUID } from 'node:crypto';
import { OrganizationFeed } from '../src/subscriptions/organization-feed';
import { SubscriptionsService } from '../src/subscriptions/subscriptions.service';
import { WebhookTargets, type ResolvedAddress } from '../src/subscriptions/webhook-targets';
import { DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

const ORG = '000.00.00.S51';
/** The one private address this deployment allows (SUBSCRIPTIONS_ALLOW_PRIVATE): receivers listen there. */
const ALLOWED = '127.0.0.2';

/**
 * The webhook SSRF guard with real sockets: a documents service allowed to deliver to 127.0.0.2 only, an
 * HTTPS receiver there under a name this test resolves itself, and receivers on 127.0.0.1 that must never
 * be reached — neither by a URL naming them nor by a name that resolves (or later re-resolves) to them.
 */
describe('webhooks go to public (or explicitly allowed) addresses only', () => {
  const h = new DocumentsHarness();
  const ca = makeCa('Webhook test CA');
  const names = new Map<string, () => ResolvedAddress[]>();
  const receivers: WebhookReceiver[] = [];
  let clerk: string;
  let targets: WebhookTargets;

  beforeAll(async () => {
    await h.start({
      SUBSCRIPTIONS_ALLOW_PRIVATE: `${ALLOWED}/32`,
      SUBSCRIPTIONS_TLS_CA: ca.pem,
      SUBSCRIPTIONS_RETRY_BASE_MS: '50',
      SUBSCRIPTIONS_RETRY_MAX_MS: '100',
      // Long enough for a TLS handshake with the test CA on a loaded machine (1 s timed out in CI at load 20);
      // nothing here waits for a timeout.
      SUBSCRIPTIONS_TIMEOUT_MS: '10000',
    });
    h.knownOrganizations.add(ORG);
    clerk = await h.token(ORG);
    targets = h.app.get(WebhookTargets);
    // Names of this test resolve here; everything else through the system (localhost → 127.0.0.1).
    const system = targets.resolver;
    targets.resolver = async (name) => names.get(name)?.() ?? system(name);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h.stop();
  });

  const subscribe = (url: string) =>
    h.http
      .post('/api/v1/subscriptions')
      .set({ Authorization: `Bearer ${clerk}` })
      .send({ url, events: ['document.incoming'] });

  async function receiver(options: Parameters<WebhookReceiver['start']>[1] = {}): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver().start('/hooks', options);
    receivers.push(r);
    return r;
  }

  /** A server certificate for `name`, issued by the CA the service trusts (SUBSCRIPTIONS_TLS_CA). */
  function serverCert(name: string) {
    const id = makeSigner(name, ca, {}, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
    ]);
    return { cert: id.pem, key: forge.pki.privateKeyToPem(id.key) };
  }

  /** A new event in the organization's feed (what a delivery or a status would write). */
  async function event(): Promise<string> {
    const documentId = randomUUID();
    await h.db.transaction((m) =>
      h.app
        .get(OrganizationFeed)
        .record(m, [{ organizationCode: ORG, type: 'document.incoming', documentId }]),
    );
    return documentId;
  }

  async function subscription(id: string) {
    const r = await h.http.get(`/api/v1/subscriptions/${id}`).set({ Authorization: `Bearer ${clerk}` });
    expect(r.status).toBe(200);
    return r.body as { lastError?: string; lastDeliveredAt?: string; backlog: number };
  }

  const stored = async () =>
    Number((await h.db.query('SELECT count(*)::int AS n FROM subscriptions'))[0].n as number);

  it('refuses at registration every URL whose host is, or resolves to, an internal address (400, field url)', async () => {
    names.set('hooks.internal.test', () => [{ address: '10.1.2.3', family: 4 }]);
    names.set('mixed.internal.test', () => [
      { address: '93.184.215.14', family: 4 },
      { address: 'fd00::5', family: 6 },
    ]);
    const before = await stored();
    for (const url of [
      'http://127.0.0.1:8080/hooks',
      'http://localhost:8080/hooks',
      'https://localhost/hooks',
      'http://[::1]/hooks',
      'http://0.0.0.0:8080/hooks',
      'http://169.254.169.254/latest/meta-data/',
      'http://2130706433/hooks', // 127.0.0.1 written in decimal
      'http://0x7f.1/hooks', // and in hex, short
      'http://[::ffff:127.0.0.1]/hooks', // IPv4-mapped IPv6
      'http://[::ffff:a9fe:a9fe]/hooks',
      'http://10.0.0.1/hooks',
      'http://172.16.5.4/hooks',
      'http://192.168.1.1/hooks',
      'http://[fd12:3456::1]/hooks',
      'http://[fe80::1]/hooks',
      'http://127.0.0.3/hooks', // loopback, but not the allowed 127.0.0.2
      'https://hooks.internal.test/hooks', // a name resolving to RFC 1918
      'https://mixed.internal.test/hooks', // one of its addresses is internal: every address is checked
    ]) {
      const res = await subscribe(url);
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(res.body.fields).toEqual([{ field: 'url', errors: [expect.stringMatching(/public address/)] }]);
    }
    // The resolved address of a name is not told (only its kind).
    const named = await subscribe('https://hooks.internal.test/hooks');
    expect(named.body.fields[0].errors[0]).toContain(
      'hooks.internal.test resolves to a private (RFC 1918) address',
    );
    expect(named.body.fields[0].errors[0]).not.toContain('10.1.2.3');
    // Credentials in the URL are refused too.
    const withCredentials = await subscribe(`http://user:pw@${ALLOWED}/hooks`);
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.body.fields[0].field).toBe('url');
    expect(await stored()).toBe(before);
    // Each try at an internal target is audited as denied, with the caller and the origin.
    const denied = await eventually(async () => {
      const events = (
        await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)
      )
        .map((e) => e.data)
        .filter((e) => e.action === AuditActions.subscriptionCreated && e.outcome === 'denied');
      return events.some((e) => e.details?.origin === 'https://hooks.internal.test') ? events : undefined;
    });
    expect(denied!.find((e) => e.details?.origin === 'http://169.254.169.254')).toMatchObject({
      actor: expect.objectContaining({ organizationCode: ORG }),
      details: { origin: 'http://169.254.169.254', reason: 'WEBHOOK_TARGET_NOT_PUBLIC' },
    });
  });

  it('delivers over HTTPS to an allowed private address, by name: SNI, Host and the certificate are the name’s', async () => {
    const name = 'receiver.agency.test';
    names.set(name, () => [{ address: ALLOWED, family: 4 }]);
    const r = await receiver({ tls: serverCert(name), listen: ALLOWED, host: name });
    const created = await subscribe(r.url);
    expect(created.status).toBe(201);
    const documentId = await event();
    const got = await eventually(() => r.acknowledged[0]);
    expect(got.servername).toBe(name);
    expect(got.headers.host).toBe(new URL(r.url).host);
    expect(got.body).toMatchObject({ type: 'document.incoming', data: { documentId } });
    expect(verifyWebhookSignature(created.body.secret, got.headers['lienthong-signature'], got.raw)).toBe(
      true,
    );
    // A certificate for another name is refused by TLS (the socket went to the checked address, the name kept).
    const other = await receiver({ tls: serverCert('someone-else.test'), listen: ALLOWED, host: name });
    const wrong = await subscribe(other.url);
    expect(wrong.status).toBe(201);
    await event();
    const failing = (await eventually(async () => {
      const s = await subscription(wrong.body.id);
      return s.lastError ? s : undefined;
    }))!;
    expect(failing.lastError).toMatch(/^connection error: ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(other.received).toEqual([]);
  });

  it('checks again at connect time: a name that re-resolves to loopback (DNS rebinding) never reaches it', async () => {
    // A receiver on 127.0.0.1 (not allowed) that the attacker wants the platform to call.
    const target = await receiver();
    const port = new URL(target.url).port;
    // Public at registration, then alternately loopback and an allowed address with nothing listening on this port.
    let calls = 0;
    names.set('rebind.attacker.test', () =>
      calls++ === 0
        ? [{ address: '93.184.215.14', family: 4 }]
        : calls % 2 === 0
          ? [{ address: '127.0.0.1', family: 4 }]
          : [{ address: ALLOWED, family: 4 }],
    );
    const created = await subscribe(`http://rebind.attacker.test:${port}/hooks`);
    expect(created.status).toBe(201);
    await event();
    const attempts = (await eventually(async () => {
      const rows: { error: string | null }[] = await h.db.query(
        'SELECT error FROM subscription_deliveries WHERE subscription_id = $1 ORDER BY at',
        [created.body.id],
      );
      return rows.length >= 4 ? rows : undefined;
    }))!;
    expect(attempts.map((a) => a.error)).toEqual(
      expect.arrayContaining([
        'refused: rebind.attacker.test resolves to a loopback address',
        'connection error: ECONNREFUSED',
      ]),
    );
    expect(target.received).toEqual([]);
    expect((await subscription(created.body.id)).backlog).toBe(1);
  });

  it('refuses at connect time a subscription stored before the rule (a literal internal address)', async () => {
    const target = await receiver();
    const id = randomUUID();
    await h.db.query(
      `INSERT INTO subscriptions (id, organization_code, url, events, secret, cursor, created_by)
       VALUES ($1, $2, $3, $4, $5,
         COALESCE((SELECT last_seq FROM organization_event_counters WHERE organization_code = $2), 0), 'test')`,
      [
        id,
        ORG,
        target.url,
        ['document.incoming'],
        h.app.get(SubscriptionsService).secrets.seal('whsec_test'),
      ],
    );
    await event();
    const s = (await eventually(async () => {
      const r = await subscription(id);
      return r.lastError ? r : undefined;
    }))!;
    expect(s.lastError).toBe('refused: 127.0.0.1 is a loopback address');
    expect(target.received).toEqual([]);
  });

  it('does not follow a redirect to an internal address', async () => {
    const name = 'redirecting.agency.test';
    names.set(name, () => [{ address: ALLOWED, family: 4 }]);
    const inside = await receiver();
    const r = await receiver({ tls: serverCert(name), listen: ALLOWED, host: name });
    r.status = 307; // a receiver answering "go to 127.0.0.1"
    r.answerHeaders = { Location: inside.url };
    const created = await subscribe(r.url);
    expect(created.status).toBe(201);
    await event();
    const s = (await eventually(async () => {
      const x = await subscription(created.body.id);
      return x.lastError ? x : undefined;
    }))!;
    expect(s.lastError).toBe('HTTP 307');
    expect(r.received.length).toBeGreaterThan(0);
    expect(inside.received).toEqual([]);
  });
});
