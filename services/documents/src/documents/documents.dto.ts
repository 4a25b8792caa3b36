import { ApiLimit } from '@lienthong/common';
import {
  ORGANIZATION_CODE_MAX_LENGTH,
  ORGANIZATION_CODE_PATTERN,
  ORGANIZATION_LEVELS,
  ORGANIZATION_SECTORS,
  SECRECY_LEVELS,
  URGENCY_LEVELS,
} from '@lienthong/contracts';
import type { OrganizationLevel, OrganizationSector, Secrecy, Urgency } from '@lienthong/contracts';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export class SignerDto {
  @IsOptional() @IsString() @MaxLength(100) competence?: string;
  @IsString() @IsNotEmpty() @MaxLength(200) position!: string;
  @IsString() @IsNotEmpty() @MaxLength(200) fullName!: string;
}

/** Every organization strictly under `under` in the directory tree, optionally of one level and sector. */
export class RecipientRuleDto {
  @IsString()
  @Matches(ORGANIZATION_CODE_PATTERN, { message: 'under must be an organization code' })
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  under!: string;
  @IsOptional() @IsIn(ORGANIZATION_LEVELS) level?: OrganizationLevel;
  @IsOptional() @IsIn(ORGANIZATION_SECTORS) sector?: OrganizationSector;
}

/** Most rules and groups one document may name (each expands to many organizations). */
export const MAX_RECIPIENT_RULES = 100;
export const MAX_RECIPIENT_GROUPS = 100;

export class CreateDocumentDto {
  @IsString() @IsNotEmpty() @MaxLength(20) number!: string;
  @IsString() @IsNotEmpty() @MaxLength(50) notation!: string;
  @IsString() @IsNotEmpty() @MaxLength(50) type!: string;
  @IsOptional() @IsString() @MaxLength(200) typeName?: string;
  @IsString() @IsNotEmpty() @MaxLength(2000) subject!: string;
  @IsOptional() @IsString() @MaxLength(200_000) content?: string;
  @IsOptional() @IsString() @MaxLength(200) promulgationPlace?: string;
  @Matches(DATE, { message: 'promulgationDate must be YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  promulgationDate!: string;
  @ValidateNested() @Type(() => SignerDto) signer!: SignerDto;
  @IsIn(SECRECY_LEVELS) secrecy!: Secrecy;
  @IsIn(URGENCY_LEVELS) urgency!: Urgency;
  @IsOptional() @IsBoolean() steering?: boolean;
  @IsOptional()
  @Matches(DATE, { message: 'dueDate must be YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  dueDate?: string;
  /** May be empty or absent when `recipientRules` or `recipientGroups` name the recipients. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20_000)
  @ArrayUnique()
  @Matches(ORGANIZATION_CODE_PATTERN, { each: true, message: 'each recipient must be an organization code' })
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH, { each: true })
  recipients?: string[];
  /** Expanded from the directory at send time. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_RECIPIENT_RULES)
  @ValidateNested({ each: true })
  @Type(() => RecipientRuleDto)
  recipientRules?: RecipientRuleDto[];
  /** Ids of the sender organization's recipient groups; their members at send time receive the document. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_RECIPIENT_GROUPS)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'each recipient group must be a group id' })
  recipientGroups?: string[];
  /**
   * Business type 3: the caller's outgoing document (already sent) this one replaces. With an empty
   * `recipients`, the earlier document's recipients are taken.
   */
  @IsOptional() @IsUUID('all', { message: 'replaces must be a document id' }) replaces?: string;
}

export const RECEIVER_STATUSES = ['accepted', 'rejected', 'assigned', 'processing', 'completed'] as const;
export type ReceiverStatus = (typeof RECEIVER_STATUSES)[number];

export class StatusChangeDto {
  @IsIn(RECEIVER_STATUSES) status!: ReceiverStatus;
  @ValidateIf((o: StatusChangeDto) => o.status === 'rejected' || o.reason !== undefined)
  @IsString()
  @IsNotEmpty({ message: 'reason is required when rejecting' })
  @MaxLength(2000)
  reason?: string;
  @IsOptional() @IsString() @MaxLength(200) assignee?: string;
}

/** The fields an update (business type 2) may change; at least one is given. */
export class DocumentChangesDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(2000) subject?: string;
  @IsOptional() @IsIn(URGENCY_LEVELS) urgency?: Urgency;
  @IsOptional()
  @Matches(DATE, { message: 'dueDate must be YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  dueDate?: string;
  @IsOptional()
  @Matches(DATE, { message: 'promulgationDate must be YYYY-MM-DD' })
  @IsISO8601({ strict: true })
  promulgationDate?: string;
  @IsOptional() @ValidateNested() @Type(() => SignerDto) signer?: SignerDto;
}

export class UpdateDocumentDto {
  @IsString() @IsNotEmpty() @MaxLength(2000) reason!: string;
  @IsObject({ message: 'changes must be an object' })
  @ValidateNested()
  @Type(() => DocumentChangesDto)
  changes!: DocumentChangesDto;
}

export class RecallDto {
  @IsString() @IsNotEmpty() @MaxLength(2000) reason!: string;
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value !== '' ? Number(value) : value;

export const DOCUMENT_STATUS_FILTERS = [
  'draft',
  'queued',
  'sent',
  'arrived',
  'rejected',
  'accepted',
  'assigned',
  'processing',
  'completed',
  'recalled',
  'failed',
  'expired',
] as const;

export class ListDocumentsQuery {
  @IsOptional() @IsIn(['outgoing', 'incoming']) direction?: 'outgoing' | 'incoming';
  @IsOptional() @IsIn(DOCUMENT_STATUS_FILTERS) status?: string;
  @IsOptional() @IsString() @MaxLength(500) q?: string;
  @IsOptional() @Matches(DATE, { message: 'from must be YYYY-MM-DD' }) from?: string;
  @IsOptional() @Matches(DATE, { message: 'to must be YYYY-MM-DD' }) to?: string;
  @ApiLimit(500, 50) @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

export class RecipientsQuery {
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

export class RecipientHistoryParams {
  @IsString() @MaxLength(300) id!: string;
  @Matches(ORGANIZATION_CODE_PATTERN, { message: 'organizationCode must be an organization code' })
  @MaxLength(35)
  organizationCode!: string;
}

export class RegisterQuery {
  @Transform(toInt) @IsInt() @Min(1900) @Max(9999) year!: number;
  @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
  /**
   * JSON only: one page of the register by number (the console pages a year of thousands of entries); without
   * it, the whole year as always. The CSV file is always the whole year.
   */
  @ApiLimit(500, undefined, '; without it, every entry of the year')
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

export class ReportQuery {
  /** Default: 1 January of `to`'s year, else of the current year (Vietnam time). */
  @IsOptional() @Matches(DATE, { message: 'from must be YYYY-MM-DD' }) from?: string;
  /** Default: 31 December of `from`'s year, else of the current year (Vietnam time). */
  @IsOptional() @Matches(DATE, { message: 'to must be YYYY-MM-DD' }) to?: string;
  @IsOptional()
  @Matches(ORGANIZATION_CODE_PATTERN)
  @MaxLength(ORGANIZATION_CODE_MAX_LENGTH)
  organizationCode?: string;
}
