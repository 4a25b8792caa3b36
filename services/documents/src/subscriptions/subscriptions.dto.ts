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
  ValidateBy,
} from 'class-validator';
import { FEED_EVENT_TYPES, type FeedEventType } from './organization-feed';

export class CreateSubscriptionDto {
  /** Absolute http(s) URL the events are POSTed to (https required in production unless allowed). */
  @IsString()
  @MaxLength(2000)
  @IsHttpUrl()
  url!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(FEED_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(FEED_EVENT_TYPES, { each: true, message: `each event must be one of ${FEED_EVENT_TYPES.join(', ')}` })
  events!: FeedEventType[];
}

/**
 * The URL's shape, checked with the other fields so that a 400 names every failing field at once; the
 * service adds the rules that depend on the deployment (https in production).
 */
function IsHttpUrl() {
  return ValidateBy({
    name: 'isHttpUrl',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string') return false;
        try {
          const u = new URL(value);
          return u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          return false;
        }
      },
      defaultMessage: () => 'url must be an absolute http(s) URL',
    },
  });
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value !== '' ? Number(value) : value;

export class ListSubscriptionsQuery {
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @ApiCursor() @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}
