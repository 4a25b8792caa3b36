import { createServiceApp, loadConfig } from '@lienthong/common';
import { AppModule } from './app.module';
import { DocumentsConfig } from './config/documents.config';

/** Builds the documents service from an environment (main.ts and tests share this). */
export async function createDocumentsApp(
  env: Record<string, string | undefined> = process.env,
  listen = true,
) {
  const config = loadConfig(DocumentsConfig, env, 'documents');
  return createServiceApp({
    service: 'documents',
    title: 'Liên thông documents',
    module: AppModule.register(config),
    config,
    listen,
  });
}
