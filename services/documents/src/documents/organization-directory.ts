import { Injectable, Logger } from '@nestjs/common';
import { hasRole, RpcClient, type Principal } from '@lienthong/common';
import { RpcMethods } from '@lienthong/contracts';

/** Asks identity which organization codes exist (request/reply). */
@Injectable()
export class OrganizationDirectory {
  private readonly logger = new Logger(OrganizationDirectory.name);

  constructor(private readonly rpc: RpcClient) {}

  /**
   * Organizations whose documents the caller may read: its own, plus its subtree for org-admins (API.md,
   * common rules). If identity cannot answer, an org-admin sees only its own organization.
   */
  async readableBy(p: Principal): Promise<string[]> {
    if (!hasRole(p, 'org-admin')) return [p.organizationCode];
    try {
      const res = await this.rpc.request(RpcMethods.organizationSubtree, { code: p.organizationCode });
      return [...new Set([p.organizationCode, ...(res.codes ?? [])])];
    } catch (e) {
      this.logger.warn(`organization subtree unavailable: ${(e as Error).message}`);
      return [p.organizationCode];
    }
  }

  async missing(codes: string[]): Promise<string[]> {
    if (codes.length === 0) return [];
    const res = await this.rpc.request(RpcMethods.organizationResolve, { codes });
    const found = new Set(res.found.map((o) => o.code));
    return codes.filter((c) => !found.has(c));
  }
}
