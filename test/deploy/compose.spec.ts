import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const APP_SERVICES = ['identity', 'documents', 'integration-bus', 'audit'];

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

  it('runs PostgreSQL, NATS and the four services by default, each with a health check', () => {
    const byDefault = Object.entries(compose.services)
      .filter(([, s]) => !s.profiles)
      .map(([n]) => n);
    expect(byDefault.sort()).toEqual([
      'audit',
      'documents',
      'identity',
      'integration-bus',
      'nats',
      'postgres',
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
      'node-certs',
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
      TRUSTED_NODE_CERTS: '/certs/central.crt',
    });
    expect(compose.services['integration-bus'].environment?.FEDERATION_PEERS).toContain(
      'province-01@province-01',
    );
    // The provincial identity replicates the centre's organization directory (JetStream domain `central`).
    expect(compose.services['identity-province'].environment?.DIRECTORY_UPSTREAM_DOMAIN).toBe('central');
    expect(compose.services.identity.environment?.DIRECTORY_UPSTREAM_DOMAIN).toBeUndefined();
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

  it('keeps data in volumes and JetStream enabled from the deploy/ config', () => {
    expect(Object.keys(compose.volumes ?? {})).toEqual(expect.arrayContaining(['pgdata', 'natsdata']));
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
          ].map((k) => [k, 'compose-check-only']),
        ),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out.toString()).toBe('');
  });
});
