import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

export class ArchiveQuery {
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1900)
  @Max(9999)
  year!: number;
}
