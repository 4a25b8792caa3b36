import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtoFiles } from '@lienthong/contracts';
import { verifyWebhookSignature, WebhookReceiver } from '@lienthong/testing';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

/**
 * Subscriptions of agency systems across the four real services: webhooks to a real local HTTP receiver,
 * verified as a receiver would (HMAC-SHA256 over "<t>.<raw body>"), and the same events over gRPC Watch.
 */
describe('agency systems subscribe to their organization’s document events', () => {
  const platform = new PlatformProcesses({
    documents: {
      SUBSCRIPTIONS_RETRY_BASE_MS: '100',
      SUBSCRIPTIONS_RETRY_MAX_MS: '1000',
      // The test's receivers listen on loopback, which webhooks may reach only when allowed.
      SUBSCRIPTIONS_ALLOW_PRIVATE: '127.0.0.1/32',
    },
  });
  const A = '000.21.00.P21';
  const B = '000.22.00.P22';
  let admin: string;
  const tokens: Record<string, string> = {};
  const receivers: WebhookReceiver[] = [];
  let grpcClient: grpc.Client & Record<string, any>;
  let docNumber = 40;

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);

  async function receiver(): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  }

  beforeAll(async () => {
    await platform.start();
    admin = await loginAt(platform, 'admin', platform.adminPassword);
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const code of [A, B]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name: `Tỉnh ủy ${code}`,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    const password = 'Subscriptions-e2e-Passw0rd!';
    for (const [username, org] of [
      ['sub.clerk.a', A],
      ['sub.clerk.b', B],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles: ['clerk'],
      });
      expect(r.status).toBe(201);
      tokens[username] = await loginAt(platform, username, password);
    }
    // B's document management system connects as an `exchange` client.
    const c = await api('identity', 'POST', '/api/v1/clients', admin, {
      name: 'phần mềm quản lý văn bản của tỉnh ủy B',
      organizationCode: B,
      roles: ['exchange'],
    });
    expect(c.status).toBe(201);
    const t = await api('identity', 'POST', '/api/v1/auth/token', undefined, {
      grant_type: 'client_credentials',
      client_id: c.body.clientId,
      client_secret: c.body.clientSecret,
    });
    expect(t.status).toBe(200);
    tokens['system.b'] = t.body.access_token;

    const def = protoLoader.loadSync(ProtoFiles.documents(), {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: false,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    grpcClient = new pkg.lienthong.documents.v1.DocumentExchange(
      `127.0.0.1:${platform.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
  });

  afterAll(async () => {
    grpcClient?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await platform.stop();
  });

  async function subscribe(token: string, url: string, events: string[]) {
    const r = await api('documents', 'POST', '/api/v1/subscriptions', token, { url, events });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(expect.arrayContaining(['events', 'id', 'secret', 'url']));
    return r.body as { id: string; url: string; events: string[]; secret: string };
  }

  /** A sends a document to B; returns the sender's id and B's copy id. */
  async function sendToB(subject: string): Promise<{ id: string; copy: string }> {
    const created = await api('documents', 'POST', '/api/v1/documents', tokens['sub.clerk.a'], {
      number: String(++docNumber),
      notation: 'CV/TU',
      type: 'CV',
      subject,
      promulgationDate: '2026-11-20',
      signer: { position: 'Phó Bí thư', fullName: 'Nguyễn Văn A' },
      secrecy: 'none',
      urgency: 'normal',
      recipients: [B],
    });
    expect(created.status).toBe(201);
    const sent = await api(
      'documents',
      'POST',
      `/api/v1/documents/${created.body.id}/send`,
      tokens['sub.clerk.a'],
    );
    expect(sent.status).toBe(202);
    const copy = await until(async () => {
      const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens['sub.clerk.b']);
      return r.body.items?.find((d: any) => d.subject === subject)?.id as string | undefined;
    }, `B's copy of "${subject}"`);
    return { id: created.body.id, copy };
  }

  function watch(token: string, req: { cursor: string; events?: string[] }, n: number): Promise<any[]> {
    return new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      const got: any[] = [];
      const call = grpcClient.watch(req, md);
      call.on('data', (e: any) => {
        got.push(e);
        if (got.length === n) {
          call.cancel();
          resolve(got);
        }
      });
      call.on('error', (e: grpc.ServiceError) =>
        e.code === grpc.status.CANCELLED ? resolve(got) : reject(e),
      );
    });
  }

  it('delivers signed events, retries a failing receiver in order, shows backlog and lastError, stops when deleted; Watch tells the same', async () => {
    const rb = await receiver();
    rb.script.push(500); // B's system answers the first request with 500: the same delivery comes again
    const ra = await receiver();
    const subB = await subscribe(tokens['system.b'], rb.url, ['document.incoming']);
    const subA = await subscribe(tokens['sub.clerk.a'], ra.url, ['document.status']);

    // Another organization's subscription is not visible (404), not deletable.
    expect(
      (await api('documents', 'GET', `/api/v1/subscriptions/${subB.id}`, tokens['sub.clerk.a'])).status,
    ).toBe(404);
    expect(
      (await api('documents', 'DELETE', `/api/v1/subscriptions/${subB.id}`, tokens['sub.clerk.a'])).status,
    ).toBe(404);
    const listB = await api('documents', 'GET', '/api/v1/subscriptions', tokens['sub.clerk.b']);
    expect(listB.body.items.map((s: any) => s.id)).toEqual([subB.id]);

    const first = await sendToB('Về việc báo cáo chuyển đổi số (1)');
    const second = await sendToB('Về việc báo cáo chuyển đổi số (2)');

    const acked = await until(async () => rb.acknowledged.length >= 2 && rb.acknowledged, 'two acknowledged');
    // The first attempt was refused (500) and retried: same event, same delivery id; order kept.
    expect(rb.received[0].answered).toBe(500);
    expect(rb.received[0].body.data.documentId).toBe(first.copy);
    expect(acked.map((w) => w.body.data.documentId)).toEqual([first.copy, second.copy]);
    expect(acked[0].headers['lienthong-delivery']).toBe(rb.received[0].headers['lienthong-delivery']);
    for (const w of rb.received) {
      expect(w.headers['lienthong-event']).toBe('document.incoming');
      expect(verifyWebhookSignature(subB.secret, w.headers['lienthong-signature'], w.raw)).toBe(true);
    }
    expect(acked[0].body).toMatchObject({
      type: 'document.incoming',
      organizationCode: B,
      data: { documentId: first.copy, fromOrganizationCode: A, arrivalNumber: expect.any(Number) },
    });

    // The sender's system is told 01 and, once B accepts, 03.
    expect(
      (
        await api('documents', 'POST', `/api/v1/documents/${first.copy}/status`, tokens['sub.clerk.b'], {
          status: 'accepted',
        })
      ).status,
    ).toBe(200);
    const statuses = await until(async () => {
      const mine = ra.acknowledged.filter((w) => w.body.data.documentId === first.id);
      return mine.some((w) => w.body.data.statusCode === '03') && mine;
    }, '01 and 03 at the sender');
    expect(statuses.map((w) => w.body.data.statusCode)).toEqual(['01', '03']);
    expect(statuses[1].body).toMatchObject({
      type: 'document.status',
      organizationCode: A,
      data: { documentId: first.id, organizationCode: B, status: 'accepted', statusCode: '03' },
    });
    for (const w of statuses)
      expect(verifyWebhookSignature(subA.secret, w.headers['lienthong-signature'], w.raw)).toBe(true);

    const shownB = await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/subscriptions/${subB.id}`, tokens['system.b']);
      return r.body.backlog === 0 && r.body;
    }, 'B caught up');
    expect(shownB.lastDeliveredAt).toEqual(expect.any(String));
    expect(shownB.lastError).toBeUndefined();

    // A receiver that keeps failing: backlog and lastError are shown.
    const down = await receiver();
    down.status = 503;
    const subDown = await subscribe(tokens['sub.clerk.b'], down.url, ['document.incoming']);
    const third = await sendToB('Về việc báo cáo chuyển đổi số (3)');
    const failing = await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/subscriptions/${subDown.id}`, tokens['sub.clerk.b']);
      return r.body.lastError && r.body;
    }, 'lastError on the failing subscription');
    expect(failing).toMatchObject({ backlog: 1, lastError: 'HTTP 503' });

    // DELETE stops deliveries: B's system unsubscribes; the next document reaches only the other subscriber.
    expect(
      (await api('documents', 'DELETE', `/api/v1/subscriptions/${subB.id}`, tokens['system.b'])).status,
    ).toBe(204);
    down.status = 200;
    const fourth = await sendToB('Về việc báo cáo chuyển đổi số (4)');
    await until(
      async () => down.acknowledged.some((w) => w.body.data.documentId === fourth.copy),
      'the remaining subscriber got the fourth',
    );
    expect(down.acknowledged.map((w) => w.body.data.documentId)).toEqual([third.copy, fourth.copy]);
    // B's system got the third (subscribed then) but not the fourth (sent after its DELETE).
    await until(async () => rb.acknowledged.some((w) => w.body.data.documentId === third.copy), 'third at B');
    expect(rb.received.map((w) => w.body.data.documentId)).not.toContain(fourth.copy);

    // gRPC Watch: the same events (ids) from the beginning, and resumable from a cursor.
    const all = await watch(tokens['system.b'], { cursor: '0', events: ['document.incoming'] }, 4);
    expect(all.slice(0, 2).map((e) => e.id)).toEqual(acked.map((w) => w.body.id));
    expect(all.map((e) => e.documentId)).toEqual([first.copy, second.copy, third.copy, fourth.copy]);
    expect(JSON.parse(all[0].dataJson)).toEqual(acked[0].body.data);
    const resumed = await watch(
      tokens['system.b'],
      { cursor: all[1].cursor, events: ['document.incoming'] },
      2,
    );
    expect(resumed.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
    // Live after catch-up: a stream resumed after the last event waits for the next one.
    const live = watch(tokens['system.b'], { cursor: all[3].cursor }, 1);
    const fifth = await sendToB('Về việc báo cáo chuyển đổi số (5)');
    const [event] = await live;
    expect(event).toMatchObject({ type: 'document.incoming', documentId: fifth.copy, organizationCode: B });
  });
});
