import { HttpException } from '@nestjs/common';

export type OAuthErrorCode = 'invalid_request' | 'unsupported_grant_type' | 'invalid_grant' | 'invalid_client' | 'invalid_scope';

/** OAuth 2.0 error answers of the token endpoint (RFC 6749 §5.2), as API.md lists them. */
export class OAuthError extends HttpException {
  constructor(
    status: 400 | 401,
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super({ error, error_description: description }, status);
  }
}
