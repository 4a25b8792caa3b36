import type { Role } from '@lienthong/contracts';

/** Who is calling, taken from a verified access token. */
export interface Principal {
  sub: string;
  username?: string;
  organizationCode: string;
  roles: Role[];
  type: 'user' | 'client';
  jti: string;
  expiresAt: number;
  /** `iat` (seconds): a subject's revocation refuses the tokens issued up to it. */
  issuedAt?: number;
}

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return roles.some((r) => p.roles.includes(r));
}
