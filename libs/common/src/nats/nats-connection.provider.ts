import { Inject, Injectable, Logger, OnApplicationShutdown, Provider } from '@nestjs/common';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { BaseServiceConfig } from '../config/base-service.config';
import { natsAuth, type NatsAuth } from './nats-auth';
import { NATS_CONNECTION, SERVICE_IDENTITY, ServiceIdentity } from './nats.tokens';

export async function connectNats(url: string, name: string, auth?: NatsAuth): Promise<NatsConnection> {
  return connect({
    servers: url.split(','),
    name,
    ...(auth?.user ? { user: auth.user, pass: auth.pass } : {}),
    ...(auth?.creds ? { authenticator: credsAuthenticator(auth.creds) } : {}),
    ...(auth ? { inboxPrefix: auth.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  });
}

export const natsConnectionProvider: Provider = {
  provide: NATS_CONNECTION,
  inject: [BaseServiceConfig, SERVICE_IDENTITY],
  useFactory: async (config: BaseServiceConfig, id: ServiceIdentity) => {
    const nc = await connectNats(config.NATS_URL, `${id.service}@${id.nodeId}`, natsAuth(config, id.service));
    const logger = new Logger('Nats');
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') logger.warn(`nats ${s.type}`);
      }
    })().catch(() => undefined);
    return nc;
  },
};

/** Drains the connection last, after consumers stopped and the relay finished its batch. */
@Injectable()
export class NatsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
