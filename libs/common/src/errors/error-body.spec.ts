import { BadRequestException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { DomainError, tooManyRequests } from './domain-error';
import { toErrorBody } from './error-body';

describe('toErrorBody', () => {
  it('maps a domain error with its code, fields and correlation id', () => {
    const { body, internal } = toErrorBody(
      new DomainError(422, 'DOCUMENT_CLASSIFIED', 'Classified', [
        { field: 'secrecy', errors: ['classified'] },
      ]),
      'cid-1',
    );
    expect(internal).toBe(false);
    expect(body).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      code: 'DOCUMENT_CLASSIFIED',
      message: 'Classified',
      fields: [{ field: 'secrecy', errors: ['classified'] }],
      correlationId: 'cid-1',
    });
  });

  it('keeps Retry-After data for rate limits', () => {
    const { body } = toErrorBody(tooManyRequests('RATE_LIMITED', 'slow down', 30));
    expect(body.statusCode).toBe(429);
    expect(body.retryAfterSeconds).toBe(30);
  });

  it('maps Nest HTTP exceptions to default codes', () => {
    expect(toErrorBody(new NotFoundException()).body.code).toBe('NOT_FOUND');
    expect(toErrorBody(new ForbiddenException()).body.statusCode).toBe(403);
    expect(toErrorBody(new BadRequestException(['a must be a string'])).body.message).toBe(
      'a must be a string',
    );
  });

  it('maps body-parser errors to 4xx, not 500', () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
    });
    expect(toErrorBody(tooLarge).body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    const malformed = Object.assign(new SyntaxError('Unexpected token'), {
      status: 400,
      type: 'entity.parse.failed',
    });
    expect(toErrorBody(malformed).body).toMatchObject({ statusCode: 400, code: 'MALFORMED_BODY' });
  });

  it('maps input-caused database errors to 400/409', () => {
    const badUuid = new QueryFailedError(
      'SELECT',
      [],
      Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }),
    );
    expect(toErrorBody(badUuid).body.statusCode).toBe(400);
    const dup = new QueryFailedError(
      'INSERT',
      [],
      Object.assign(new Error('duplicate key'), { code: '23505' }),
    );
    expect(toErrorBody(dup).body.statusCode).toBe(409);
  });

  it('hides unknown errors behind a bare 500', () => {
    const { body, internal } = toErrorBody(
      new Error('connection string postgres://user:pw@db leaked'),
      'cid-2',
    );
    expect(internal).toBe(true);
    expect(body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      code: 'INTERNAL_ERROR',
      message: 'An unexpected error occurred',
      correlationId: 'cid-2',
    });
    expect(JSON.stringify(body)).not.toContain('pw@db');
  });
});
