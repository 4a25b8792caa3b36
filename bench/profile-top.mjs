// Summarises V8 CPU profiles (.cpuprofile): self time by function and by package, heaviest first.
//   node bench/profile-top.mjs bench/results/profiles/documents/*.cpuprofile [--top 20]
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
const topIdx = process.argv.indexOf('--top');
const TOP = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 20;
const byFn = new Map();
const byPkg = new Map();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  p.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  for (const [id, us] of dt) {
    const n = nodes.get(id);
    const { functionName, url, lineNumber } = n.callFrame;
    const pkg =
      /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      (url.includes('/dist/') ? 'lienthong' : url ? 'node:internal' : `(${functionName || 'native'})`);
    const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
    total += us;
  }
}
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(
      `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
  }
};
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(1)} s of samples`);
show('self time by package', byPkg);
show('self time by function', byFn);
