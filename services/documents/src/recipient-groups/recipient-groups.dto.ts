import { ApiLimit } from '@lienthong/common';
import { ORGANIZATION_CODE_MAX_LENGTH, ORGANIZATION_CODE_PATTERN } from '@lienthong/contracts';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** Most members of one group, and most organizations one document reaches after expansion (API.md). */
export const MAX_RECIPIENTS = 20_000;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** `POST` and `PUT /api/v1/recipient-groups[/{id}]`: the whole group. */
export class RecipientGroupDto {
  @Transform(trim) @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @IsArray()
  @ArrayMaxSize(MAX_RECIPIENTS)
  @Matches(ORGANIZATION_CODE_PATTERN, { each: true, message: 'each member must be an organization code' })
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH, { each: true })
  members!: string[];
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value !== '' ? Number(value) : value;

export class ListRecipientGroupsQuery {
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}
