import { ApiPropertyOptional } from '@nestjs/swagger';

/** Documents a list endpoint's `limit` in OpenAPI: its default and the maximum the validator enforces. */
export const ApiLimit = (max: number, byDefault?: number, note = ''): PropertyDecorator =>
  ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: max,
    ...(byDefault === undefined ? {} : { default: byDefault }),
    description: `Page size, at most ${max} (400 VALIDATION_FAILED above)${note}`,
  });

/** Documents an opaque paging cursor. */
export const ApiCursor = (): PropertyDecorator =>
  ApiPropertyOptional({ type: 'string', description: 'nextCursor of the previous page' });
