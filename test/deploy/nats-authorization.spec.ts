import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The NATS authorization in deploy/ is generated from libs/contracts; a subject added there must show up here. */
describe('deploy/nats authorization files', () => {
  const render = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/nats-config.mjs'), ...args], {
      env: { ...process.env, LT_NAMESPACE: 'lt' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`nats-config.mjs failed (build first): ${r.stderr}`);
    return r.stdout;
  };

  it.each([
    ['authorization.conf', ['--node', 'central', '--domain', 'central', '--leaf', 'province-01@province-01']],
    ['authorization-province.conf', ['--node', 'province-01', '--domain', 'province-01']],
  ])('%s is what scripts/nats-config.mjs renders from the contracts', (file, args) => {
    expect(readFileSync(join(ROOT, 'deploy/nats', file), 'utf8')).toBe(render(args));
  });

  it('holds no password, only references to the environment', () => {
    for (const file of ['authorization.conf', 'authorization-province.conf']) {
      const text = readFileSync(join(ROOT, 'deploy/nats', file), 'utf8');
      for (const line of text.split('\n').filter((l) => /password:/.test(l)))
        expect(line).toMatch(/password: \$[A-Z0-9_]+_NATS_PASSWORD$/);
    }
  });
});
