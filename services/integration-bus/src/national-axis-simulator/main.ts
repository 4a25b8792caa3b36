import { NationalAxisSimulator } from './national-axis-simulator';

/**
 * Standalone SIMULATED national axis: `node services/integration-bus/dist/national-axis-simulator/main.js`.
 * SIMULATOR_PORT (3010), SIMULATOR_SYSTEMS="<systemId>=<secret>,…" (or NATIONAL_AXIS_SYSTEM_ID/SECRET),
 * SIMULATOR_AGENCIES="<code>=<name>,…".
 */
function pairs(v: string | undefined): [string, string][] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.indexOf('=');
      return [s.slice(0, i), s.slice(i + 1)] as [string, string];
    })
    .filter(([k, val]) => k && val);
}

async function main(): Promise<void> {
  const systems = Object.fromEntries(pairs(process.env.SIMULATOR_SYSTEMS));
  if (process.env.NATIONAL_AXIS_SYSTEM_ID && process.env.NATIONAL_AXIS_SECRET) {
    systems[process.env.NATIONAL_AXIS_SYSTEM_ID] = process.env.NATIONAL_AXIS_SECRET;
  }
  const agencies = pairs(process.env.SIMULATOR_AGENCIES).map(([code, name]) => ({ code, name }));
  const port = Number(process.env.SIMULATOR_PORT ?? 3010);
  const sim = new NationalAxisSimulator({ systems, agencies });
  const url = await sim.start(port, process.env.SIMULATOR_HOST ?? '127.0.0.1');
  process.stdout.write(
    [
      '==================================================================',
      ' SIMULATED national document exchange axis — NOT the real axis',
      ` listening on ${url}; systems: ${Object.keys(systems).join(', ') || '(none)'}`,
      '==================================================================',
      '',
    ].join('\n'),
  );
  const stop = () => void sim.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
