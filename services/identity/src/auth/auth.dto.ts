import { IsString, MaxLength } from 'class-validator';

export class RevokeDto {
  @IsString() @MaxLength(4096) token!: string;
}
