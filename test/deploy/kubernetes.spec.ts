import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const DEPLOY = join(__dirname, '..', '..', 'deploy');

type Doc = { kind?: string; metadata?: { name?: string }; spec?: any; apiVersion?: string };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function docsOf(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return d.toJS() as Doc;
  });
}

describe('Kubernetes manifests in deploy/', () => {
  const base = yamlFiles(join(DEPLOY, 'k8s', 'base'))
    .flatMap(docsOf)
    .filter((d) => d && d.kind);
  const deployments = base.filter((d) => d.kind === 'Deployment');

  it('every YAML file in deploy/ parses', () => {
    const files = yamlFiles(DEPLOY);
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) expect(() => docsOf(f)).not.toThrow();
  });

  it('has a Deployment per service and one for the web console', () => {
    expect(deployments.map((d) => d.metadata?.name).sort()).toEqual([
      'audit',
      'console',
      'documents',
      'identity',
      'integration-bus',
    ]);
  });

  it.each(['identity', 'documents', 'integration-bus', 'audit', 'console'])(
    '%s: probes, limits, non-root, no privilege escalation',
    (name) => {
      const d = deployments.find((x) => x.metadata?.name === name)!;
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      for (const c of pod.containers) {
        expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
        expect(c.livenessProbe.httpGet.path).toBe('/health/live');
        expect(c.resources.requests.cpu).toBeDefined();
        expect(c.resources.requests.memory).toBeDefined();
        expect(c.resources.limits.cpu).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        for (const e of c.env ?? []) {
          if (/PASSWORD|SECRET|KEY$/.test(e.name))
            expect({ name: e.name, fromSecret: !!e.valueFrom?.secretKeyRef }).toEqual({
              name: e.name,
              fromSecret: true,
            });
        }
      }
    },
  );

  it('gives each Deployment a PodDisruptionBudget and a HorizontalPodAutoscaler', () => {
    for (const d of deployments) {
      const name = d.metadata?.name;
      expect(
        base.some(
          (x) =>
            x.kind === 'PodDisruptionBudget' &&
            x.spec.selector.matchLabels['app.kubernetes.io/name'] === name,
        ),
      ).toBe(true);
      expect(
        base.some((x) => x.kind === 'HorizontalPodAutoscaler' && x.spec.scaleTargetRef.name === name),
      ).toBe(true);
    }
  });

  it('routes the one origin of API.md through an Ingress: the console at /, each API path to its service', () => {
    const ingresses = base.filter((x) => x.kind === 'Ingress');
    const main = ingresses.find((i) => i.metadata?.name === 'lienthong');
    const paths: {
      path: string;
      pathType: string;
      backend: { service: { name: string; port: { number: number } } };
    }[] = main?.spec.rules.flatMap((r: any) => r.http.paths) ?? [];
    const routes = Object.fromEntries(paths.map((p) => [p.path, p.backend.service.name]));
    expect(routes).toEqual({
      '/api/v1/auth': 'identity',
      '/api/v1/organizations': 'identity',
      '/api/v1/users': 'identity',
      '/api/v1/clients': 'identity',
      '/.well-known': 'identity',
      '/api/v1/documents': 'documents',
      '/api/v1/registers': 'documents',
      '/api/v1/reports': 'documents',
      '/api/v1/recipient-groups': 'documents',
      '/api/v1/subscriptions': 'documents',
      '/api/v1/edxml': 'integration-bus',
      '/api/v1/exchanges': 'integration-bus',
      '/api/v1/audit': 'audit',
      '/': 'console',
    });
    // Prefix (whole path segments), and every backend is a Service of the base on a port it exposes.
    for (const p of paths) {
      expect(p.pathType).toBe('Prefix');
      const svc = base.find((x) => x.kind === 'Service' && x.metadata?.name === p.backend.service.name);
      expect(svc?.spec.ports.map((x: { port: number }) => x.port)).toContain(p.backend.service.port.number);
    }
    // The console's health page: /health/<service>/(live|ready) rewritten to that service's probe.
    const health = ingresses.find((i) => i.metadata?.name === 'lienthong-health');
    expect(health?.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.name])).toEqual([
      ['/health/identity/(live|ready)$', 'identity'],
      ['/health/documents/(live|ready)$', 'documents'],
      ['/health/integration-bus/(live|ready)$', 'integration-bus'],
      ['/health/audit/(live|ready)$', 'audit'],
    ]);
  });

  it('denies traffic by default and allows only the architecture flows', () => {
    const policies = base.filter((x) => x.kind === 'NetworkPolicy');
    const deny = policies.find((p) => p.metadata?.name === 'default-deny');
    expect(deny?.spec.podSelector).toEqual({});
    expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policies.map((p) => p.metadata?.name)).toEqual(
      expect.arrayContaining([
        'lienthong-services',
        'postgres-from-services',
        'nats-from-services',
        'integration-bus-national-axis',
      ]),
    );
  });

  it('uses CloudNativePG for PostgreSQL and references secrets instead of defining them', () => {
    const cluster = base.find((x) => x.kind === 'Cluster');
    expect(cluster?.apiVersion).toMatch(/^postgresql\.cnpg\.io\//);
    expect(cluster?.spec.instances).toBeGreaterThanOrEqual(3);
    expect(base.filter((x) => x.kind === 'Secret')).toEqual([]);
  });

  it('has central and province overlays over the base, and every kustomization resource exists', () => {
    for (const dir of ['base', 'overlays/central', 'overlays/province']) {
      const k = docsOf(join(DEPLOY, 'k8s', dir, 'kustomization.yaml'))[0] as { resources: string[] };
      for (const r of k.resources) expect(existsSync(join(DEPLOY, 'k8s', dir, r))).toBe(true);
    }
  });

  it('makes the province identity a directory replica of the central JetStream domain', () => {
    const k = docsOf(join(DEPLOY, 'k8s', 'overlays', 'province', 'kustomization.yaml'))[0] as {
      patches: { target: { kind?: string; name?: string }; patch: string }[];
    };
    const identity = k.patches.filter((p) => p.target.kind === 'Deployment' && p.target.name === 'identity');
    const ops = identity.flatMap((p) =>
      parseAllDocuments(p.patch).flatMap(
        (d) => d.toJS() as { op: string; path: string; value: { name: string; value: string } }[],
      ),
    );
    expect(ops).toContainEqual({
      op: 'add',
      path: '/spec/template/spec/containers/0/env/-',
      value: { name: 'DIRECTORY_UPSTREAM_DOMAIN', value: 'central' },
    });
    const central = docsOf(join(DEPLOY, 'nats', 'values-central.yaml'))[0] as any;
    expect(central.config.jetstream.domain).toBe('central');
    expect(
      readFileSync(join(DEPLOY, 'k8s', 'overlays', 'central', 'kustomization.yaml'), 'utf8'),
    ).not.toMatch(/DIRECTORY_UPSTREAM_DOMAIN/);
  });

  it('runs NATS as a 3-node JetStream cluster with TLS leaf nodes (central listens, province dials out)', () => {
    const central = docsOf(join(DEPLOY, 'nats', 'values-central.yaml'))[0] as any;
    const province = docsOf(join(DEPLOY, 'nats', 'values-province.yaml'))[0] as any;
    expect(central.config.cluster.replicas).toBe(3);
    expect(central.config.jetstream.enabled).toBe(true);
    expect(central.config.leafnodes.tls.enabled).toBe(true);
    expect(province.config.jetstream.domain).not.toBe(central.config.jetstream.domain);
    expect(province.config.leafnodes.merge.remotes[0].urls[0]).toMatch(/^tls:\/\//);
  });
});
