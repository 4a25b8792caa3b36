import {
  ORGANIZATION_CODE_MAX_LENGTH,
  ORGANIZATION_CODE_PATTERN,
  ROLES,
  type Role,
} from '@lienthong/contracts';
import { ApiLimit } from '@lienthong/common';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
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
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

export class CreateClientDto {
  @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN)
  organizationCode!: string;
  @IsArray() @ArrayUnique() @ArrayMaxSize(ROLES.length) @IsIn(ROLES, { each: true }) roles!: Role[];
}

/** `GET /api/v1/clients`: an org-admin's subtree (or one organization of it), everything for a system-admin. */
export class ListClientsQuery {
  @IsOptional()
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN)
  organizationCode?: string;
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) @Matches(/^[A-Za-z0-9_-]+$/) cursor?: string;
}
