import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * The committed OpenAPI documents and generated types are what the built services serve now: a changed DTO or
 * a new endpoint without `npm run client:generate` fails here (the services' dist/ must be built, as npm test does).
 */
describe('the generated client', () => {
  it('matches the OpenAPI documents of the built services', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'client-generate.mjs'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(`${r.stdout}${r.stderr}`).toMatch(/matches the services \(\d+ files\)/);
    expect(r.status).toBe(0);
  }, 150_000);
});
