import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { DomainError, FieldError } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  correlationId?: string;
  fields?: FieldError[];
  [key: string]: unknown;
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_ERROR',
  503: 'UNAVAILABLE',
};

/** Errors raised by body parsers and similar middleware carry `status`/`type`, not an HttpException. */
interface MiddlewareError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

function middlewareCode(type: string | undefined, status: number): string {
  switch (type) {
    case 'entity.parse.failed':
      return 'MALFORMED_BODY';
    case 'entity.too.large':
      return 'PAYLOAD_TOO_LARGE';
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return 'UNSUPPORTED_ENCODING';
    default:
      return DEFAULT_CODES[status] ?? 'BAD_REQUEST';
  }
}

/**
 * Maps anything thrown to the API's error shape. Unknown errors become a bare 500 (details go to the log,
 * never to the caller). Database errors caused by input (bad uuid, unique violation) are not 500s.
 */
export function toErrorBody(
  exception: unknown,
  correlationId?: string,
): { body: ErrorBody; internal: boolean } {
  const make = (status: number, code: string, message: string, fields?: FieldError[], extra?: object) => ({
    body: {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      code,
      message,
      ...(fields && fields.length ? { fields } : {}),
      ...(extra ?? {}),
      correlationId,
    } as ErrorBody,
    internal: false,
  });

  if (exception instanceof DomainError) {
    const extra = exception.extra ? { ...exception.extra } : undefined;
    return make(exception.status, exception.code, exception.message, exception.fields, extra);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const resp = exception.getResponse();
    const r = (typeof resp === 'object' && resp !== null ? resp : { message: resp }) as Record<
      string,
      unknown
    >;
    const msg = Array.isArray(r.message) ? r.message.join('; ') : String(r.message ?? exception.message);
    const code = typeof r.code === 'string' ? r.code : (DEFAULT_CODES[status] ?? 'ERROR');
    if (status >= 500) return { ...make(status, code, STATUS_CODES[status] ?? 'Error'), internal: true };
    return make(status, code, msg);
  }
  const mw = exception as MiddlewareError | null;
  const mwStatus = mw && typeof mw === 'object' ? (mw.status ?? mw.statusCode) : undefined;
  if (typeof mwStatus === 'number' && mwStatus >= 400 && mwStatus < 500) {
    return make(mwStatus, middlewareCode(mw?.type, mwStatus), STATUS_CODES[mwStatus] ?? 'Bad request');
  }
  const pg = exception as { code?: string; driverError?: { code?: string } } | null;
  const pgCode =
    pg?.driverError?.code ??
    (exception instanceof Error && 'driverError' in exception ? pg?.code : undefined);
  if (pgCode === '22P02' || pgCode === '22007' || pgCode === '22008' || pgCode === '22003') {
    return make(400, 'BAD_REQUEST', 'A value has the wrong format');
  }
  if (pgCode === '23505') return make(409, 'CONFLICT', 'The resource already exists');
  return {
    body: {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'Internal Server Error',
      code: 'INTERNAL_ERROR',
      message: 'An unexpected error occurred',
      correlationId,
    },
    internal: true,
  };
}
