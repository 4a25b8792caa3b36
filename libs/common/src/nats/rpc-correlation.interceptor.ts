import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { NatsContext } from '@nestjs/microservices';
import { Headers } from '@lienthong/contracts';
import { Observable, type Subscription } from 'rxjs';
import { inSpan, SpanKind, tracingEnabled, TRACEPARENT_HEADER } from '../tracing/tracing';
import { runWithCorrelationId, sanitizeCorrelationId } from '../logging/correlation';

/** Carries the caller's correlation id (NATS header) into the handler's async context. */
@Injectable()
export class RpcCorrelationInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const natsCtx = ctx.switchToRpc().getContext<NatsContext>();
    const id = sanitizeCorrelationId(natsCtx?.getHeaders?.()?.get(Headers.correlationId));
    if (!tracingEnabled())
      return new Observable((subscriber) =>
        runWithCorrelationId(id, () => next.handle().subscribe(subscriber)),
      );
    // A server span, child of the caller's traceparent, around the whole reply.
    const parent = natsCtx?.getHeaders?.()?.get(TRACEPARENT_HEADER) || null;
    return new Observable((subscriber) => {
      let inner: Subscription | undefined;
      void inSpan(
        `${natsCtx?.getSubject?.() ?? 'rpc'} handle`,
        { kind: SpanKind.SERVER, parent, attributes: { 'messaging.system': 'nats' } },
        () =>
          new Promise<void>((resolve, reject) =>
            runWithCorrelationId(id, () => {
              inner = next.handle().subscribe({
                next: (v) => subscriber.next(v),
                error: (e) => {
                  subscriber.error(e);
                  reject(e);
                },
                complete: () => {
                  subscriber.complete();
                  resolve();
                },
              });
            }),
          ),
      ).catch(() => undefined);
      return () => inner?.unsubscribe();
    });
  }
}
