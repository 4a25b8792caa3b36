import {
  LienthongApiError,
  LienthongClient,
  type DocumentView,
  type UploadProgress,
} from '@lienthong/client';
import { makeCa, makeSigner, minimalPdf, signPdf } from '@lienthong/testing';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './support/api';
import { PlatformProcesses, SERVICES } from './support/platform-processes';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'libs', 'client', 'bin', 'lienthong.js');
const PROVINCE_A = '000.31.00.P31';
const PROVINCE_B = '000.32.00.P32';
const PASSWORD = 'Client-e2e-Passw0rd!';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * libs/client and the lienthong CLI against the four real services: the typed client (password and
 * client-credentials grants, refresh, a streamed upload with progress, send, inbox, accept, exchanges, audit
 * checkpoint) and the CLI as a separate process (login, send, inbox, accept, watch, error exits).
 */
describe('the client and the CLI for integrators', () => {
  const work = mkdtempSync(join(tmpdir(), 'lt-e2e-client-'));
  const ca = makeCa('Ban Co yeu Test CA');
  const leader = makeSigner('Bi thu Tinh uy A', ca);
  writeFileSync(join(work, 'anchors.pem'), ca.pem);
  const platform = new PlatformProcesses({ documents: { TRUST_ANCHORS: join(work, 'anchors.pem') } });
  let admin: LienthongClient;
  const clients: LienthongClient[] = [];

  const newClient = () => {
    const c = new LienthongClient({
      urls: Object.fromEntries(SERVICES.map((s) => [s, platform.url(s)])),
      grpcAddress: `127.0.0.1:${platform.grpcPort}`,
    });
    clients.push(c);
    return c;
  };
  const connectionFlags = () => [
    '--identity-url',
    platform.url('identity'),
    '--documents-url',
    platform.url('documents'),
    '--bus-url',
    platform.url('integration-bus'),
    '--audit-url',
    platform.url('audit'),
    '--grpc',
    `127.0.0.1:${platform.grpcPort}`,
  ];
  const cliEnv = (config: string, extra: Record<string, string> = {}) => ({
    ...process.env,
    LIENTHONG_CONFIG: join(work, config),
    ...extra,
  });
  const cli = (args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  /** A signed PDF larger than one upload chunk (256 KiB), so progress is reported several times. */
  const signedPdf = (name: string, title: string) => {
    const file = join(work, name);
    writeFileSync(file, signPdf(minimalPdf(`${title} ${'·'.repeat(150_000)}`), leader));
    return file;
  };

  beforeAll(async () => {
    await platform.start();
    admin = newClient();
    await admin.auth.login('admin', platform.adminPassword);
    const root = (await admin.auth.me()).organizationCode;
    for (const [code, name] of [
      [PROVINCE_A, 'Tỉnh ủy A'],
      [PROVINCE_B, 'Tỉnh ủy B'],
    ]) {
      await admin.directory.createOrganization({
        code,
        name,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
    }
    for (const [username, org] of [
      ['clerk.a', PROVINCE_A],
      ['clerk.b', PROVINCE_B],
    ]) {
      await admin.directory.createUser({
        username,
        fullName: username,
        password: PASSWORD,
        organizationCode: org,
        roles: ['clerk'],
      });
    }
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await platform.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('sends a signed PDF with upload progress; the recipient lists and accepts it; the sender sees 03', async () => {
    const sender = newClient();
    const receiver = newClient();
    const tokens = await sender.auth.login('clerk.a', PASSWORD);
    expect(tokens.refreshToken).toBeTruthy();
    await receiver.auth.login('clerk.b', PASSWORD);

    const subject = `Về việc thử thư viện ${randomUUID()}`;
    const doc = await sender.documents.create({
      number: '101',
      notation: 'CV/TU',
      type: 'CV',
      subject,
      promulgationDate: '2026-11-30',
      signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
      secrecy: 'none',
      urgency: 'urgent',
      recipients: [PROVINCE_B],
    });
    const file = signedPdf('quyet-dinh.pdf', subject);
    const size = statSync(file).size;
    const progress: UploadProgress[] = [];
    const attachment = await sender.documents.upload(doc.id, file, { onProgress: (p) => progress.push(p) });
    expect(attachment).toMatchObject({ name: 'quyet-dinh.pdf', size, contentType: 'application/pdf' });
    expect(attachment.signature).toMatchObject({ present: true, valid: true, trusted: true });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.total === size)).toBe(true);
    expect(progress.map((p) => p.sent)).toEqual([...progress.map((p) => p.sent)].sort((a, b) => a - b));
    expect(progress[progress.length - 1].sent).toBe(size);

    const sent = await sender.documents.send(doc.id);
    expect(sent.recipients).toEqual([{ organizationCode: PROVINCE_B, status: 'queued' }]);

    const incoming = await until(async () => {
      for await (const d of receiver.documents.all({ direction: 'incoming' }))
        if (d.subject === subject) return d;
      return undefined;
    }, 'the incoming document');
    expect(incoming.fromOrganizationCode).toBe(PROVINCE_A);
    await receiver.documents.accept(incoming.id);
    const recipient = await until(async () => {
      const r = (await sender.documents.get(doc.id)).recipients?.[0];
      return r?.statusCode === '03' && r;
    }, 'status 03 at the sender');
    expect(recipient).toMatchObject({ organizationCode: PROVINCE_B, status: 'accepted' });

    // The operator's and auditor's reads of the same exchange through the same client.
    const exchanges = await admin.exchanges.list({ documentId: doc.id });
    expect(exchanges.items.map((x) => x.to)).toEqual([PROVINCE_B]);
    expect((await admin.exchanges.get(exchanges.items[0].id)).documentId).toBe(doc.id);
    const checkpoint = await until(async () => {
      const c = await admin.audit.checkpoint();
      return c.treeSize > 0 && c;
    }, 'a signed audit checkpoint');
    expect(checkpoint.rootHash).toMatch(/^[0-9a-f]{64}$/);

    // The sender recalls it (business type 1): accepted by the API, visible to the recipient.
    await sender.documents.recall(doc.id, 'Ban hành nhầm');
    await until(
      async () => (await receiver.documents.get(incoming.id)).status === 'recalled',
      'the recall at the recipient',
    );

    // A refused call is an error with the API's code and the failing fields.
    const refused = await sender.documents.accept(doc.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LienthongApiError);
    const bad = (await sender.documents
      .create({ number: '', notation: 'CV', type: 'CV', subject: 'x' } as never)
      .catch((e: unknown) => e)) as LienthongApiError;
    expect(bad.status).toBe(400);
    expect(bad.fields.map((f) => f.field)).toEqual(expect.arrayContaining(['number', 'promulgationDate']));
  });

  it('refreshes an expired or revoked access token, and logs in connected systems with client credentials', async () => {
    const user = newClient();
    const first = await user.auth.login('clerk.a', PASSWORD);
    const refreshed = await user.auth.refresh();
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect((await user.auth.me()).username).toBe('clerk.a');

    // A 401 (here: the access token revoked) is answered by one refresh and the call repeated.
    const seen: string[] = [];
    const watched = new LienthongClient({
      urls: Object.fromEntries(SERVICES.map((s) => [s, platform.url(s)])),
      onTokens: (t) => seen.push(t?.accessToken ?? 'none'),
    });
    clients.push(watched);
    await watched.auth.login('clerk.a', PASSWORD);
    const revoked = watched.tokens!.accessToken;
    await watched.send('identity', 'POST', '/api/v1/auth/revoke', { body: { token: revoked } });
    await until(
      async () =>
        (await newClient().withTokens(revoked).send('documents', 'GET', '/api/v1/documents')).status === 401,
      'the revoked token refused',
    );
    expect((await watched.documents.list({ limit: 1 })).items).toBeDefined();
    expect(watched.tokens!.accessToken).not.toBe(revoked);
    expect(seen.length).toBe(2);

    const { clientId, clientSecret } = await admin.directory.createClient({
      name: 'Hệ thống QLVB tỉnh A',
      organizationCode: PROVINCE_A,
      roles: ['clerk'],
    });
    const system = newClient();
    await system.auth.loginClient(clientId, clientSecret);
    expect(await system.auth.me()).toMatchObject({ type: 'client', organizationCode: PROVINCE_A });
    const wrong = (await newClient()
      .auth.loginClient(clientId, 'not-the-secret')
      .catch((e: unknown) => e)) as LienthongApiError;
    expect(wrong).toBeInstanceOf(LienthongApiError);
    expect(wrong.status).toBe(401);
    expect(wrong.code).toBe('invalid_client');

    // edXML goes as application/xml to the bus's parser: a forbidden construct is refused with its code.
    const exchange = await admin.directory.createClient({
      name: 'Trục tỉnh A',
      organizationCode: PROVINCE_A,
      roles: ['exchange'],
    });
    const axis = newClient();
    await axis.auth.loginClient(exchange.clientId, exchange.clientSecret);
    const forbidden = (await axis.edxml
      .post('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><edXML>&a;</edXML>')
      .catch((e: unknown) => e)) as LienthongApiError;
    expect(forbidden).toBeInstanceOf(LienthongApiError);
    expect({ status: forbidden.status, code: forbidden.code }).toEqual({
      status: 400,
      code: 'EDXML_FORBIDDEN_CONSTRUCT',
    });
  });

  it('the CLI logs in (token file 0600), sends with a progress bar, lists the inbox, accepts; errors exit non-zero', async () => {
    const a = cliEnv('a/config.json', { LIENTHONG_PASSWORD: PASSWORD });
    const b = cliEnv('b/config.json', { LIENTHONG_PASSWORD: PASSWORD });
    const loginA = await cli(['login', '-u', 'clerk.a', ...connectionFlags()], a);
    expect(loginA).toMatchObject({ code: 0 });
    expect(loginA.stderr).toContain('logged in as clerk.a');
    const stored = JSON.parse(readFileSync(join(work, 'a', 'config.json'), 'utf8'));
    expect(statSync(join(work, 'a', 'config.json')).mode & 0o777).toBe(0o600);
    expect(stored.tokens.accessToken).toBeTruthy();
    expect(stored.urls.documents).toBe(platform.url('documents'));
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(await cli(['login', '-u', 'clerk.b', ...connectionFlags()], b)).toMatchObject({ code: 0 });

    const subject = `Công văn qua dòng lệnh ${randomUUID()}`;
    const file = signedPdf('cong-van-cli.pdf', subject);
    const sent = await cli(
      [
        'send',
        '--to',
        PROVINCE_B,
        file,
        '--number',
        '202',
        '--signer-name',
        'Trần Thị B',
        '--subject',
        subject,
      ],
      a,
    );
    expect(sent.stderr).toMatch(/cong-van-cli\.pdf \[#+\] 100%/);
    expect(sent.stdout).toMatch(/✔ sent \S+ \(202\/CV\) to 000\.32\.00\.P32; .*signature valid, trusted/);
    expect(sent.code).toBe(0);

    const listed = await until(async () => {
      const r = await cli(['inbox', '--json'], b);
      return (
        r.code === 0 && (JSON.parse(r.stdout).items as DocumentView[]).find((d) => d.subject === subject)
      );
    }, 'the document in the CLI inbox');
    const table = await cli(['inbox'], b);
    expect(table.stdout).toContain(listed.id);
    expect(table.stdout).toContain(PROVINCE_A);

    const accepted = await cli(['accept', listed.id], b);
    expect(accepted).toMatchObject({ code: 0, stdout: `✔ ${listed.id} accepted (status accepted)\n` });
    const sender = newClient();
    await sender.auth.login('clerk.a', PASSWORD);
    const sentId = /✔ sent (\S+)/.exec(sent.stdout)![1];
    await until(
      async () => (await sender.documents.get(sentId)).recipients?.[0]?.statusCode === '03',
      'status 03 at the sender after the CLI accepted',
    );

    // Errors: a clear message on stderr and a non-zero exit.
    const again = await cli(['accept', listed.id], b);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^lienthong: Documents_status: 409 STATUS_TRANSITION/);
    const unknown = await cli(['accept', randomUUID()], b);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 DOCUMENT_NOT_FOUND/);
    const nobody = await cli(
      ['send', '--to', '000.99.99.X99', file, '--number', '203', '--signer-name', 'Trần Thị B'],
      a,
    );
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/RECIPIENT_UNKNOWN/);
    const wrong = await cli(
      ['login', '-u', 'clerk.a', ...connectionFlags()],
      cliEnv('c.json', { LIENTHONG_PASSWORD: 'wrong' }),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/401 invalid_grant/);
    const anonymous = await cli(['inbox'], cliEnv('nobody.json'));
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toMatch(/not logged in .* run `lienthong login`/);
    const down = await cli(
      ['login', '-u', 'x', '--url', 'http://127.0.0.1:9'],
      cliEnv('d.json', { LIENTHONG_PASSWORD: 'x' }),
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
    const usage = await cli(['send', file], a);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--to CODE… is required/);
  });

  it('watch streams the organization’s incoming documents (gRPC Watch, or polling when the server lacks it)', async () => {
    const b = cliEnv('w/config.json', { LIENTHONG_PASSWORD: PASSWORD });
    expect(await cli(['login', '-u', 'clerk.b', ...connectionFlags()], b)).toMatchObject({ code: 0 });
    // --cursor 0: every kept event (gRPC) or every listed document (polling), so nothing depends on when the
    // stream starts relative to the send below.
    const p = spawn(process.execPath, [CLI, 'watch', '--json', '--interval', '0.5', '--cursor', '0'], {
      env: b,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    try {
      const sender = newClient();
      await sender.auth.login('clerk.a', PASSWORD);
      const receiver = newClient();
      await receiver.auth.login('clerk.b', PASSWORD);
      const subject = `Theo dõi sự kiện ${randomUUID()}`;
      const doc = await sender.documents.create({
        number: '301',
        notation: 'CV',
        type: 'CV',
        subject,
        promulgationDate: '2026-11-30',
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'normal',
        recipients: [PROVINCE_B],
      });
      await sender.documents.send(doc.id);
      const checked = new Map<string, boolean>();
      const event = await until(async () => {
        const events = stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .filter((e) => e.type === 'document.incoming');
        for (const e of events) {
          if (e.data.subject === subject) return e;
          if (!checked.has(e.data.documentId)) {
            const copy = await receiver.documents.get(e.data.documentId).catch(() => undefined);
            checked.set(e.data.documentId, copy?.subject === subject);
          }
          if (checked.get(e.data.documentId)) return e;
        }
        return undefined;
      }, `a document.incoming event for the document sent (watch said: ${stderr})`);
      expect(event.organizationCode).toBe(PROVINCE_B);
      if (stderr.includes('polling')) expect(stderr).toMatch(/does not implement Watch \(UNIMPLEMENTED\)/);
    } finally {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGINT');
        await new Promise((r) => p.once('close', r));
      }
    }
    expect(p.exitCode === 0 || p.signalCode === 'SIGINT').toBe(true);
  });
});
