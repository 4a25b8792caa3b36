import 'reflect-metadata';
import { runService } from '@lienthong/common';
import { randomBytes } from 'node:crypto';
import { createIntegrationBusApp } from './integration-bus.app';
import { NationalAxisSimulator } from './national-axis-simulator/national-axis-simulator';

/**
 * Development convenience: with NATIONAL_AXIS_SIMULATOR=true and no NATIONAL_AXIS_URL, a SIMULATED national
 * axis is started in this process (SIMULATOR_PORT, default 3010) and the bus is pointed at it.
 */
async function withOptionalSimulator(): Promise<Record<string, string | undefined>> {
  const env = { ...process.env };
  if (env.NATIONAL_AXIS_SIMULATOR !== 'true' || env.NATIONAL_AXIS_URL) return env;
  const systemId = env.NATIONAL_AXIS_SYSTEM_ID ?? '000.00.00.A01';
  const secret = env.NATIONAL_AXIS_SECRET ?? randomBytes(24).toString('hex');
  const sim = new NationalAxisSimulator({ systems: { [systemId]: secret } });
  const url = await sim.start(Number(env.SIMULATOR_PORT ?? 3010));
  process.stdout.write(
    `*** SIMULATED national axis at ${url} (NOT the real axis; development only) — system ${systemId} ***\n`,
  );
  return { ...env, NATIONAL_AXIS_URL: url, NATIONAL_AXIS_SYSTEM_ID: systemId, NATIONAL_AXIS_SECRET: secret };
}

void runService(async () => createIntegrationBusApp(await withOptionalSimulator()));
