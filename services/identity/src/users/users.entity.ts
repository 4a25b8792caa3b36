import type { Role } from '@lienthong/contracts';

export interface UserRow {
  id: string;
  username: string;
  full_name: string;
  email: string | null;
  password_hash: string;
  organization_code: string;
  roles: Role[];
  disabled: boolean;
  failed_count: number;
  failed_window_start: Date | null;
  locked_until: Date | null;
  lock_count: number;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface UserView {
  id: string;
  username: string;
  fullName: string;
  email?: string;
  organizationCode: string;
  roles: Role[];
  disabled: boolean;
  totpEnabled: boolean;
}

export function toUserView(u: UserRow): UserView {
  return {
    id: u.id,
    username: u.username,
    fullName: u.full_name,
    ...(u.email ? { email: u.email } : {}),
    organizationCode: u.organization_code,
    roles: u.roles,
    disabled: u.disabled,
    totpEnabled: u.totp_enabled,
  };
}
