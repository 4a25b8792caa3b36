// Preloaded by `node bench/idle-rss.mjs --probe` (node --require): IDLE_RSS_PROBE_MS after start, writes
// process.memoryUsage(), the V8 heap spaces and the modules loaded (count and source bytes per package) to
// IDLE_RSS_PROBE_FILE. Investigation only; the services never load it.
const { writeFileSync, statSync } = require('node:fs');
const v8 = require('node:v8');

if (process.env.IDLE_RSS_PROBE_GC_MS) {
  setTimeout(() => {
    v8.setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    const before = process.memoryUsage();
    const t0 = performance.now();
    gc();
    const ms = performance.now() - t0;
    const after = process.memoryUsage();
    process.stderr.write(
      `PROBE gc ${ms.toFixed(0)} ms rss ${before.rss >> 20} -> ${after.rss >> 20} heapTotal ${before.heapTotal >> 20} -> ${after.heapTotal >> 20}\n`,
    );
  }, Number(process.env.IDLE_RSS_PROBE_GC_MS)).unref();
}

const t = setTimeout(
  () => {
    const byPackage = {};
    for (const f of Object.keys(require.cache)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f);
      const key = m ? m[1] : f.replace(/^.*\/(services|libs)\/([^/]+)\/.*$/, '$1/$2');
      const e = (byPackage[key] ??= { modules: 0, kb: 0 });
      e.modules++;
      try {
        e.kb += statSync(f).size / 1024;
      } catch {
        /* gone */
      }
    }
    const mb = (x) => Math.round(x / 2 ** 20);
    const mu = process.memoryUsage();
    writeFileSync(
      process.env.IDLE_RSS_PROBE_FILE,
      JSON.stringify(
        {
          memoryUsageMb: Object.fromEntries(Object.entries(mu).map(([k, v]) => [k, mb(v)])),
          heapSpacesMb: Object.fromEntries(
            v8
              .getHeapSpaceStatistics()
              .map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }]),
          ),
          heapCodeStatsMb: Object.fromEntries(
            Object.entries(v8.getHeapCodeStatistics()).map(([k, v]) => [k, mb(v)]),
          ),
          modules: Object.keys(require.cache).length,
          byPackage: Object.fromEntries(
            Object.entries(byPackage)
              .sort((a, b) => b[1].kb - a[1].kb)
              .map(([k, v]) => [k, { modules: v.modules, kb: Math.round(v.kb) }]),
          ),
        },
        null,
        2,
      ),
    );
  },
  Number(process.env.IDLE_RSS_PROBE_MS ?? 15000),
);
t.unref();
