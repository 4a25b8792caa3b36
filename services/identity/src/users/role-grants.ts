import { hasRole, type Principal } from '@lienthong/common';
import type { Role } from '@lienthong/contracts';
import { UserErrors } from './users.errors';

/** Nobody grants a role they do not hold; system-admins hold them all. */
export function assertCanGrant(actor: Principal | undefined, roles: Role[]): void {
  if (!actor || hasRole(actor, 'system-admin')) return;
  const missing = roles.filter((r) => !actor.roles.includes(r));
  if (missing.length) throw UserErrors.roleEscalation(missing);
}
