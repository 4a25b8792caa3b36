import { ApiLimit } from '@lienthong/common';
import {
  ORGANIZATION_CODE_MAX_LENGTH,
  ORGANIZATION_CODE_PATTERN,
  ROLES,
  type Role,
} from '@lienthong/contracts';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsEmail,
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

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

export class CreateUserDto {
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{2,63}$/, { message: 'username must be 3-64 of a-z 0-9 . _ -' })
  username!: string;
  @IsString() @MinLength(1) @MaxLength(200) fullName!: string;
  @IsOptional() @IsEmail() @MaxLength(254) email?: string;
  @IsString() @MaxLength(256) password!: string;
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN)
  organizationCode!: string;
  @IsArray() @ArrayUnique() @ArrayMaxSize(ROLES.length) @IsIn(ROLES, { each: true }) roles!: Role[];
}

export class UpdateUserDto {
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(ROLES.length)
  @IsIn(ROLES, { each: true })
  roles?: Role[];
  @IsOptional() @IsBoolean() disabled?: boolean;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200) fullName?: string;
}

export class ListUsersQuery {
  @IsOptional()
  @IsString()
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  @Matches(ORGANIZATION_CODE_PATTERN)
  organizationCode?: string;
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) @Matches(/^[A-Za-z0-9_-]+$/) cursor?: string;
}

export class ChangePasswordDto {
  @IsString() @MaxLength(256) currentPassword!: string;
  @IsString() @MaxLength(256) newPassword!: string;
}

export class ConfirmTotpDto {
  @IsString() @Matches(/^\d{6}$/) otp!: string;
}

export interface UserView {
  id: string;
  username: string;
  fullName: string;
  email?: string | null;
  organizationCode: string;
  roles: Role[];
  disabled: boolean;
  totpEnabled: boolean;
}
