import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { notFound, Roles } from '@lienthong/common';
import { PageQueryDto } from '../events/events.dto';
import { type CosignatureRow, WitnessRepository, type WitnessedRow } from './witness.repository';
import { CosignaturesQueryDto, WitnessNodeParamDto } from './witness.dto';

const hex = (b: Buffer | null) => (b ? b.toString('hex') : null);

const witnessedView = (r: WitnessedRow) => ({
  id: r.id,
  nodeId: r.node_id,
  checkpoint: {
    origin: r.origin,
    treeSize: Number(r.tree_size),
    rootHash: hex(r.root_hash),
    timestamp: r.checkpoint_timestamp,
    keyId: r.key_id,
    signature: r.signature,
  },
  publicKey: r.public_key,
  previous:
    r.previous_size === null ? null : { treeSize: Number(r.previous_size), rootHash: hex(r.previous_root) },
  verdict: r.verdict,
  reason: r.reason,
  detail: r.detail,
  cosignature: r.cosignature,
  witnessKeyId: r.witness_key_id,
  witnessedAt: r.witnessed_at.toISOString(),
});

const cosignatureView = (r: CosignatureRow) => ({
  witness: r.witness,
  treeSize: Number(r.tree_size),
  rootHash: hex(r.root_hash),
  matchesCheckpoint: r.checkpoint_id !== null,
  verdict: r.verdict,
  reason: r.reason,
  cosignature: r.cosignature,
  witnessKeyId: r.witness_key_id,
  verified: r.cosignature_verified,
  witnessedAt: r.witnessed_at.toISOString(),
  receivedAt: r.received_at.toISOString(),
});

/** Witnessing: what this node witnessed of others (central) and what witnesses said of its own checkpoints. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor', 'system-admin')
@Controller('api/v1/audit')
export class WitnessController {
  constructor(private readonly repo: WitnessRepository) {}

  /** Operators see it too: the console's federation page shows each node's last verdict. */
  @Get('witness/nodes')
  @Roles('auditor', 'system-admin', 'operator')
  async nodes() {
    const rows = await this.repo.nodes();
    return {
      items: rows.map((r) => ({
        nodeId: r.node_id,
        origin: r.origin,
        lastWitnessed:
          r.tree_size === null
            ? null
            : {
                treeSize: Number(r.tree_size),
                rootHash: hex(r.root_hash),
                at: r.witnessed_at!.toISOString(),
              },
        cosigned: Number(r.cosigned),
        refused: Number(r.refused),
        inconsistent: Number(r.inconsistent),
        lastRefusalAt: r.last_refusal_at ? r.last_refusal_at.toISOString() : null,
        keyIds: r.keys,
        // The verdict on the latest checkpoint the node submitted (cosigned or refused with its reason).
        lastVerdict:
          r.last_verdict === null
            ? null
            : {
                verdict: r.last_verdict,
                reason: r.last_reason,
                treeSize: Number(r.last_tree_size),
                at: r.last_witnessed_at!.toISOString(),
              },
      })),
    };
  }

  @Get('witness/nodes/:nodeId/checkpoints')
  async nodeCheckpoints(@Param() p: WitnessNodeParamDto, @Query() q: PageQueryDto) {
    const limit = q.limit ?? 100;
    const rows = await this.repo.nodePage(p.nodeId, q.cursor === undefined ? 0 : Number(q.cursor), limit + 1);
    if (rows.length === 0 && q.cursor === undefined)
      throw notFound('WITNESS_NODE_UNKNOWN', `Nothing was witnessed for node ${p.nodeId}`);
    const items = rows.slice(0, limit);
    return {
      items: items.map(witnessedView),
      nextCursor: rows.length > limit ? items[items.length - 1].id : null,
    };
  }

  @Get('checkpoint/cosignatures')
  async cosignatures(@Query() q: CosignaturesQueryDto) {
    const limit = q.limit ?? 100;
    const rows = await this.repo.cosignatures(
      q.treeSize,
      q.cursor === undefined ? 0 : Number(q.cursor),
      limit + 1,
    );
    const items = rows.slice(0, limit);
    return {
      items: items.map(cosignatureView),
      nextCursor: rows.length > limit ? items[items.length - 1].id : null,
    };
  }
}
