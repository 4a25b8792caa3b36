import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, NatsRecordBuilder, Transport } from '@nestjs/microservices';
import { Headers, RpcErrorBody, RpcMap, rpcSubject } from '@lienthong/contracts';
import { currentTraceparent, TRACEPARENT_HEADER } from '../tracing/tracing';
import { credsAuthenticator, headers as natsHeaders } from 'nats';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { BaseServiceConfig } from '../config/base-service.config';
import { DomainError } from '../errors/domain-error';
import { currentCorrelationId } from '../logging/correlation';
import { natsAuth } from './nats-auth';
import { SERVICE_IDENTITY, ServiceIdentity } from './nats.tokens';

/** Typed request/reply over core NATS (through @nestjs/microservices), with a timeout on every call. */
@Injectable()
export class RpcClient implements OnApplicationShutdown {
  private readonly client: ClientProxy;

  constructor(
    private readonly config: BaseServiceConfig,
    @Inject(SERVICE_IDENTITY) id: ServiceIdentity,
  ) {
    const auth = natsAuth(config, id.service);
    this.client = ClientProxyFactory.create({
      transport: Transport.NATS,
      options: {
        servers: config.NATS_URL.split(','),
        name: `${id.service}-rpc@${id.nodeId}`,
        maxReconnectAttempts: -1,
        ...(auth.user ? { user: auth.user, pass: auth.pass } : {}),
        ...(auth.creds ? { authenticator: credsAuthenticator(auth.creds) } : {}),
        inboxPrefix: auth.inboxPrefix,
      },
    });
  }

  /** `method` is one of `RpcMethods` (e.g. RpcMethods.organizationResolve). */
  async request<K extends keyof RpcMap>(
    method: K,
    data: RpcMap[K]['req'],
    timeoutMs?: number,
  ): Promise<RpcMap[K]['res']> {
    return this.requestRaw(rpcSubject(method), data, timeoutMs) as Promise<RpcMap[K]['res']>;
  }

  /** For subjects outside the typed map (e.g. another service's info). */
  async requestRaw(subject: string, data: unknown, timeoutMs?: number): Promise<unknown> {
    const h = natsHeaders();
    const cid = currentCorrelationId();
    if (cid) h.set(Headers.correlationId, cid);
    const traceparent = currentTraceparent();
    if (traceparent) h.set(TRACEPARENT_HEADER, traceparent);
    const record = new NatsRecordBuilder(data).setHeaders(h).build();
    try {
      return await firstValueFrom(
        this.client.send(subject, record).pipe(timeout(timeoutMs ?? this.config.NATS_REQUEST_TIMEOUT_MS)),
      );
    } catch (e) {
      if (e instanceof TimeoutError)
        throw new DomainError(503, 'UPSTREAM_TIMEOUT', `No answer on ${subject}`);
      const body = e as Partial<RpcErrorBody> & { message?: string };
      if (body && typeof body.code === 'string' && typeof body.message === 'string') {
        throw new DomainError(body.status ?? 502, body.code, body.message);
      }
      throw new DomainError(503, 'UPSTREAM_UNAVAILABLE', `Request on ${subject} failed`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
