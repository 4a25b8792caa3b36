import { createServiceApp, loadConfig } from '@lienthong/common';
import { AppModule } from './app.module';
import { IntegrationBusConfig } from './config/integration-bus.config';

/** Builds the integration-bus service from an environment (main.ts and tests share this). */
export async function createIntegrationBusApp(
  env: Record<string, string | undefined> = process.env,
  listen = true,
) {
  const config = loadConfig(IntegrationBusConfig, env, 'integration-bus');
  return createServiceApp({
    service: 'integration-bus',
    title: 'Liên thông integration bus',
    module: AppModule.register(config),
    config,
    listen,
  });
}
