import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { currentCorrelationId } from '@lienthong/common';
import type { Response } from 'express';
import { OAuthError } from './oauth-error';

@Catch(OAuthError)
export class OAuthErrorFilter implements ExceptionFilter {
  catch(e: OAuthError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const status = e.getStatus();
    if (status === 401 && e.error === 'invalid_client') res.setHeader('WWW-Authenticate', 'Basic realm="lienthong"');
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).json({
      error: e.error,
      error_description: e.description,
      statusCode: status,
      code: e.error.toUpperCase(),
      correlationId: currentCorrelationId(),
    });
  }
}
