import { AuditActions } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import forge from 'node-forge';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

/** A self-signed certificate for `localhost`: it is its own CA, so SOC_SYSLOG_CA_FILE can name it. */
function localhostCert(): { certPem: string; keyPem: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: 'localhost' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

describe('SOC feed over TLS (real NATS, a real TLS syslog collector)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soc-tls-'));
  const { certPem, keyPem } = localhostCert();
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, certPem);
  const frames: string[] = [];
  let handshakeErrors = 0;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer({ cert: certPem, key: keyPem }, (socket) => {
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buf += chunk;
        for (let sp = buf.indexOf(' '); sp > 0; sp = buf.indexOf(' ')) {
          const len = Number(buf.slice(0, sp));
          const rest = Buffer.from(buf.slice(sp + 1), 'utf8');
          if (rest.length < len) return;
          frames.push(rest.subarray(0, len).toString('utf8'));
          buf = rest.subarray(len).toString('utf8');
        }
      });
    });
    server.on('tlsClientError', () => handshakeErrors++);
    await new Promise<void>((r) => server.listen(0, r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers to a collector whose certificate the CA file vouches for', async () => {
    const h = new AuditHarness();
    try {
      await h.start({ SOC_SYSLOG_URL: `tls://localhost:${port}`, SOC_SYSLOG_CA_FILE: caFile });
      const e = auditEvent({ service: 'identity', action: AuditActions.accountLocked, outcome: 'failure' });
      await h.publish(e, undefined, 'identity');
      await eventually(async () => frames.some((f) => f.includes(`eventId="${e.id}"`)), 30_000);
      expect(frames.find((f) => f.includes(e.id))).toMatch(
        /^<108>1 \S+ \S+ lienthong-identity - auth\.account\.locked \[/,
      );
    } finally {
      await h.stop();
    }
  });

  it('refuses a collector it cannot verify, and keeps the event', async () => {
    const h = new AuditHarness();
    try {
      await h.start({ SOC_SYSLOG_URL: `tls://localhost:${port}`, SOC_SYSLOG_RETRY_MAX_MS: '200' });
      const before = frames.length;
      const errorsBefore = handshakeErrors;
      const e = auditEvent({ service: 'identity', action: AuditActions.loginFailed, outcome: 'failure' });
      await h.publish(e, undefined, 'identity');
      await eventually(async () => {
        const text = (await h.http.get('/metrics').expect(200)).text;
        const failures = /soc_feed_send_failures_total\{[^}]*\} (\d+)/.exec(text);
        return Number(failures?.[1] ?? 0) >= 2;
      }, 30_000);
      expect(handshakeErrors).toBeGreaterThan(errorsBefore);
      expect(frames.length).toBe(before);
      const jsm = await h.js.jetstreamManager();
      const info = await jsm.consumers.info(h.streamName(), 'soc-feed');
      expect(info.num_pending + info.num_ack_pending).toBeGreaterThanOrEqual(1);
    } finally {
      await h.stop();
    }
  });
});
