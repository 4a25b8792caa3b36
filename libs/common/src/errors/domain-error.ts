export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * A refusal by a rule of the platform, with a stable machine-readable code. Features subclass it or use
 * the helpers below; the HTTP and RPC filters map it to the API's error shape.
 */
export class DomainError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly fields?: FieldError[],
    public readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badRequest = (code: string, message: string, fields?: FieldError[]) =>
  new DomainError(400, code, message, fields);
export const unauthorized = (code: string, message: string) => new DomainError(401, code, message);
export const forbidden = (code: string, message: string) => new DomainError(403, code, message);
export const notFound = (code: string, message: string) => new DomainError(404, code, message);
export const conflict = (code: string, message: string) => new DomainError(409, code, message);
export const payloadTooLarge = (code: string, message: string) => new DomainError(413, code, message);
export const unprocessable = (code: string, message: string, fields?: FieldError[]) =>
  new DomainError(422, code, message, fields);
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new DomainError(429, code, message, undefined, { retryAfterSeconds });
export const serviceUnavailable = (code: string, message: string) => new DomainError(503, code, message);
