import { createServiceApp, loadConfig } from '@lienthong/common';
import { AppModule } from './app.module';
import { IdentityConfig } from './config/identity.config';

/** Builds the identity service from an environment (main.ts and tests share this). */
export async function createIdentityApp(
  env: Record<string, string | undefined> = process.env,
  listen = true,
) {
  const config = loadConfig(IdentityConfig, env, 'identity');
  return createServiceApp({
    service: 'identity',
    title: 'Liên thông identity',
    module: AppModule.register(config),
    config,
    listen,
    // req.ip is then the client behind a trusted proxy, so the token throttle counts clients, not the proxy.
    beforeListen: (app) => {
      (app as unknown as { set(k: string, v: unknown): void }).set('trust proxy', config.trustProxy);
    },
  });
}
