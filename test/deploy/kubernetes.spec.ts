import { execFileSync, spawnSync } from 'node:child_process';
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

  it.each([
    ['identity', 'lienthong_identity'],
    ['documents', 'lienthong_documents'],
    ['integration-bus', 'lienthong_bus'],
    ['audit', 'lienthong_audit'],
  ])('%s: its own NATS user and database role; migrations as the owner', (name, role) => {
    const env = deployments.find((x) => x.metadata?.name === name)!.spec.template.spec.containers[0].env as {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef: { name: string; key: string } };
    }[];
    const by = (n: string) => env.find((e) => e.name === n);
    expect(by('NATS_USER')?.value).toBe(name);
    expect(by('NATS_PASSWORD')?.valueFrom?.secretKeyRef.name).toBe(`lienthong-nats-${name}`);
    expect(by('MIGRATION_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
      name: 'lienthong-db-app',
      key: 'uri',
    });
    expect(by('DB_USER')?.valueFrom?.secretKeyRef.name).toBe(`lienthong-db-${name}`);
    expect(by('DATABASE_URL')?.value).toMatch(/^postgresql:\/\/\$\(DB_USER\):\$\(DB_PASSWORD\)@/);
    // Kubernetes expands $(VAR) only from variables defined before.
    expect(env.findIndex((e) => e.name === 'DB_PASSWORD')).toBeLessThan(
      env.findIndex((e) => e.name === 'DATABASE_URL'),
    );
    const cluster = base.find((x) => x.kind === 'Cluster');
    expect(cluster?.spec.managed.roles).toContainEqual(
      expect.objectContaining({ name: role, login: true, passwordSecret: { name: `lienthong-db-${name}` } }),
    );
  });

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

  it('keeps attachments in the S3 store (MinIO StatefulSet, bucket Job), no ReadWriteMany volume', () => {
    const config = base.find((x) => x.kind === 'ConfigMap' && x.metadata?.name === 'lienthong-config') as {
      data: Record<string, string>;
    };
    expect(config.data).toMatchObject({
      ATTACHMENTS_STORE: 's3://lienthong-attachments',
      S3_ENDPOINT: 'http://minio:9000',
    });
    expect(config.data.ATTACHMENTS_DIR).toBeUndefined();
    expect(
      base.filter((x) => x.kind === 'PersistentVolumeClaim' && x.spec.accessModes.includes('ReadWriteMany')),
    ).toEqual([]);
    const documents = deployments.find((x) => x.metadata?.name === 'documents')!.spec.template.spec;
    const env = documents.containers[0].env as {
      name: string;
      valueFrom?: { secretKeyRef: { name: string; key: string } };
    }[];
    for (const [name, key] of [
      ['S3_ACCESS_KEY_ID', 'access-key-id'],
      ['S3_SECRET_ACCESS_KEY', 'secret-access-key'],
    ])
      expect(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef).toEqual({
        name: 'lienthong-s3-documents',
        key,
      });
    expect(documents.volumes.map((v: { name: string }) => v.name)).toEqual(['tmp']);

    const minio = base.find((x) => x.kind === 'StatefulSet' && x.metadata?.name === 'minio')!;
    const pod = minio.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0].image).toMatch(/^minio\/minio:RELEASE\./);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(
      pod.containers[0].env.find((e: { name: string }) => e.name === 'MINIO_ROOT_PASSWORD').valueFrom
        .secretKeyRef.name,
    ).toBe('lienthong-minio');
    expect(minio.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const svc = base.find((x) => x.kind === 'Service' && x.metadata?.name === 'minio');
    expect(svc?.spec.ports.map((p: { port: number }) => p.port)).toEqual([9000]);
    const job = base.find((x) => x.kind === 'Job' && x.metadata?.name === 'minio-buckets')!;
    const script = job.spec.template.spec.containers[0].args.join('\n');
    expect(script).toMatch(/mc mb --ignore-existing "local\/\$BUCKET"/);
    expect(script).toMatch(/mc admin policy attach local lienthong-documents/);
    // Only documents (and the Job) reach MinIO.
    const policy = base.find(
      (x) => x.kind === 'NetworkPolicy' && x.metadata?.name === 'minio-from-documents',
    );
    expect(
      policy?.spec.ingress[0].from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']),
    ).toEqual(['documents', 'minio-buckets']);
  });

  it.each(['central', 'province'])('renders the %s overlay with `kubectl kustomize`', (overlay) => {
    if (spawnSync('sh', ['-c', 'command -v kubectl']).status !== 0)
      throw new Error('kubectl is not installed: apt-get install kubectl (or the kubernetes-client package)');
    const out = execFileSync('kubectl', ['kustomize', join(DEPLOY, 'k8s', 'overlays', overlay)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Doc);
    const kinds = (k: string) => docs.filter((d) => d.kind === k).map((d) => d.metadata?.name);
    expect(kinds('StatefulSet')).toEqual(['minio']);
    expect(kinds('Job')).toEqual(['minio-buckets']);
    expect(kinds('PersistentVolumeClaim')).toEqual([]);
    for (const d of docs) expect((d.metadata as { namespace?: string }).namespace).toBe('lienthong');
    const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'lienthong-config') as {
      data: Record<string, string>;
    };
    expect(config.data.ATTACHMENTS_STORE).toBe('s3://lienthong-attachments');
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
