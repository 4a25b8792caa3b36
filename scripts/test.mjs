// `npm test`: install if needed, build (the e2e tier runs the services from dist), make sure the test
// database exists, run every jest tier and print one closing line `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled, build, ensureDatabase, reachable, ROOT } from './platform.mjs';

ensureInstalled();
build();
if (!process.env.TEST_DATABASE_URL && (await reachable('127.0.0.1', 5432))) {
  await ensureDatabase('postgres://postgres@127.0.0.1:5432/test');
}
// The compose test checks the file with Debian's docker-compose; install it when we can.
if (spawnSync('sh', ['-c', 'command -v docker-compose']).status !== 0 && process.getuid?.() === 0) {
  console.log('» installing docker-compose (Debian package) for the compose check…');
  spawnSync(
    'sh',
    [
      '-c',
      'apt-get install -y -q docker-compose >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q docker-compose >/dev/null 2>&1)',
    ],
    { stdio: 'inherit' },
  );
}
// The console's browser test drives Debian's Chromium (no browser download is possible here); install it
// when we can. Without it that one test is skipped and says why.
if (!process.env.CHROMIUM_PATH && !existsSync('/usr/bin/chromium') && process.getuid?.() === 0) {
  console.log("» installing chromium (Debian package) for the console's browser test…");
  spawnSync(
    'sh',
    [
      '-c',
      'apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)',
    ],
    { stdio: 'inherit' },
  );
}
mkdirSync(join(ROOT, 'test-results'), { recursive: true });
const out = join(ROOT, 'test-results', 'jest.json');
const args = ['--ci', '--json', `--outputFile=${out}`, '--maxWorkers=2', ...process.argv.slice(2)];
const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/jest/bin/jest.js'), ...args], {
  cwd: ROOT,
  stdio: 'inherit',
});
let passed = 0;
let failed = 0;
try {
  const res = JSON.parse(readFileSync(out, 'utf8'));
  passed = res.numPassedTests;
  failed = res.numFailedTests + (res.numRuntimeErrorTestSuites ?? 0);
} catch {
  failed = Math.max(1, failed);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
