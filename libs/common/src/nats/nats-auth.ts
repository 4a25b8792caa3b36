import { serviceInboxPrefix } from '@lienthong/contracts';
import { readFileSync } from 'node:fs';
import { BaseServiceConfig } from '../config/base-service.config';

/**
 * How a service authenticates to NATS (NATS_USER/NATS_PASSWORD or a NATS_CREDS file) and the inbox prefix
 * its user may subscribe on. The same for the JetStream connection, the RPC client and the RPC server.
 */
export interface NatsAuth {
  user?: string;
  pass?: string;
  /** Contents of a credentials file; each client library builds its own authenticator from it. */
  creds?: Uint8Array;
  inboxPrefix: string;
}

export function natsAuth(
  config: Pick<BaseServiceConfig, 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_CREDS'>,
  service: string,
): NatsAuth {
  return {
    ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD } : {}),
    ...(config.NATS_CREDS ? { creds: readFileSync(config.NATS_CREDS) } : {}),
    inboxPrefix: serviceInboxPrefix(service),
  };
}
