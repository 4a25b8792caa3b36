import {
  ORGANIZATION_CODE_MAX_LENGTH,
  ORGANIZATION_CODE_PATTERN,
  ROLES,
  type Role,
} from '@lienthong/contracts';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';

export class CreateClientDto {
  @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN)
  organizationCode!: string;
  @IsArray() @ArrayUnique() @ArrayMaxSize(ROLES.length) @IsIn(ROLES, { each: true }) roles!: Role[];
}
