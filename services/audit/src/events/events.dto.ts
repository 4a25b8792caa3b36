import { ApiLimit } from '@lienthong/common';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class EventsQueryDto {
  @IsOptional() @IsString() @MaxLength(100) action?: string;
  @IsOptional() @IsString() @MaxLength(200) actor?: string;
  @IsOptional() @IsString() @MaxLength(35) organizationCode?: string;
  @IsOptional() @IsString() @MaxLength(200) resourceId?: string;
  @IsOptional() @IsISO8601({ strict: true }) from?: string;
  @IsOptional() @IsISO8601({ strict: true }) to?: string;
  @ApiLimit(500, 50) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  /** Opaque: the last leafIndex of the previous page. */
  @IsOptional() @Matches(/^\d{1,15}$/, { message: 'cursor is not one this API returned' }) cursor?: string;
}

/** Bounds are either ISO instants (on `time`) or leaf indices (integers, `to` exclusive). */
export class ExportQueryDto {
  @IsOptional()
  @Matches(/^(\d{1,15}|\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2}))$/, {
    message: 'from must be an ISO instant or a leaf index',
  })
  from?: string;
  @IsOptional()
  @Matches(/^(\d{1,15}|\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2}))$/, {
    message: 'to must be an ISO instant or a leaf index',
  })
  to?: string;
}

export class InclusionQueryDto {
  @Type(() => Number) @IsInt() @Min(0) leafIndex!: number;
  @Type(() => Number) @IsInt() @Min(1) treeSize!: number;
}

export class ConsistencyQueryDto {
  @Type(() => Number) @IsInt() @Min(1) first!: number;
  @Type(() => Number) @IsInt() @Min(1) second!: number;
}

export class PageQueryDto {
  @ApiLimit(500, undefined, '; default 500 for /audit/checkpoints, 100 for the witness lists')
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => value)
  @Matches(/^\d{1,15}$/, { message: 'cursor is not one this API returned' })
  cursor?: string;
}
