import { ApiCursor, ApiLimit } from '@lienthong/common';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { FEED_EVENT_TYPES, type FeedEventType } from './organization-feed';

export class CreateSubscriptionDto {
  /** Absolute http(s) URL the events are POSTed to (https required in production unless allowed). */
  @IsString()
  @MaxLength(2000)
  url!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(FEED_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(FEED_EVENT_TYPES, { each: true, message: `each event must be one of ${FEED_EVENT_TYPES.join(', ')}` })
  events!: FeedEventType[];
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value !== '' ? Number(value) : value;

export class ListSubscriptionsQuery {
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @ApiCursor() @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}
