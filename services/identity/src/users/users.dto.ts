import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORGANIZATION_CODE_PATTERN, ROLES, type Role } from '@lienthong/contracts';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, IsUUID, Matches,
  Max, MaxLength, Min, MinLength,
} from 'class-validator';

export class CreateUserDto {
  @ApiProperty() @IsString() @Matches(/^[a-zA-Z0-9._-]{3,64}$/, { message: 'username must be 3-64 letters, digits, dots, dashes or underscores' })
  username!: string;

  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200)
  fullName!: string;

  @ApiPropertyOptional() @IsOptional() @IsEmail() @MaxLength(254)
  email?: string;

  @ApiProperty() @IsString() @MaxLength(256)
  password!: string;

  @ApiProperty() @IsString() @MaxLength(35) @Matches(ORGANIZATION_CODE_PATTERN, { message: 'organizationCode is not a valid code' })
  organizationCode!: string;

  @ApiProperty({ enum: ROLES, isArray: true })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(ROLES.length) @ArrayUnique() @IsIn(ROLES, { each: true })
  roles!: Role[];
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES, isArray: true })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(ROLES.length) @ArrayUnique() @IsIn(ROLES, { each: true })
  roles?: Role[];

  @ApiPropertyOptional() @IsOptional() @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200)
  fullName?: string;
}

export class ListUsersQuery {
  @IsOptional() @IsString() @MaxLength(35) @Matches(ORGANIZATION_CODE_PATTERN, { message: 'organizationCode is not a valid code' })
  organizationCode?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @IsOptional() @IsUUID()
  cursor?: string;
}

export class ChangePasswordDto {
  @ApiProperty() @IsString() @MaxLength(256)
  currentPassword!: string;

  @ApiProperty() @IsString() @MaxLength(256)
  newPassword!: string;
}

export class ConfirmTotpDto {
  @ApiProperty() @IsString() @Matches(/^\d{6}$/, { message: 'otp must be 6 digits' })
  otp!: string;
}
