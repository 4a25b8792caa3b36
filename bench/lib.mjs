// Small helpers shared by the bench scripts.
import { readFileSync } from 'node:fs';

/** `--name <number>` from the command line, or `def`. */
export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** percentile, rounded; null for an empty list. */
export const pct = (xs, p) => (xs.length ? Math.round(percentile(xs, p)) : null);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A one-line progress bar on stderr. */
export const progress = (label, done, total, width = 30) => {
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r  ${label.padEnd(26)} [${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${done}/${total}   `,
  );
  if (done >= total) process.stderr.write('\n');
};

/**
 * Memory of a process from /proc/<pid>/status, in MB (rounded): VmRSS, VmHWM (its peak since start) and the
 * RSS split into anonymous memory (heaps, buffers) and file-backed pages (the node binary, shared libraries).
 */
export function procMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mb = (k) => Math.round(Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
    return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM'), anonMb: mb('RssAnon'), fileMb: mb('RssFile') };
  } catch {
    return { rssMb: null, peakMb: null, anonMb: null, fileMb: null };
  }
}

/**
 * The environment every bench gives a service it starts: its own schema and port, the other services found
 * through `ports`, the platform's development keys from the bench's state, the simulated national axis, and
 * token rate limits lifted (the load generator logs in many times from one address). `extra` adds or
 * overrides settings per bench.
 */
export function benchServiceEnv(service, o, extra = {}) {
  return {
    DATABASE_URL: o.databaseUrl,
    NATS_URL: o.natsUrl,
    LT_NAMESPACE: o.namespace,
    DB_SCHEMA: `${o.namespace}_${service.replace('-', '_')}`,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(o.ports[service]),
    GRPC_PORT: '0',
    JWKS_URL: `http://127.0.0.1:${o.ports.identity}/.well-known/jwks.json`,
    ADMIN_PASSWORD: o.adminPassword,
    ROOT_ORG_CODE: o.rootOrg,
    KEY_ENCRYPTION_KEY: o.kek,
    TOKEN_RATE_LIMIT_PER_IP: '1000000',
    TOKEN_RATE_LIMIT_PER_USERNAME: '1000000',
    ATTACHMENTS_DIR: o.attachmentsDir,
    NATIONAL_AXIS_URL: o.axisUrl,
    NATIONAL_AXIS_SYSTEM_ID: o.rootOrg,
    NATIONAL_AXIS_SECRET: o.axisSecret,
    NATIONAL_AXIS_POLL_MS: '250',
    ...extra,
  };
}

/** A province-level party organization of node `central`: what a bench's stand-in directory says by default. */
const provincePartyOrganization = () => ({ level: 'province', sector: 'party', zone: 'party-wan' });

/**
 * Stands in for identity's organization lookup (`subject`: RpcSubjects.organizationResolve) when a bench runs
 * one service alone: every code asked for is known, served by node `central`, with the level, sector and zone
 * `describe(code)` gives (by default a province-level party organization).
 */
export function answerOrganizationResolve(nc, subject, describe = provincePartyOrganization) {
  const sub = nc.subscribe(subject);
  (async () => {
    for await (const m of sub) {
      const { id, data } = m.json();
      const found = data.codes.map((code) => ({
        code,
        name: code,
        parentCode: null,
        ...describe(code),
        nodeId: 'central',
      }));
      m.respond(JSON.stringify({ id, response: { found, missing: [] }, isDisposed: true }));
    }
  })();
  return sub;
}

/** The JSON body of a bench's outgoing document number `i + 1` to `recipients` (no attachment). */
export function documentBody(i, recipients) {
  return JSON.stringify({
    number: String(i + 1),
    notation: 'CV/TU',
    type: 'CV',
    subject: `Về việc triển khai nhiệm vụ số ${i}`,
    promulgationDate: '2026-11-20',
    signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
    secrecy: 'none',
    urgency: 'normal',
    recipients,
  });
}
