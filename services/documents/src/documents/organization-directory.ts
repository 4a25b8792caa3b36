import { Injectable, Logger } from '@nestjs/common';
import { hasRole, RpcClient, type Principal } from '@lienthong/common';
import { RpcSubjects, type OrganizationView } from '@lienthong/contracts';

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
      const res = (await this.rpc.requestRaw(RpcSubjects.organizationSubtree, { code: p.organizationCode })) as { codes: string[] };
      return [...new Set([p.organizationCode, ...(res.codes ?? [])])];
    } catch (e) {
      this.logger.warn(`organization subtree unavailable: ${(e as Error).message}`);
      return [p.organizationCode];
    }
  }

  async missing(codes: string[]): Promise<string[]> {
    if (codes.length === 0) return [];
    // RpcMap is keyed by computed (string-typed) subjects, so the typed `request` cannot narrow; the reply
    // shape is RpcMap's organizationResolve response.
    const res = (await this.rpc.requestRaw(RpcSubjects.organizationResolve, { codes })) as { found: OrganizationView[]; missing: string[] };
    const found = new Set(res.found.map((o) => o.code));
    return codes.filter((c) => !found.has(c));
  }
}
