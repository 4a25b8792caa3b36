import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  NETWORK_ZONES,
  ORGANIZATION_CODE_MAX_LENGTH,
  ORGANIZATION_CODE_PATTERN,
  ORGANIZATION_LEVELS,
  ORGANIZATION_SECTORS,
  type NetworkZone,
  type OrganizationLevel,
  type OrganizationSector,
} from '@lienthong/contracts';
import { Transform, Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ArrayMaxSize } from 'class-validator';

const CODE_MESSAGE = 'must be dot-separated groups of 0-9A-Z, at most 35 characters (e.g. 000.00.00.H01)';
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateOrganizationDto {
  @ApiProperty({ example: '000.00.01.H26' })
  @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN, { message: `code ${CODE_MESSAGE}` })
  code!: string;

  @ApiProperty() @Transform(trim) @IsString() @MinLength(1) @MaxLength(300)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN, { message: `parentCode ${CODE_MESSAGE}` })
  parentCode?: string;

  @ApiProperty({ enum: ORGANIZATION_LEVELS }) @IsIn(ORGANIZATION_LEVELS)
  level!: OrganizationLevel;

  @ApiProperty({ enum: ORGANIZATION_SECTORS }) @IsIn(ORGANIZATION_SECTORS)
  sector!: OrganizationSector;

  @ApiProperty({ enum: NETWORK_ZONES }) @IsIn(NETWORK_ZONES)
  zone!: NetworkZone;

  @ApiPropertyOptional() @IsOptional() @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/)
  nodeId?: string;
}

export class UpdateOrganizationDto {
  @ApiPropertyOptional() @IsOptional() @Transform(trim) @IsString() @MinLength(1) @MaxLength(300)
  name?: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional() @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN, { message: `parentCode ${CODE_MESSAGE}` })
  parentCode?: string;

  @ApiPropertyOptional({ enum: ORGANIZATION_LEVELS }) @IsOptional() @IsIn(ORGANIZATION_LEVELS)
  level?: OrganizationLevel;

  @ApiPropertyOptional({ enum: ORGANIZATION_SECTORS }) @IsOptional() @IsIn(ORGANIZATION_SECTORS)
  sector?: OrganizationSector;

  @ApiPropertyOptional({ enum: NETWORK_ZONES }) @IsOptional() @IsIn(NETWORK_ZONES)
  zone?: NetworkZone;

  @ApiPropertyOptional() @IsOptional() @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/)
  nodeId?: string;
}

export class ListOrganizationsQuery {
  @IsOptional() @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN, { message: `parentCode ${CODE_MESSAGE}` })
  parentCode?: string;

  @IsOptional() @IsIn(ORGANIZATION_LEVELS)
  level?: OrganizationLevel;

  @IsOptional() @IsIn(ORGANIZATION_SECTORS)
  sector?: OrganizationSector;

  @IsOptional() @IsString() @MaxLength(200)
  q?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @IsOptional() @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN, { message: 'cursor is not valid' })
  cursor?: string;
}

/** NATS payloads (validated by the global pipe). */
export class OrganizationCodeRequest {
  @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  code!: string;
}

export class ResolveOrganizationsRequest {
  @IsArray() @ArrayMaxSize(1000) @IsString({ each: true }) @MaxLength(ORGANIZATION_CODE_MAX_LENGTH, { each: true })
  codes!: string[];
}

export class UpsertStateOrganizationRequest {
  @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) @Matches(ORGANIZATION_CODE_PATTERN)
  code!: string;

  @IsString() @MinLength(1) @MaxLength(300)
  name!: string;

  @IsOptional() @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  parentCode?: string | null;
}
