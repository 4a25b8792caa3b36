import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { NatsContext } from '@nestjs/microservices';
import { Headers } from '@lienthong/contracts';
import { Observable } from 'rxjs';
import { runWithCorrelationId, sanitizeCorrelationId } from '../logging/correlation';

/** Carries the caller's correlation id (NATS header) into the handler's async context. */
@Injectable()
export class RpcCorrelationInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const natsCtx = ctx.switchToRpc().getContext<NatsContext>();
    const id = sanitizeCorrelationId(natsCtx?.getHeaders?.()?.get(Headers.correlationId));
    return new Observable((subscriber) =>
      runWithCorrelationId(id, () => next.handle().subscribe(subscriber)),
    );
  }
}
