import { ApiLimit } from '@lienthong/common';
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
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

const CODE_MSG = { message: 'code must be dot-separated groups of 0-9A-Z' };
const NODE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

export class CreateOrganizationDto {
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  code!: string;
  @IsString() @MinLength(1) @MaxLength(300) name!: string;
  @IsOptional()
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  parentCode?: string | null;
  @IsIn(ORGANIZATION_LEVELS) level!: OrganizationLevel;
  @IsIn(ORGANIZATION_SECTORS) sector!: OrganizationSector;
  @IsIn(NETWORK_ZONES) zone!: NetworkZone;
  @IsOptional() @IsString() @Matches(NODE_ID) nodeId?: string;
}

export class UpdateOrganizationDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(300) name?: string;
  /** null makes it a root (system-admin only). */
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  parentCode?: string | null;
  @IsOptional() @IsIn(ORGANIZATION_LEVELS) level?: OrganizationLevel;
  @IsOptional() @IsIn(ORGANIZATION_SECTORS) sector?: OrganizationSector;
  @IsOptional() @IsIn(NETWORK_ZONES) zone?: NetworkZone;
  @IsOptional() @IsString() @Matches(NODE_ID) nodeId?: string;
}

export class ListOrganizationsQuery {
  @IsOptional()
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  parentCode?: string;
  @IsOptional() @IsIn(ORGANIZATION_LEVELS) level?: OrganizationLevel;
  @IsOptional() @IsIn(ORGANIZATION_SECTORS) sector?: OrganizationSector;
  @IsOptional() @IsIn(NETWORK_ZONES) zone?: NetworkZone;
  @IsOptional() @IsString() @MaxLength(200) q?: string;
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) @Matches(/^[A-Za-z0-9_-]+$/) cursor?: string;
}

/** NATS payloads (validated by the global pipe). */
export class OrganizationCodeRequest {
  @IsString() @MaxLength(ORGANIZATION_CODE_MAX_LENGTH) code!: string;
}

export class OrganizationResolveRequest {
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH, { each: true })
  codes!: string[];
}

export class OrganizationUpsertStateRequest {
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  code!: string;
  @IsString() @MinLength(1) @MaxLength(300) name!: string;
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN, CODE_MSG)
  parentCode?: string | null;
}
