import { applyDecorators, Controller, UseInterceptors } from '@nestjs/common';
import { RpcCorrelationInterceptor } from './rpc-correlation.interceptor';

/**
 * A controller of NATS request/reply handlers (`@MessagePattern`): the caller's correlation id (NATS header)
 * is put into each handler's async context. Bound per controller, not globally, so HTTP requests do not go
 * through an interceptor chain they do not need.
 */
export const RpcController = (): ClassDecorator =>
  applyDecorators(Controller(), UseInterceptors(RpcCorrelationInterceptor));
