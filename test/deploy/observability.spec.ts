import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const OBS = join(ROOT, 'deploy', 'observability');

function tsSources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f === 'dist') return [];
    if (statSync(p).isDirectory()) return tsSources(p);
    return /(?<!\.spec|\.integration-spec|\.e2e-spec)\.ts$/.test(f) ? [p] : [];
  });
}

/** Every metric name the services register with prom-client, read from the source (plus the default ones). */
async function registeredMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  const files = ['libs', 'services'].flatMap((d) => tsSources(join(ROOT, d)));
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(
      /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-zA-Z_:][\w:]*)'/g,
    )) {
      names.add(m[2]);
      if (m[1] === 'Histogram' || m[1] === 'Summary')
        for (const s of ['_bucket', '_sum', '_count']) names.add(m[2] + s);
    }
  }
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  for (const m of await r.getMetricsAsJSON()) names.add(m.name);
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'le',
  'inf',
  'nan',
]);

/** Metric names of a PromQL expression: identifiers that are not functions, keywords, labels or strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\boffset\s+\w+/g, '');
  const out: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const id = m[0];
    const before = stripped.slice(0, m.index);
    const after = stripped.slice(m.index! + id.length);
    // Function names are followed by "("; "1e3" or "5m" are parts of numbers.
    if (/^\s*\(/.test(after) || /[\d.]$/.test(before) || KEYWORDS.has(id.toLowerCase())) continue;
    out.push(id);
  }
  return out;
}

interface Rule {
  alert: string;
  expr: string;
}

describe('observability in deploy/', () => {
  const rulesDoc = parseAllDocuments(readFileSync(join(OBS, 'prometheus-rules.yaml'), 'utf8'))[0].toJS() as {
    kind: string;
    apiVersion: string;
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
  const rules = rulesDoc.spec.groups.flatMap((g) => g.rules);
  const dashboard = JSON.parse(readFileSync(join(OBS, 'grafana', 'lienthong.json'), 'utf8')) as {
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
    templating: { list: { query?: string; definition?: string }[] };
  };
  const dashExprs = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr })),
  );

  it('extracts metric names from PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (service, le) (rate(http_x_bucket{a="b(c)"}[5m]))) / max(up_thing offset 1h) > 0.5',
      ),
    ).toEqual(['http_x_bucket', 'up_thing']);
  });

  it('is a PrometheusRule covering the issue 14 alerts', () => {
    expect(rulesDoc.kind).toBe('PrometheusRule');
    expect(rulesDoc.apiVersion).toBe('monitoring.coreos.com/v1');
    const byTopic: Record<string, RegExp> = {
      'exchange backlog': /bus_exchanges\{state=~"queued\|sending"\}/,
      'exchange age': /bus_exchange_oldest_waiting_seconds/,
      'dead letters': /jetstream_dead_letter_messages/,
      'outbox lag': /outbox_oldest_event_age_seconds/,
      'consumer lag': /jetstream_consumer_pending_messages/,
      'national axis circuit': /national_axis_circuit_open/,
      'witness INCONSISTENT': /audit_witness_inconsistent_checkpoints/,
      'login failures': /audit_events_total\{action="auth\.login\.failed"\}/,
    };
    for (const [topic, re] of Object.entries(byTopic))
      expect({ topic, covered: rules.some((r) => re.test(r.expr)) }).toEqual({ topic, covered: true });
    for (const r of rules) expect(r.alert).toMatch(/^Lienthong[A-Za-z]+$/);
  });

  it('names only metrics the services register, in every alert and every dashboard query', async () => {
    const known = await registeredMetrics();
    expect(known.has('bus_exchanges')).toBe(true);
    const used = [
      ...rules.map((r) => ({ where: r.alert, expr: r.expr })),
      ...dashExprs,
      ...dashboard.templating.list
        .filter((v) => v.definition)
        .map((v) => ({ where: 'variable', expr: v.definition!.replace(/^label_values\(([^,]+),.*$/, '$1') })),
    ];
    expect(used.length).toBeGreaterThan(20);
    const unknown = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !known.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('dashboard is valid Grafana JSON with unique panel ids and a Prometheus datasource variable', () => {
    const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashExprs.every((e) => e.expr.trim().length > 0)).toBe(true);
    expect(parse(readFileSync(join(OBS, 'kustomization.yaml'), 'utf8')).resources).toEqual([
      'prometheus-rules.yaml',
    ]);
  });
});
