import type { Principal } from './principal';

/**
 * Organization scope rules shared by services. `subtree` is the caller's own organization code plus its
 * descendants (from identity); system-admins see everything.
 */
export function canSeeOrganization(
  principal: Principal,
  organizationCode: string,
  subtree?: Iterable<string>,
): boolean {
  if (principal.roles.includes('system-admin')) return true;
  if (principal.organizationCode === organizationCode) return true;
  if (!subtree) return false;
  for (const code of subtree) if (code === organizationCode) return true;
  return false;
}
