import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const APP_SERVICES = ['identity', 'documents', 'integration-bus', 'audit'];
/** The one origin's path routing, as API.md ("Additions of 2026-11-30") lists it. */
const API_ROUTES: [string, string][] = [
  ['/api/v1/auth', 'identity'],
  ['/api/v1/organizations', 'identity'],
  ['/api/v1/users', 'identity'],
  ['/api/v1/clients', 'identity'],
  ['/.well-known', 'identity'],
  ['/api/v1/documents', 'documents'],
  ['/api/v1/registers', 'documents'],
  ['/api/v1/reports', 'documents'],
  ['/api/v1/recipient-groups', 'documents'],
  ['/api/v1/subscriptions', 'documents'],
  ['/api/v1/edxml', 'integration-bus'],
  ['/api/v1/exchanges', 'integration-bus'],
  ['/api/v1/audit', 'audit'],
];

interface ComposeService {
  profiles?: string[];
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
  environment?: Record<string, string>;
  build?: unknown;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes?: Record<string, unknown>;
  };

  it('runs PostgreSQL, NATS, MinIO, the four services and the web origin by default, each with a health check', () => {
    const byDefault = Object.entries(compose.services)
      .filter(([, s]) => !s.profiles)
      .map(([n]) => n);
    expect(byDefault.sort()).toEqual([
      'audit',
      'dev-secrets',
      'documents',
      'identity',
      'integration-bus',
      'minio',
      'minio-buckets',
      'nats',
      'postgres',
      'web',
    ]);
    for (const [name, svc] of Object.entries(compose.services)) {
      expect({ name, test: Array.isArray(svc.healthcheck?.test) }).toEqual({ name, test: true });
    }
  });

  it('starts every service only once PostgreSQL and NATS are healthy', () => {
    for (const name of APP_SERVICES) {
      const deps = compose.services[name].depends_on ?? {};
      expect({ name, postgres: deps.postgres?.condition, nats: deps.nats?.condition }).toEqual({
        name,
        postgres: 'service_healthy',
        nats: 'service_healthy',
      });
    }
  });

  it('has a `federation` profile with a provincial node (own PostgreSQL, leaf NATS, four services)', () => {
    const province = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('federation'));
    expect(province.map(([n]) => n).sort()).toEqual([
      'audit-province',
      'documents-province',
      'identity-province',
      'integration-bus-province',
      'nats-province',
      'postgres-province',
    ]);
    for (const name of [
      'identity-province',
      'documents-province',
      'integration-bus-province',
      'audit-province',
    ]) {
      const svc = compose.services[name];
      expect(svc.environment?.NODE_ID).toBe('province-01');
      expect(svc.depends_on?.['nats-province']?.condition).toBe('service_healthy');
      expect(svc.depends_on?.['postgres-province']?.condition).toBe('service_healthy');
    }
    const leafConf = readFileSync(join(ROOT, 'deploy/nats/leaf-province.conf'), 'utf8');
    expect(leafConf).toMatch(/remotes/);
    // Only JetStream traffic crosses the leaf link; the platform's own subjects stay on each node.
    expect(leafConf).toMatch(/deny_imports: \["lt\.>"\]/);
    expect(leafConf).toMatch(/deny_exports: \["lt\.>"\]/);
    // The buses are federated: durable inbound from the other node's JetStream domain, a trust list, a witness.
    const bus = compose.services['integration-bus-province'].environment ?? {};
    expect(bus).toMatchObject({
      FEDERATION_PEERS: 'central@central',
      FEDERATION_WITNESS_NODE: 'central',
      TRUSTED_NODE_CERTS: '/secrets/node-central.crt',
    });
    expect(compose.services['integration-bus'].environment?.FEDERATION_PEERS).toContain(
      'province-01@province-01',
    );
    // The provincial identity replicates the centre's organization directory (JetStream domain `central`).
    expect(compose.services['identity-province'].environment?.DIRECTORY_UPSTREAM_DOMAIN).toBe('central');
    expect(compose.services.identity.environment?.DIRECTORY_UPSTREAM_DOMAIN).toBeUndefined();
  });

  it('gives every service the production secrets as files of the one-shot `dev-secrets` (development ones, generated once)', () => {
    const oneShot = compose.services['dev-secrets'] as ComposeService & {
      command: string[];
      volumes: string[];
      profiles?: string[];
    };
    expect(oneShot.profiles).toBeUndefined();
    expect(oneShot.volumes).toEqual(['dev-secrets:/secrets']);
    expect(Object.keys(compose.volumes ?? {})).toContain('dev-secrets');
    const script = oneShot.command.join('\n');
    // Once: each file is made only when missing, so a restart keeps the keys the data was sealed with.
    for (const made of ['admin-password', 'kek-$$n', 'audit-$$n.pem', 'node-$$n.crt', 'grpc.crt'])
      expect(script).toContain(`[ -s ${made} ] ||`);
    expect(script).toMatch(/for n in central province-01; do/);
    expect(script).toMatch(/openssl rand -hex 32 > kek-\$\$n/);
    expect(script).toMatch(/openssl genpkey -algorithm ed25519 -out audit-\$\$n\.pem/);
    expect(script).toMatch(/subjectAltName=DNS:documents,DNS:documents-province,DNS:localhost/);

    // The files each service reads, on each node; an inline value from .env may replace them.
    const files: Record<string, Record<string, string | RegExp>> = {
      identity: {
        KEY_ENCRYPTION_KEY_FILE: '/secrets/kek-central',
        ADMIN_PASSWORD_FILE: '/secrets/admin-password',
        KEY_ENCRYPTION_KEY: /^\$\{KEY_ENCRYPTION_KEY:-\}$/,
      },
      'identity-province': {
        KEY_ENCRYPTION_KEY_FILE: '/secrets/kek-province-01',
        ADMIN_PASSWORD_FILE: '/secrets/admin-password',
      },
      documents: {
        GRPC_TLS_CERT: /^\$\{GRPC_TLS_CERT:-\/secrets\/grpc\.crt\}$/,
        GRPC_TLS_KEY: /^\$\{GRPC_TLS_KEY:-\/secrets\/grpc\.key\}$/,
      },
      'documents-province': {
        GRPC_TLS_CERT: /^\$\{GRPC_TLS_CERT:-\/secrets\/grpc\.crt\}$/,
        GRPC_TLS_KEY: /^\$\{GRPC_TLS_KEY:-\/secrets\/grpc\.key\}$/,
      },
      'integration-bus': {
        NODE_CERT_PEM_FILE: /^\$\{NODE_CERT_PEM_FILE:-\/secrets\/node-central\.crt\}$/,
        NODE_KEY_PEM_FILE: /^\$\{NODE_KEY_PEM_FILE:-\/secrets\/node-central\.key\}$/,
        TRUSTED_NODE_CERTS: /^\$\{TRUSTED_NODE_CERTS:-\/secrets\/node-province-01\.crt\}$/,
      },
      'integration-bus-province': {
        NODE_CERT_PEM_FILE: '/secrets/node-province-01.crt',
        NODE_KEY_PEM_FILE: '/secrets/node-province-01.key',
      },
      audit: {
        AUDIT_SIGNING_KEY_FILE: /^\$\{AUDIT_SIGNING_KEY_FILE:-\/secrets\/audit-central\.pem\}$/,
      },
      'audit-province': { AUDIT_SIGNING_KEY_FILE: '/secrets/audit-province-01.pem' },
    };
    for (const [name, vars] of Object.entries(files)) {
      const svc = compose.services[name] as ComposeService & { volumes?: string[] };
      expect({ name, dep: svc.depends_on?.['dev-secrets']?.condition }).toEqual({
        name,
        dep: 'service_completed_successfully',
      });
      expect({ name, volumes: svc.volumes }).toEqual({ name, volumes: ['dev-secrets:/secrets:ro'] });
      for (const [key, want] of Object.entries(vars)) {
        const got = svc.environment?.[key];
        if (typeof want === 'string') expect({ name, key, got }).toEqual({ name, key, got: want });
        else expect({ name, key, got }).toEqual({ name, key, got: expect.stringMatching(want) });
        // Each file the services read is one the one-shot makes (per node: `$$n` in its loop).
        const text = typeof want === 'string' ? want : want.source.replace(/\\/g, '');
        if (!text.includes('/secrets/')) continue;
        const path = /\/secrets\/([\w.-]+?)(?:\}?\$)?$/.exec(text)?.[1];
        const file = path?.replace(/central|province-01/, '$$$$n');
        expect({ name, key, made: file !== undefined && script.includes(file) }).toEqual({
          name,
          key,
          made: true,
        });
      }
    }
  });

  it('runs each service as its own NATS user and database role; migrations as the owner', () => {
    const roles: Record<string, string> = {
      identity: 'lienthong_identity',
      documents: 'lienthong_documents',
      'integration-bus': 'lienthong_bus',
      audit: 'lienthong_audit',
    };
    for (const [name, role] of Object.entries(roles)) {
      for (const svc of [name, `${name}-province`]) {
        const env = compose.services[svc].environment ?? {};
        expect({ svc, user: env.NATS_USER, password: env.NATS_PASSWORD?.startsWith('${') }).toEqual({
          svc,
          user: name,
          password: true,
        });
        expect(env.DATABASE_URL).toMatch(new RegExp(`^postgres://${role}:\\$\\{`));
        expect(env.MIGRATION_DATABASE_URL).toMatch(/^postgres:\/\/lienthong:\$\{POSTGRES_PASSWORD/);
      }
    }
    // The hub's NATS knows those users (generated from libs/contracts) and the province's leaf user.
    const auth = readFileSync(join(ROOT, 'deploy/nats/authorization.conf'), 'utf8');
    for (const name of Object.keys(roles)) expect(auth).toContain(`user: "${name}"`);
    expect(auth).toContain('user: "leaf-province-01"');
    expect(readFileSync(join(ROOT, 'deploy/nats/nats.conf'), 'utf8')).toMatch(
      /include \.\/authorization\.conf/,
    );
  });

  it('serves the console on :3000 from nginx (the Dockerfile `web` target) once the four services are healthy', () => {
    const web = compose.services.web as ComposeService & {
      build: { target?: string };
      ports?: string[];
      read_only?: boolean;
    };
    expect(web.build.target).toBe('web');
    expect(web.ports).toEqual(['3000:8080']);
    expect(web.read_only).toBe(true);
    for (const name of APP_SERVICES) expect(web.depends_on?.[name]?.condition).toBe('service_healthy');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM nginxinc\/nginx-unprivileged:\S+ AS web$/m);
    expect(dockerfile).toMatch(/COPY deploy\/nginx\/console\.conf /);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/apps\/console\/dist /);
  });

  it('routes every path of API.md to its service in deploy/nginx/console.conf', () => {
    const conf = readFileSync(join(ROOT, 'deploy/nginx/console.conf'), 'utf8');
    const ports: Record<string, number> = {
      identity: 3001,
      documents: 3002,
      'integration-bus': 3003,
      audit: 3004,
    };
    for (const [svc, port] of Object.entries(ports))
      expect(conf).toMatch(new RegExp(`upstream ${svc} \\{ server ${svc}:${port}; \\}`));
    // Each nginx regex location, with the upstream it proxies to.
    const locations = [...conf.matchAll(/location ~ (\S+) \{[^}]*?proxy_pass http:\/\/([\w-]+);/g)].map(
      ([, re, up]) => ({ re: new RegExp(re), up }),
    );
    const target = (path: string) => locations.find((l) => l.re.test(path))?.up;
    for (const [path, svc] of API_ROUTES) {
      expect({ path, svc: target(path) }).toEqual({ path, svc });
      expect({ path: `${path}/x`, svc: target(`${path}/x`) }).toEqual({ path: `${path}/x`, svc });
    }
    // A prefix alone does not route a longer word to a service.
    expect(target('/api/v1/authority')).toBeUndefined();
    expect(target('/api/v1/auditors')).toBeUndefined();
    expect(target('/health/audit/ready')).toBe('audit');
    // The single-page app: every other path falls back to index.html.
    expect(conf).toMatch(/location \/ \{[^}]*try_files \$uri \/index\.html;/);
  });

  it('keeps attachments in MinIO buckets (one per node) made by a one-shot, not in a shared volume', () => {
    const minio = compose.services.minio as ComposeService & { image: string; command: string[] };
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\./);
    expect(minio.command.slice(0, 2)).toEqual(['server', '/data']);
    const oneShot = compose.services['minio-buckets'] as ComposeService & { command: string[] };
    expect(oneShot.depends_on?.minio?.condition).toBe('service_healthy');
    const script = oneShot.command.join('\n');
    for (const [svc, bucket] of [
      ['documents', 'lienthong-attachments'],
      ['documents-province', 'lienthong-attachments-province'],
    ]) {
      const s = compose.services[svc];
      expect(s.environment).toMatchObject({
        ATTACHMENTS_STORE: `s3://${bucket}`,
        S3_ENDPOINT: 'http://minio:9000',
        S3_ACCESS_KEY_ID: 'documents',
      });
      expect(s.environment?.S3_SECRET_ACCESS_KEY).toMatch(/^\$\{DOCUMENTS_S3_SECRET_ACCESS_KEY/);
      expect(s.environment?.ATTACHMENTS_DIR).toBeUndefined();
      expect(s.depends_on?.['minio-buckets']?.condition).toBe('service_completed_successfully');
      // No attachment volume: the only one mounted is the read-only development secrets.
      expect((s as { volumes?: string[] }).volumes ?? []).toEqual(['dev-secrets:/secrets:ro']);
      expect(script).toContain(`local/${bucket}`);
    }
    // The documents services use their own S3 user, limited by a policy to the attachment buckets.
    expect(script).toMatch(/mc admin user add local documents /);
    expect(script).toMatch(/mc admin policy attach local lienthong-documents --user documents/);
    expect(Object.keys(compose.volumes ?? {})).not.toContain('attachments');
  });

  it('keeps data in volumes and JetStream enabled from the deploy/ config', () => {
    expect(Object.keys(compose.volumes ?? {})).toEqual(
      expect.arrayContaining(['pgdata', 'natsdata', 'miniodata']),
    );
    expect(readFileSync(join(ROOT, 'deploy/nats/nats.conf'), 'utf8')).toMatch(/jetstream\s*\{/);
  });

  it('holds no literal secrets', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(text).not.toMatch(/^\s*\w*(PASSWORD|SECRET|KEY):\s*['"]?[^$\s'"][^\n]*$/m);
  });

  it('builds from one multi-stage Dockerfile that runs as non-root', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it("is accepted by Debian's docker-compose (`docker-compose config`)", () => {
    const which = spawnSync('sh', ['-c', 'command -v docker-compose']);
    if (which.status !== 0)
      throw new Error('docker-compose is not installed: apt-get install docker-compose');
    const out = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      env: {
        ...process.env,
        ...Object.fromEntries(
          [
            'POSTGRES_PASSWORD',
            ...['IDENTITY', 'DOCUMENTS', 'INTEGRATION_BUS', 'AUDIT'].flatMap((s) => [
              `${s}_DB_PASSWORD`,
              `${s}_NATS_PASSWORD`,
            ]),
            'LEAF_PROVINCE_01_NATS_PASSWORD',
            'MINIO_ROOT_PASSWORD',
            'DOCUMENTS_S3_SECRET_ACCESS_KEY',
          ].map((k) => [k, 'compose-check-only']),
        ),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out.toString()).toBe('');
  });
});
