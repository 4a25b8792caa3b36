export type OrganizationLevel = 'central' | 'province' | 'district' | 'commune';
export type OrganizationSector = 'party' | 'state';
export type NetworkZone = 'party-wan' | 'internet';

export const ORGANIZATION_LEVELS: OrganizationLevel[] = ['central', 'province', 'district', 'commune'];
export const ORGANIZATION_SECTORS: OrganizationSector[] = ['party', 'state'];
export const NETWORK_ZONES: NetworkZone[] = ['party-wan', 'internet'];

/** Electronic identifier code: dot-separated groups of 0-9A-Z, at most 35 characters (QĐ 20/2020). */
export const ORGANIZATION_CODE_PATTERN = /^[0-9A-Z]+(\.[0-9A-Z]+)*$/;
export const ORGANIZATION_CODE_MAX_LENGTH = 35;

export const ROLES = [
  'system-admin',
  'org-admin',
  'clerk',
  'leader',
  'specialist',
  'auditor',
  'operator',
  'cleared',
  'exchange',
] as const;
export type Role = (typeof ROLES)[number];

export interface OrganizationView {
  code: string;
  name: string;
  parentCode: string | null;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  nodeId: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface OrganizationChangedEvent {
  change: 'created' | 'updated' | 'deleted';
  organization: OrganizationView;
}

/**
 * One organization in the directory stream (`Subjects.directoryOrganization(code)`, `Streams.directory()`):
 * its full current view, a version that grows with every change (across deletion and re-creation of a
 * code), and `deleted: true` for a tombstone. Replicas apply a state only when its version is newer.
 */
export interface DirectoryOrganizationEntry extends OrganizationView {
  version: number;
  deleted?: true;
}

/**
 * A revocation published by identity (`Subjects.tokenRevoked()`). Either one access token (`jti`) or every
 * token of a subject issued at or before `revokedAt` (a disabled or deleted user, a deleted client). Services
 * refuse matching tokens until `expiresAt`, after which no matching token can still be valid.
 */
export interface TokenRevokedEvent {
  /** One access token. */
  jti?: string;
  /** Every token of this subject (`sub` claim) of this type issued up to `revokedAt`. */
  subject?: string;
  subjectType?: 'user' | 'client';
  /** ISO 8601. */
  revokedAt: string;
  /** ISO 8601: the revocation can be forgotten after this. */
  expiresAt: string;
  reason: 'revoked' | 'user-disabled' | 'user-deleted' | 'client-deleted' | 'session-revoked';
}
