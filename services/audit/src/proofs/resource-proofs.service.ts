import { Injectable } from '@nestjs/common';
import { notFound, serviceUnavailable } from '@lienthong/common';
import type { ResourceProofsRequest, ResourceProofsResponse } from '@lienthong/contracts';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { KeysService } from '../checkpoint/keys.service';
import { LogRepository } from '../log/log.repository';
import { MAX_PROOFS_PAGE } from './resource-proofs.dto';

/**
 * The events of some resources with their inclusion proofs against one signed checkpoint: what an archive
 * package carries so that an archivist can check, offline, that each event is in the log the platform signed.
 */
@Injectable()
export class ResourceProofsService {
  constructor(
    private readonly log: LogRepository,
    private readonly checkpoints: CheckpointService,
    private readonly keys: KeysService,
  ) {}

  async prove(req: ResourceProofsRequest): Promise<ResourceProofsResponse> {
    // A fresh checkpoint covers every event logged so far; later pages name it by its size.
    const checkpoint =
      req.treeSize === undefined
        ? await this.checkpoints.sign()
        : await this.checkpoints.atSize(req.treeSize);
    if (!checkpoint) throw notFound('CHECKPOINT_NOT_FOUND', `No checkpoint of size ${req.treeSize}`);
    const limit = Math.min(req.limit ?? MAX_PROOFS_PAGE, MAX_PROOFS_PAGE);
    const rows = await this.log.eventsOfResources(
      req.resourceIds,
      req.afterIndex ?? -1,
      checkpoint.treeSize,
      limit + 1,
    );
    const page = rows.slice(0, limit);
    const proved = await this.log.inclusionProofs(
      page.map((r) => Number(r.leaf_index)),
      checkpoint.treeSize,
    );
    if (proved.logSize < checkpoint.treeSize)
      throw serviceUnavailable('LOG_BEHIND', 'The log is shorter than its checkpoint');
    const events = page.map((r, n) => ({
      leafIndex: Number(r.leaf_index),
      leafHash: r.leaf_hash.toString('hex'),
      event: r.event,
      auditPath: proved.proofs[n].path.map((h) => h.toString('hex')),
    }));
    const keys = (await this.keys.list()).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
    return {
      checkpoint,
      keys,
      events,
      nextAfterIndex: rows.length > limit ? events[events.length - 1].leafIndex : null,
    };
  }
}
