import { ApiProperty } from '@nestjs/swagger';
import { ORGANIZATION_CODE_PATTERN, ROLES, type Role } from '@lienthong/contracts';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class CreateClientDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200)
  name!: string;

  @ApiProperty() @IsString() @MaxLength(35) @Matches(ORGANIZATION_CODE_PATTERN, { message: 'organizationCode is not a valid code' })
  organizationCode!: string;

  @ApiProperty({ enum: ROLES, isArray: true })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(ROLES.length) @ArrayUnique() @IsIn(ROLES, { each: true })
  roles!: Role[];
}
