import { dropSchema, freePort } from '@lienthong/testing';
import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { api as callApi, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');

/**
 * Issue 13, items 7–9 (and the Basic-credentials part of 11), each written as the attacker's requests against
 * the four real services: revoked, disabled and deleted callers keep no access; callers see and act only in
 * their scope; the token throttle counts clients, not the proxy in front of them; identity and the other
 * services refuse to start on secrets that would break or weaken the node.
 */
describe('attacks on identity and tokens', () => {
  const KEK = randomBytes(32).toString('hex');
  const PER_IP = 20;
  const platform = new PlatformProcesses({
    identity: {
      KEY_ENCRYPTION_KEY: KEK,
      // The console's proxy (and an ingress) sit on loopback in front of identity.
      TRUSTED_PROXIES: 'loopback',
      TOKEN_RATE_LIMIT_PER_IP: String(PER_IP),
    },
  });
  const PROVINCE_A = '000.21.00.P21';
  const DISTRICT_A = '000.21.01.D21';
  const PROVINCE_B = '000.22.00.P22';
  const password = 'Attack-e2e-Passw0rd!';
  const users: Record<string, { id: string; token: string }> = {};
  let admin: string;
  let root: string;
  let clientNo = 0;

  const api = (
    service: Service,
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }> => callApi(platform, service, method, path, token, body);

  /** The token endpoint as a client behind the trusted proxy at `address`. */
  async function tokenFrom(
    address: string,
    body: Record<string, string>,
    headers: Record<string, string> = {},
  ) {
    const r = await fetch(`${platform.url('identity')}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': address, ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  }

  /** Every sign-in of this file comes from its own client address, so only the throttle test shares one. */
  async function login(username: string, pw = password): Promise<string> {
    clientNo++;
    const r = await tokenFrom(`10.77.${clientNo >> 8}.${clientNo & 255}`, {
      grant_type: 'password',
      username,
      password: pw,
    });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.access_token;
  }

  /** One call per service that the caller's roles allow; all answer 200 with a live token. */
  const probes: [Service, string][] = [
    ['identity', '/api/v1/auth/me'],
    ['documents', '/api/v1/documents'],
    ['integration-bus', '/api/v1/exchanges'],
    ['audit', '/api/v1/audit/events?limit=1'],
  ];
  const statuses = async (token: string, which = probes) =>
    Promise.all(which.map(async ([s, path]) => (await api(s, 'GET', path, token)).status));

  beforeAll(async () => {
    await platform.start();
    admin = await login('admin', platform.adminPassword);
    root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const [code, parentCode, level] of [
      [PROVINCE_A, root, 'province'],
      [DISTRICT_A, PROVINCE_A, 'district'],
      [PROVINCE_B, root, 'province'],
    ]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name: `Org ${code}`,
        parentCode,
        level,
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    for (const [username, org, roles] of [
      ['multi.a', PROVINCE_A, ['clerk', 'operator', 'auditor']],
      ['disabled.a', PROVINCE_A, ['clerk', 'operator', 'auditor']],
      ['orgadmin.a', PROVINCE_A, ['org-admin', 'clerk']],
      ['clerk.a', PROVINCE_A, ['clerk']],
      ['clerk.ad', DISTRICT_A, ['clerk']],
      ['op.a', PROVINCE_A, ['operator']],
      ['op.b', PROVINCE_B, ['operator']],
      ['victim.b', PROVINCE_B, ['clerk']],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
      users[username] = { id: r.body.id, token: await login(username) };
    }
  });

  afterAll(async () => {
    await platform.stop();
  });

  describe('13.7 revoked, disabled and deleted callers keep no access', () => {
    it('an access token revoked at /auth/revoke is refused by every service, also where it was cached', async () => {
      const token = await login('multi.a');
      // Each service has verified (and cached) the token.
      expect(await statuses(token)).toEqual([200, 200, 200, 200]);
      const revoked = await api('identity', 'POST', '/api/v1/auth/revoke', token, { token });
      expect(revoked.status).toBe(200);
      const started = Date.now();
      await until(
        async () => (await statuses(token)).every((s) => s === 401),
        'every service refusing the revoked token',
        10_000,
      );
      process.stdout.write(`revoked token refused everywhere after ${Date.now() - started} ms\n`);
      const body = (await api('documents', 'GET', '/api/v1/documents', token)).body;
      expect(body).toMatchObject({ statusCode: 401, code: 'TOKEN_REVOKED' });
      // Another token of the same user still works: only that token was revoked.
      expect(await statuses(await login('multi.a'))).toEqual([200, 200, 200, 200]);
    });

    it("a disabled user's tokens are refused by every service", async () => {
      const token = users['disabled.a'].token;
      expect(await statuses(token)).toEqual([200, 200, 200, 200]);
      const r = await api('identity', 'PATCH', `/api/v1/users/${users['disabled.a'].id}`, admin, {
        disabled: true,
      });
      expect(r.status).toBe(200);
      await until(
        async () => (await statuses(token)).every((s) => s === 401),
        "every service refusing the disabled user's token",
        10_000,
      );
    });

    it("a deleted client's tokens are refused by every service", async () => {
      const c = await api('identity', 'POST', '/api/v1/clients', admin, {
        name: 'agency system',
        organizationCode: PROVINCE_A,
        roles: ['operator', 'clerk'],
      });
      expect(c.status).toBe(201);
      const t = await tokenFrom('10.78.0.1', {
        grant_type: 'client_credentials',
        client_id: c.body.clientId,
        client_secret: c.body.clientSecret,
      });
      expect(t.status).toBe(200);
      const token = t.body.access_token;
      const clientProbes = probes.slice(0, 3);
      expect(await statuses(token, clientProbes)).toEqual([200, 200, 200]);
      expect((await api('identity', 'DELETE', `/api/v1/clients/${c.body.clientId}`, admin)).status).toBe(204);
      await until(
        async () => (await statuses(token, clientProbes)).every((s) => s === 401),
        "every service refusing the deleted client's token",
        10_000,
      );
    });

    it("revoking a session's refresh token also revokes its access token", async () => {
      const t = await tokenFrom('10.78.0.2', { grant_type: 'password', username: 'clerk.a', password });
      expect(t.status).toBe(200);
      expect(await statuses(t.body.access_token, probes.slice(0, 2))).toEqual([200, 200]);
      const r = await api('identity', 'POST', '/api/v1/auth/revoke', t.body.access_token, {
        token: t.body.refresh_token,
      });
      expect(r.status).toBe(200);
      await until(
        async () => (await statuses(t.body.access_token, probes.slice(0, 2))).every((s) => s === 401),
        "the session's access token refused",
        10_000,
      );
    });

    it("a caller cannot revoke another user's access token", async () => {
      const victim = await login('clerk.ad');
      const r = await api('identity', 'POST', '/api/v1/auth/revoke', users['clerk.a'].token, {
        token: victim,
      });
      expect(r.status).toBe(200); // RFC 7009: always 200…
      // …but the victim's token works on (identity answers from its own list at once, so this is not racy).
      expect(await statuses(victim, probes.slice(0, 2))).toEqual([200, 200]);
    });
  });

  describe('13.8 scope', () => {
    it("a clerk lists only its own organization's users, not those of the organizations below", async () => {
      const own = await api('identity', 'GET', '/api/v1/users?limit=500', users['clerk.a'].token);
      expect(own.status).toBe(200);
      expect(own.body.items.length).toBeGreaterThan(0);
      expect(new Set(own.body.items.map((u: any) => u.organizationCode))).toEqual(new Set([PROVINCE_A]));
      const below = await api(
        'identity',
        'GET',
        `/api/v1/users?organizationCode=${DISTRICT_A}`,
        users['clerk.a'].token,
      );
      expect(below.status).toBe(404);
      const one = await api(
        'identity',
        'GET',
        `/api/v1/users/${users['clerk.ad'].id}`,
        users['clerk.a'].token,
      );
      expect(one.status).toBe(404);
      // The org-admin of the province does see its subtree.
      const subtree = await api(
        'identity',
        'GET',
        `/api/v1/users?organizationCode=${DISTRICT_A}`,
        users['orgadmin.a'].token,
      );
      expect(subtree.status).toBe(200);
      expect(subtree.body.items.map((u: any) => u.username)).toContain('clerk.ad');
    });

    it('an operator of another subtree can neither see nor retry an exchange', async () => {
      const created = await api('documents', 'POST', '/api/v1/documents', users['clerk.a'].token, {
        number: '7',
        notation: 'CV/TU',
        type: 'CV',
        subject: 'Phạm vi điều hành',
        promulgationDate: '2026-11-30',
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn B' },
        secrecy: 'none',
        urgency: 'normal',
        recipients: [DISTRICT_A],
      });
      expect(created.status).toBe(201);
      const docId = created.body.id;
      expect(
        (await api('documents', 'POST', `/api/v1/documents/${docId}/send`, users['clerk.a'].token)).status,
      ).toBe(202);
      const exchange = await until(async () => {
        const r = await api(
          'integration-bus',
          'GET',
          `/api/v1/exchanges?documentId=${docId}`,
          users['op.a'].token,
        );
        return r.body.items?.[0];
      }, 'the exchange, seen by the operator of the sender');
      expect(exchange).toMatchObject({ from: PROVINCE_A, to: DISTRICT_A });
      const opB = users['op.b'].token;
      const list = await api('integration-bus', 'GET', `/api/v1/exchanges?documentId=${docId}`, opB);
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      const all = await api('integration-bus', 'GET', '/api/v1/exchanges?limit=500', opB);
      expect(all.body.items.map((e: any) => e.id)).not.toContain(exchange.id);
      expect((await api('integration-bus', 'GET', `/api/v1/exchanges/${exchange.id}`, opB)).status).toBe(404);
      const retry = await api('integration-bus', 'POST', `/api/v1/exchanges/${exchange.id}/retry`, opB);
      expect(retry.status).toBe(404);
      // The operator of the sender's subtree does see it.
      expect(
        (await api('integration-bus', 'GET', `/api/v1/exchanges/${exchange.id}`, users['op.a'].token)).status,
      ).toBe(200);

      // …and its retry never registers the document twice. The exchange is made to look failed (as after a
      // lost answer), retried, then a second document follows the same path: once it has arrived, the
      // retried delivery (published before it) has been handled too.
      const first = await until(async () => {
        const r = await api(
          'documents',
          'GET',
          '/api/v1/documents?direction=incoming',
          users['clerk.ad'].token,
        );
        return r.body.items?.find((d: any) => d.subject === 'Phạm vi điều hành');
      }, 'the first document at the recipient');
      const bus = platform.envOf('integration-bus');
      const db = new Client({ connectionString: bus.DATABASE_URL });
      await db.connect();
      try {
        await db.query(`UPDATE "${bus.DB_SCHEMA}".exchanges SET state = 'failed' WHERE id = $1`, [
          exchange.id,
        ]);
      } finally {
        await db.end();
      }
      const retried = await api(
        'integration-bus',
        'POST',
        `/api/v1/exchanges/${exchange.id}/retry`,
        users['op.a'].token,
      );
      expect(retried.status).toBe(202);
      const second = await api('documents', 'POST', '/api/v1/documents', users['clerk.a'].token, {
        number: '8',
        notation: 'CV/TU',
        type: 'CV',
        subject: 'Sau lần gửi lại',
        promulgationDate: '2026-11-30',
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn B' },
        secrecy: 'none',
        urgency: 'normal',
        recipients: [DISTRICT_A],
      });
      expect(second.status).toBe(201);
      await api('documents', 'POST', `/api/v1/documents/${second.body.id}/send`, users['clerk.a'].token);
      const later = await until(async () => {
        const r = await api(
          'documents',
          'GET',
          '/api/v1/documents?direction=incoming',
          users['clerk.ad'].token,
        );
        return r.body.items?.find((d: any) => d.subject === 'Sau lần gửi lại');
      }, 'the second document at the recipient');
      const incoming = await api(
        'documents',
        'GET',
        '/api/v1/documents?direction=incoming&limit=500',
        users['clerk.ad'].token,
      );
      expect(incoming.body.items.filter((d: any) => d.subject === 'Phạm vi điều hành')).toHaveLength(1);
      expect(later.arrivalNumber).toBe(first.arrivalNumber + 1);
    });

    it("an org-admin cannot create organizations outside its subtree's codes, sector or node", async () => {
      const orgAdmin = users['orgadmin.a'].token;
      const base = {
        name: 'x',
        parentCode: PROVINCE_A,
        level: 'district',
        sector: 'party',
        zone: 'party-wan',
      };
      const attempts: [Record<string, unknown>, string][] = [
        [{ ...base, code: '000.22.07.D77' }, 'code'], // in province B's code space
        [{ ...base, code: '000.21.07.G77', sector: 'state' }, 'sector'], // a "government agency"
        [{ ...base, code: '000.21.08.D78', nodeId: 'p99' }, 'nodeId'], // served by another node
        [{ ...base, code: '000.21.09.D79', level: 'central' }, 'level'],
      ];
      for (const [body, field] of attempts) {
        const r = await api('identity', 'POST', '/api/v1/organizations', orgAdmin, body);
        expect([r.status, r.body.code]).toEqual([403, 'ORGANIZATION_OUTSIDE_SUBTREE']);
        expect(r.body.fields.map((f: any) => f.field)).toContain(field);
        expect((await api('identity', 'GET', `/api/v1/organizations/${body.code}`, admin)).status).toBe(404);
      }
      // Within the rules it works, and the child is served by its parent's node.
      const ok = await api('identity', 'POST', '/api/v1/organizations', orgAdmin, {
        ...base,
        code: '000.21.05.D75',
      });
      expect(ok.status).toBe(201);
      // Nor can it re-sector or re-home that child afterwards.
      const patch = await api('identity', 'PATCH', '/api/v1/organizations/000.21.05.D75', orgAdmin, {
        sector: 'state',
      });
      expect([patch.status, patch.body.code]).toEqual([403, 'ORGANIZATION_OUTSIDE_SUBTREE']);
    });

    it('one client address behind the trusted proxy cannot lock everyone else out of the token endpoint', async () => {
      const attacker = '203.0.113.9';
      let last = 0;
      for (let i = 0; i <= PER_IP; i++) {
        last = (
          await tokenFrom(attacker, {
            grant_type: 'password',
            username: `nobody-${i}`,
            password: 'wrong-password-x',
          })
        ).status;
      }
      expect(last).toBe(429);
      // Another client, through the same proxy, signs in.
      const victim = await tokenFrom('198.51.100.7', {
        grant_type: 'password',
        username: 'victim.b',
        password,
      });
      expect(victim.status).toBe(200);
    });
  });

  describe('13.9 and 13.11: secrets and bad input', () => {
    /** Starts one more instance of a service; resolves when it exits, or when it became ready (then stops it). */
    async function startAnother(
      service: Service,
      env: Record<string, string>,
    ): Promise<{ exitCode: number | null; ready: boolean; out: string }> {
      const port = await freePort();
      const p = spawn(process.execPath, [join(ROOT, 'services', service, 'dist', 'main.js')], {
        env: {
          ...process.env,
          ...platform.envOf(service),
          PORT: String(port),
          GRPC_PORT: String(await freePort()),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d.toString()));
      p.stderr.on('data', (d) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      // Ready or exited, whichever comes first (polling stops once the process has exited).
      let ready = false;
      const deadline = Date.now() + 90_000;
      while (p.exitCode === null && p.signalCode === null && Date.now() < deadline) {
        const r = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null);
        if (r?.status === 200) {
          ready = true;
          break;
        }
        await new Promise((res) => setTimeout(res, 250));
      }
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      return { exitCode: await exited, ready, out };
    }

    it('an identity replica whose key-encryption key cannot decrypt the signing key refuses to start', async () => {
      const otherKek = randomBytes(32).toString('hex');
      const second = await startAnother('identity', { KEY_ENCRYPTION_KEY: otherKek, LOG_LEVEL: 'info' });
      expect(second.ready).toBe(false);
      expect(second.exitCode).not.toBe(0);
      expect(second.out).toMatch(/cannot decrypt the current signing key/);
      expect(second.out).not.toContain(otherKek);
      expect(second.out).not.toContain(KEK);
      // The running replica still issues tokens that verify (no new key replaced its own).
      const token = await login('clerk.a');
      expect((await api('identity', 'GET', '/api/v1/auth/me', token)).status).toBe(200);
      expect((await api('documents', 'GET', '/api/v1/documents', token)).status).toBe(200);
    });

    it('with NODE_ENV=production no service starts without its key-encryption key, audit key or node certificate', async () => {
      const cases: [Service, Record<string, string>, RegExp][] = [
        ['identity', { KEY_ENCRYPTION_KEY: '' }, /KEY_ENCRYPTION_KEY/],
        ['audit', { AUDIT_SIGNING_KEY: '', AUDIT_SIGNING_KEY_FILE: '' }, /AUDIT_SIGNING_KEY/],
        [
          'integration-bus',
          { NODE_CERT_PEM: '', NODE_CERT_PEM_FILE: '', NODE_KEY_PEM: '', NODE_KEY_PEM_FILE: '' },
          /NODE_CERT_PEM/,
        ],
      ];
      for (const [service, unset, names] of cases) {
        const schema = `e2e_prod_${randomBytes(3).toString('hex')}`;
        try {
          const r = await startAnother(service, { ...unset, NODE_ENV: 'production', DB_SCHEMA: schema });
          expect([service, r.ready]).toEqual([service, false]);
          expect(r.exitCode).not.toBe(0);
          expect(r.out).toMatch(names);
        } finally {
          await dropSchema(platform.envOf(service).DATABASE_URL, schema);
        }
      }
    });

    it('a production identity prints no password: it refuses to bootstrap without ADMIN_PASSWORD', async () => {
      const schema = `e2e_prod_${randomBytes(3).toString('hex')}`;
      try {
        const r = await startAnother('identity', {
          NODE_ENV: 'production',
          DB_SCHEMA: schema,
          ADMIN_PASSWORD: '',
          LOG_LEVEL: 'info',
        });
        expect(r.ready).toBe(false);
        expect(r.exitCode).not.toBe(0);
        expect(r.out).toMatch(/ADMIN_PASSWORD is required/);
        expect(r.out).not.toMatch(/admin password:/i);
      } finally {
        await dropSchema(platform.envOf('identity').DATABASE_URL, schema);
      }
    });

    it('a bad % escape in Basic credentials is 400 invalid_request, not 500', async () => {
      for (const pair of ['cl-x:%zz', '%E0%A4%A:secret', 'cl-x:%']) {
        const r = await tokenFrom(
          '10.79.0.1',
          { grant_type: 'client_credentials' },
          { Authorization: `Basic ${Buffer.from(pair).toString('base64')}` },
        );
        expect([r.status, r.body.error]).toEqual([400, 'invalid_request']);
      }
    });
  });
});
