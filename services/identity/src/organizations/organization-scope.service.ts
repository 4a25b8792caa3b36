import { Injectable } from '@nestjs/common';
import { hasRole, type Principal } from '@lienthong/common';
import { OrganizationsRepository } from './organizations.repository';

/**
 * What part of the tree a caller manages or may see: everything for system-admins, the subtree of their own
 * organization otherwise.
 */
@Injectable()
export class OrganizationScope {
  constructor(private readonly orgs: OrganizationsRepository) {}

  /** Materialized path of the caller's subtree; undefined = unrestricted. */
  async pathOf(p: Principal): Promise<string | undefined> {
    if (hasRole(p, 'system-admin')) return undefined;
    const own = await this.orgs.find(p.organizationCode);
    return own?.path ?? `/__none__/`;
  }

  async contains(p: Principal, organizationCode: string, opts: { strict?: boolean } = {}): Promise<boolean> {
    const scope = await this.pathOf(p);
    if (scope === undefined) return true;
    const target = await this.orgs.find(organizationCode);
    if (!target) return false;
    if (opts.strict && target.path === scope) return false;
    return target.path.startsWith(scope);
  }
}
