/** OAuth 2.0 error answered by the token endpoint in RFC 6749 shape (not the platform error shape). */
export class OAuthError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: 'invalid_request' | 'unsupported_grant_type' | 'invalid_grant' | 'invalid_client',
    readonly description: string,
  ) {
    super(description);
  }
}

export const invalidGrant = (d = 'The credentials are invalid') => new OAuthError(401, 'invalid_grant', d);
export const invalidClient = () => new OAuthError(401, 'invalid_client', 'Client authentication failed');
export const invalidRequest = (d: string) => new OAuthError(400, 'invalid_request', d);
