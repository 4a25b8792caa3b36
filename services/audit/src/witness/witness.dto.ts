import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { PageQueryDto } from '../events/events.dto';

export class WitnessNodeParamDto {
  @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/, {
    message: 'nodeId must be lowercase letters, digits and dashes (at most 32)',
  })
  nodeId!: string;
}

export class CosignaturesQueryDto extends PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) treeSize?: number;
}
