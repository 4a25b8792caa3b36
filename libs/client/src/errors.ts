/** A non-2xx answer of the API (API.md, "Common rules"), or an OAuth error of the token endpoint. */
export class LienthongApiError extends Error {
  /** The API error code (`DOCUMENT_CLASSIFIED`, `STATUS_TRANSITION` …) or the OAuth error (`invalid_grant`). */
  readonly code: string;
  readonly correlationId?: string;
  /** The failing fields of a 400. */
  readonly fields: Array<{ field: string; errors: string[] }>;

  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly operation: string,
  ) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const code = String(b.code ?? b.error ?? httpCode(status));
    const fields = Array.isArray(b.fields) ? (b.fields as Array<{ field: string; errors: string[] }>) : [];
    const text =
      typeof b.message === 'string'
        ? b.message
        : typeof b.error_description === 'string'
          ? b.error_description
          : typeof body === 'string' && body
            ? body.slice(0, 200)
            : '';
    const detail = fields.map((f) => `${f.field}: ${(f.errors ?? []).join(', ')}`).join('; ');
    super(`${operation}: ${status} ${code}${text ? ` — ${text}` : ''}${detail ? ` (${detail})` : ''}`);
    this.name = 'LienthongApiError';
    this.code = code;
    this.fields = fields;
    this.correlationId = typeof b.correlationId === 'string' ? b.correlationId : undefined;
  }
}

function httpCode(status: number): string {
  return (
    { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT' }[
      status
    ] ?? `HTTP_${status}`
  );
}
