import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditRecorder, derivedUuid, OutboxService } from '@lienthong/common';
import {
  AuditActions,
  Subjects,
  type WitnessCosignedEvent,
  type WitnessSubmittedEvent,
} from '@lienthong/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { KeysService } from '../checkpoint/keys.service';
import { signCheckpoint } from '../checkpoint/signing';
import { AuditConfig } from '../config/audit.config';
import { WitnessRepository, type WitnessedRow } from './witness.repository';
import { judge, type Judgement } from './witness.verify';

export const WITNESS_CONSUMER = 'audit-witness-submitted';

/**
 * The central node's witness: judges each submitted checkpoint (witness.verify.ts), stores the verdict
 * (refusals too), audits it and sends the answer back, all in one transaction. The same head asked again
 * gets the same answer and no second row — except a GAP refusal, which is judged again (the missing
 * checkpoint may have arrived since).
 */
@Injectable()
export class WitnessService {
  private readonly logger = new Logger(WitnessService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly repo: WitnessRepository,
    private readonly keys: KeysService,
    private readonly config: AuditConfig,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
  ) {}

  /**
   * Idempotent by what is asked (node, size, root) rather than by message id: the same head always gets the
   * same answer, and a head refused for a GAP that the bus submits again after the missing one is judged anew.
   */
  async witness(sub: WitnessSubmittedEvent): Promise<WitnessCosignedEvent> {
    return this.ds.transaction(async (m) => {
      const c = sub.checkpoint;
      await this.repo.lockNode(m, sub.nodeId);
      const existing = await this.repo.answerFor(m, sub.nodeId, c.treeSize, c.rootHash);
      if (existing && existing.reason !== 'GAP') return this.answer(m, existing);
      const j = judge(sub, await this.repo.state(m, sub.nodeId));
      if (existing && j.reason === 'GAP') return this.answer(m, existing);

      const cosign = j.verdict === 'cosigned' ? this.cosign(c.origin, c.treeSize, c.rootHash) : null;
      const row = await this.repo.insert(m, sub, j, cosign);
      if (j.pinKey) await this.repo.pinKey(m, sub.nodeId, c.keyId, sub.publicKey, c.treeSize);
      await this.audit.record(m, {
        action:
          j.verdict === 'cosigned' ? AuditActions.checkpointWitnessed : AuditActions.checkpointWitnessRefused,
        resource: { type: 'audit-checkpoint', id: `${sub.nodeId}/${c.treeSize}` },
        outcome: j.verdict === 'cosigned' ? 'success' : 'failure',
        details: this.details(sub, j),
      });
      if (j.verdict === 'refused')
        this.logger.warn(`refused checkpoint ${c.treeSize} of node ${sub.nodeId}: ${j.reason} (${j.detail})`);
      return this.answer(m, row);
    });
  }

  private cosign(
    origin: string,
    treeSize: number,
    rootHash: string,
  ): { cosignature: string; witnessKeyId: string } {
    const key = this.keys.signingKey();
    return {
      cosignature: signCheckpoint(key.privateKey, origin, treeSize, Buffer.from(rootHash, 'hex')),
      witnessKeyId: key.keyId,
    };
  }

  private details(sub: WitnessSubmittedEvent, j: Judgement): Record<string, unknown> {
    const c = sub.checkpoint;
    return {
      nodeId: sub.nodeId,
      origin: c.origin,
      treeSize: c.treeSize,
      rootHash: c.rootHash,
      keyId: c.keyId,
      ...(sub.previous ? { previousTreeSize: sub.previous.treeSize } : {}),
      ...(j.reason ? { reason: j.reason } : {}),
      detail: j.detail,
    };
  }

  /** The answer to the node, in the outbox; its id is the row's, so a repeated answer is the same event. */
  private async answer(m: EntityManager, row: WitnessedRow): Promise<WitnessCosignedEvent> {
    const data: WitnessCosignedEvent = {
      nodeId: row.node_id,
      witness: this.config.witnessName,
      treeSize: Number(row.tree_size),
      rootHash: row.root_hash.toString('hex'),
      verdict: row.verdict,
      ...(row.reason ? { reason: row.reason } : {}),
      ...(row.cosignature
        ? { cosignature: row.cosignature, witnessKeyId: row.witness_key_id ?? undefined }
        : {}),
      at: row.witnessed_at.toISOString(),
    };
    await this.outbox.add(m, {
      subject: Subjects.witnessCosigned(),
      type: 'witness.cosigned',
      data,
      id: derivedUuid(`witness.cosigned\n${this.config.witnessName}\n${row.node_id}\n${row.id}`),
    });
    return data;
  }
}
