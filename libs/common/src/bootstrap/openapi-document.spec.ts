import 'reflect-metadata';
import { Body, Controller, Get, Module, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ApiLimit } from './api-docs';
import { buildOpenApiDocument } from './openapi-document';

class PartDto {
  @IsString() @IsNotEmpty() @MaxLength(200) fullName!: string;
  @IsOptional() @IsString() note?: string;
}

class CreateThingDto {
  @IsString() @IsNotEmpty() @MaxLength(20) number!: string;
  @IsIn(['none', 'secret']) secrecy!: 'none' | 'secret';
  @Matches(/^\d{4}-\d{2}-\d{2}$/) @IsISO8601({ strict: true }) date!: string;
  @IsOptional() @IsBoolean() steering?: boolean;
  @ValidateNested() @Type(() => PartDto) signer!: PartDto;
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => PartDto) parts?: PartDto[];
  @IsArray()
  @ArrayMaxSize(10)
  @ArrayUnique()
  @Matches(/^[0-9A-Z]+$/, { each: true })
  @MaxLength(35, { each: true })
  codes!: string[];
}

enum Colour {
  Red = 'red',
  Blue = 'blue',
}

class ListThingsQuery {
  @IsOptional() @IsEnum(Colour) colour?: Colour;
  @IsOptional() @IsIn(['incoming', 'outgoing']) direction?: string;
  @ApiLimit(500, 50) @IsOptional() @IsInt() @Min(1) @Max(500) limit?: number;
  @IsInt() @Min(1900) year!: number;
}

@Controller('api/v1/things')
class ThingsController {
  @Post() create(@Body() _dto: CreateThingDto) {
    return {};
  }
  @Get() list(@Query() _q: ListThingsQuery) {
    return {};
  }
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

describe('buildOpenApiDocument', () => {
  it('describes class-validator DTOs as the validation pipe enforces them, without touching explicit docs', async () => {
    const app = await NestFactory.create(ThingsModule, { preview: true, logger: false });
    const doc = buildOpenApiDocument(app, 'things');
    await app.close();
    const schemas = doc.components!.schemas as Record<string, any>;
    const thing = schemas.CreateThingDto;
    expect(thing.required.sort()).toEqual(['codes', 'date', 'number', 'secrecy', 'signer']);
    expect(thing.properties.number).toMatchObject({ type: 'string', minLength: 1, maxLength: 20 });
    expect(thing.properties.secrecy).toMatchObject({ type: 'string', enum: ['none', 'secret'] });
    expect(thing.properties.date).toMatchObject({
      type: 'string',
      format: 'date',
      pattern: '^\\d{4}-\\d{2}-\\d{2}$',
    });
    expect(thing.properties.steering).toMatchObject({ type: 'boolean' });
    expect(JSON.stringify(thing.properties.signer)).toContain('#/components/schemas/PartDto');
    expect(thing.properties.parts.type).toBe('array');
    expect(JSON.stringify(thing.properties.parts.items)).toContain('#/components/schemas/PartDto');
    expect(thing.properties.codes).toMatchObject({
      type: 'array',
      maxItems: 10,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[0-9A-Z]+$', maxLength: 35 },
    });
    expect(schemas.PartDto.required).toEqual(['fullName']);

    const op = doc.paths['/api/v1/things'];
    expect(op.post!.operationId).toBe('Things_create');
    const params = Object.fromEntries(op.get!.parameters!.map((p: any) => [p.name, p]));
    expect(params.direction).toMatchObject({
      in: 'query',
      required: false,
      schema: { enum: ['incoming', 'outgoing'] },
    });
    expect(params.colour).toMatchObject({
      required: false,
      schema: { type: 'string', enum: ['red', 'blue'] },
    });
    expect(params.year).toMatchObject({ required: true, schema: { type: 'integer', minimum: 1900 } });
    // The explicit @ApiLimit wins over the derived description.
    expect(params.limit.schema).toMatchObject({ maximum: 500, default: 50 });
    expect(params.limit.description).toMatch(/at most 500/);
  });
});
