import type { INestApplication } from '@nestjs/common';
import { ApiProperty, DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';

type Constructor = abstract new (...args: never[]) => unknown;

interface ValidationEntry {
  type: string;
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each?: boolean;
}

const SWAGGER_PROPERTIES = 'swagger/apiModelProperties';
const described = new WeakSet<object>();

/**
 * The OpenAPI document a service serves at /docs-json (and the one `npm run client:generate` writes for the
 * typed client). DTOs are written with class-validator only, so before Nest's explorer runs, every validated
 * property without an explicit @ApiProperty gets one derived from its validators (type, enum, pattern,
 * lengths, bounds, nested class, optional): the document then says what the validation pipe enforces.
 */
export function buildOpenApiDocument(app: INestApplication, title: string): OpenAPIObject {
  describeValidatedClasses();
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle(title).setVersion('1').addBearerAuth().build(),
    { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` },
  );
}

/** Adds @ApiProperty metadata to every class-validator DTO loaded so far (once per class). */
export function describeValidatedClasses(): void {
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<Constructor, ValidationEntry[]>;
  };
  for (const [target, entries] of storage.validationMetadatas) {
    if (typeof target !== 'function' || described.has(target)) continue;
    described.add(target);
    const byProperty = new Map<string, ValidationEntry[]>();
    for (const e of entries) byProperty.set(e.propertyName, [...(byProperty.get(e.propertyName) ?? []), e]);
    for (const [property, rules] of byProperty) {
      if (Reflect.getMetadata(SWAGGER_PROPERTIES, target.prototype, property)) continue;
      try {
        ApiProperty(propertyOptions(target, property, rules))(target.prototype as object, property);
      } catch {
        // Documentation only: a validator combination not understood here leaves the property undescribed
        // rather than failing the service's boot.
      }
    }
  }
}

function propertyOptions(target: Constructor, property: string, rules: ValidationEntry[]) {
  const named = (name: string) => rules.find((r) => r.name === name);
  const optional = rules.some((r) => r.type === 'conditionalValidation');
  const designType = Reflect.getMetadata('design:type', target.prototype, property) as unknown;
  const isArray = !!named('isArray') || designType === Array || rules.some((r) => r.each);
  // Rules with `each` (or on an array's elements) describe the items; the others the property itself.
  const itemRules = isArray ? rules.filter((r) => r.each || !arrayRule(r.name)) : rules;
  const schema: Record<string, unknown> = { required: !optional };
  const nested = rules.some((r) => r.type === 'nestedValidation')
    ? (defaultMetadataStorage.findTypeMetadata(target, property)?.typeFunction() as Constructor | undefined)
    : undefined;
  const rule = (name: string) => itemRules.find((r) => r.name === name);
  if (nested) schema.type = nested;
  else if (rule('isIn')) schema.enum = [...(rule('isIn')!.constraints?.[0] as unknown[])];
  else if (rule('isEnum')) schema.enum = enumValues(rule('isEnum')!.constraints?.[0]);
  else if (rule('isInt')) schema.type = 'integer';
  else if (rule('isNumber') || designType === Number) schema.type = 'number';
  else if (rule('isBoolean') || designType === Boolean) schema.type = 'boolean';
  else if (rule('isObject')) schema.type = 'object';
  else schema.type = 'string';
  if ((rule('isIn') || rule('isEnum')) && !nested)
    schema.type = typeof schema.enum === 'object' ? enumType(schema.enum) : 'string';
  const pattern = rule('matches')?.constraints?.[0];
  if (pattern instanceof RegExp) schema.pattern = pattern.source;
  if (rule('isIso8601') || rule('isISO8601')) schema.format = pattern ? 'date' : 'date-time';
  if (rule('isUuid') || rule('isUUID')) schema.format = 'uuid';
  if (rule('isUrl') || rule('isURL')) schema.format = 'uri';
  if (rule('isEmail')) schema.format = 'email';
  const num = (name: string) => rule(name)?.constraints?.[0] as number | undefined;
  if (num('maxLength') !== undefined) schema.maxLength = num('maxLength');
  if (num('minLength') !== undefined) schema.minLength = num('minLength');
  if (rule('isNotEmpty') && schema.type === 'string' && schema.minLength === undefined) schema.minLength = 1;
  if (num('min') !== undefined) schema.minimum = num('min');
  if (num('max') !== undefined) schema.maximum = num('max');
  if (isArray) {
    schema.isArray = true;
    const arr = (name: string) => rules.find((r) => r.name === name && !r.each)?.constraints?.[0] as number;
    if (arr('arrayMaxSize') !== undefined) schema.maxItems = arr('arrayMaxSize');
    if (arr('arrayMinSize') !== undefined) schema.minItems = arr('arrayMinSize');
    if (rules.some((r) => r.name === 'arrayUnique')) schema.uniqueItems = true;
  }
  return schema as Parameters<typeof ApiProperty>[0];
}

const arrayRule = (name?: string) =>
  name === 'isArray' || name === 'arrayMaxSize' || name === 'arrayMinSize' || name === 'arrayUnique';

function enumType(values: unknown): string {
  const list = values as unknown[];
  if (list.every((v) => typeof v === 'number')) return 'number';
  if (list.every((v) => typeof v === 'boolean')) return 'boolean';
  return 'string';
}

/** The values of a TypeScript enum object (numeric enums also map names back: those are left out). */
function enumValues(entity: unknown): unknown[] {
  const values = Object.entries((entity ?? {}) as Record<string, unknown>)
    .filter(([k]) => !/^\d+$/.test(k))
    .map(([, v]) => v);
  return [...new Set(values)];
}
