import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PoisonMessageError, ProcessedMessages } from '@lienthong/common';
import type { WitnessCosignedEvent } from '@lienthong/contracts';
import { type KeyObject } from 'node:crypto';
import { DataSource } from 'typeorm';
import { keyIdOf, publicKeyFromRawBase64, verifyCheckpointWith } from '../checkpoint/signing';
import { AuditConfig } from '../config/audit.config';
import { WitnessRepository } from './witness.repository';

export const COSIGNED_CONSUMER = 'audit-witness-cosigned';

/**
 * The signing node's side: the witnesses' verdicts about its own checkpoints (`nodeId` = this NODE_ID; the
 * rest is someone else's answer and is ignored). A cosignature is verified when the witness's key is
 * configured (AUDIT_WITNESS_PUBLIC_KEYS) with the same key id; otherwise it is kept as unverified (null).
 */
@Injectable()
export class CosignatureService {
  private readonly logger = new Logger(CosignatureService.name);
  private readonly witnessKeys: Map<string, Map<string, KeyObject>>;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly repo: WitnessRepository,
    private readonly config: AuditConfig,
    private readonly processed: ProcessedMessages,
  ) {
    this.witnessKeys = new Map(
      [...config.witnessPublicKeys].map(([name, keys]) => {
        const byId = new Map<string, KeyObject>();
        for (const k of keys) {
          const key = publicKeyFromRawBase64(k);
          byId.set(keyIdOf(key), key);
        }
        return [name, byId];
      }),
    );
  }

  /** Returns whether a row was stored. */
  async receive(ev: WitnessCosignedEvent, messageId: string): Promise<boolean> {
    if (!ev || ev.nodeId !== this.config.NODE_ID) return false;
    if (
      typeof ev.witness !== 'string' ||
      ev.witness.length === 0 ||
      ev.witness.length > 200 ||
      !Number.isSafeInteger(ev.treeSize) ||
      ev.treeSize < 0 ||
      typeof ev.rootHash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(ev.rootHash) ||
      (ev.verdict !== 'cosigned' && ev.verdict !== 'refused') ||
      Number.isNaN(Date.parse(ev.at))
    ) {
      throw new PoisonMessageError('invalid witness.cosigned event');
    }
    return this.ds.transaction(async (m) => {
      if (!(await this.processed.claim(m, COSIGNED_CONSUMER, messageId))) return false;
      const own = await this.repo.checkpointIdFor(m, ev.treeSize, ev.rootHash);
      if (!own)
        this.logger.warn(
          `witness ${ev.witness} answered about ${ev.treeSize}/${ev.rootHash}, which this node never signed`,
        );
      const cosignature =
        ev.verdict === 'cosigned' && typeof ev.cosignature === 'string' ? ev.cosignature.slice(0, 200) : null;
      const witnessKeyId = typeof ev.witnessKeyId === 'string' ? ev.witnessKeyId.slice(0, 16) : null;
      let verified: boolean | null = null;
      const key = witnessKeyId ? this.witnessKeys.get(ev.witness)?.get(witnessKeyId) : undefined;
      if (cosignature && key) {
        const origin = own?.origin ?? this.config.auditOrigin;
        verified = verifyCheckpointWith(
          key,
          { origin, treeSize: ev.treeSize, rootHash: ev.rootHash },
          cosignature,
        );
        if (!verified)
          this.logger.warn(`cosignature of ${ev.witness} for checkpoint ${ev.treeSize} does not verify`);
      }
      if (ev.verdict === 'refused')
        this.logger.warn(
          `witness ${ev.witness} refused checkpoint ${ev.treeSize}: ${ev.reason ?? 'no reason'}`,
        );
      return this.repo.insertCosignature(m, {
        witness: ev.witness,
        tree_size: ev.treeSize,
        root_hash: ev.rootHash,
        checkpoint_id: own?.id ?? null,
        verdict: ev.verdict,
        reason: typeof ev.reason === 'string' ? ev.reason.slice(0, 32) : null,
        cosignature,
        witness_key_id: witnessKeyId,
        cosignature_verified: verified,
        witnessed_at: new Date(ev.at),
      });
    });
  }
}
