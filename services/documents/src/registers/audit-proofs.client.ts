import { Injectable } from '@nestjs/common';
import { RpcClient } from '@lienthong/common';
import { RpcMethods, type ProvenEvent, type ResourceProofsResponse } from '@lienthong/contracts';

/** The audit service's proofs over NATS request/reply (RpcMap `audit.resource-proofs`). */
@Injectable()
export class AuditProofsClient {
  constructor(private readonly rpc: RpcClient) {}

  /** Signs (or reuses) the checkpoint of the audit log's current head; returns it with the public keys. */
  async checkpoint(anyResourceId: string): Promise<Pick<ResourceProofsResponse, 'checkpoint' | 'keys'>> {
    const r = await this.rpc.request(RpcMethods.auditResourceProofs, {
      resourceIds: [anyResourceId],
      limit: 1,
    });
    return { checkpoint: r.checkpoint, keys: r.keys };
  }

  /** Every logged event of these resources up to `treeSize`, with inclusion proofs at that size. */
  async events(resourceIds: string[], treeSize: number): Promise<ProvenEvent[]> {
    const out: ProvenEvent[] = [];
    let afterIndex: number | null = -1;
    while (afterIndex !== null) {
      const r: ResourceProofsResponse = await this.rpc.request(RpcMethods.auditResourceProofs, {
        resourceIds,
        treeSize,
        afterIndex,
      });
      out.push(...r.events);
      afterIndex = r.nextAfterIndex;
    }
    return out;
  }
}
