import type { ResourceProofsRequest } from '@lienthong/contracts';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** Largest page of proven events (each carries its event and a path of ≈ log2(n) hashes; NATS caps a message at 1 MiB). */
export const MAX_PROOFS_PAGE = 200;

export class ResourceProofsRequestDto implements ResourceProofsRequest {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  resourceIds!: string[];

  @IsOptional() @IsInt() @Min(1) treeSize?: number;
  @IsOptional() @IsInt() @Min(-1) afterIndex?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_PROOFS_PAGE) limit?: number;
}
