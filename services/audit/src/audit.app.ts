import { createServiceApp, loadConfig } from '@lienthong/common';
import { AppModule } from './app.module';
import { AuditConfig } from './config/audit.config';

/** Builds the audit service from an environment (main.ts and tests share this). */
export async function createAuditApp(env: Record<string, string | undefined> = process.env, listen = true) {
  const config = loadConfig(AuditConfig, env, 'audit');
  return createServiceApp({
    service: 'audit',
    title: 'Liên thông audit',
    module: AppModule.register(config),
    config,
    listen,
  });
}
