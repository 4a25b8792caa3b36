import { ValidationError, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { DomainError, FieldError } from './domain-error';

export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own: FieldError[] = e.constraints ? [{ field, errors: Object.values(e.constraints) }] : [];
    return [...own, ...toFieldErrors(e.children ?? [], field)];
  });
}

/**
 * API.md (2026-11-30): an empty query parameter (`?action=`) means the parameter is absent. Empty values are
 * dropped (also from repeated parameters) before validation, so no filter ever matches on "".
 */
export function withoutEmptyQueryValues(value: unknown): unknown {
  if (value === '') return undefined;
  if (Array.isArray(value)) {
    const kept = value.filter((v) => v !== '');
    return kept.length ? kept : undefined;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const kept = withoutEmptyQueryValues(v);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}

class ApiValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return super.transform(metadata.type === 'query' ? withoutEmptyQueryValues(value) : value, metadata);
  }
}

/** Whitelisting validation for HTTP bodies, queries and NATS payloads: unknown fields are a 400. */
export function createValidationPipe(): ValidationPipe {
  return new ApiValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields = toFieldErrors(errors);
      return new DomainError(
        400,
        'VALIDATION_FAILED',
        `Invalid input: ${fields.map((f) => f.field).join(', ')}`,
        fields,
      );
    },
  });
}
