import { Injectable } from '@nestjs/common';
import { RpcClient } from '@lienthong/common';
import { RpcSubjects, type OrganizationView } from '@lienthong/contracts';

/** Asks identity which organization codes exist (request/reply). */
@Injectable()
export class OrganizationDirectory {
  constructor(private readonly rpc: RpcClient) {}

  async missing(codes: string[]): Promise<string[]> {
    if (codes.length === 0) return [];
    // RpcMap is keyed by computed (string-typed) subjects, so the typed `request` cannot narrow; the reply
    // shape is RpcMap's organizationResolve response.
    const res = (await this.rpc.requestRaw(RpcSubjects.organizationResolve, { codes })) as { found: OrganizationView[]; missing: string[] };
    const found = new Set(res.found.map((o) => o.code));
    return codes.filter((c) => !found.has(c));
  }
}
