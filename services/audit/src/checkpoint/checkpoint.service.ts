import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { OutboxService } from '@lienthong/common';
import { Subjects } from '@lienthong/contracts';
import { DataSource } from 'typeorm';
import { AuditConfig } from '../config/audit.config';
import { KeysService } from './keys.service';
import { rawPublicKeyBase64, signCheckpoint } from './signing';
import { buildWitnessMessage, witnessMessageId } from './witness-message';

export interface CheckpointView {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

interface CheckpointRow {
  id: string;
  origin: string;
  tree_size: string;
  root_hash: Buffer;
  signed_at: Date;
  key_id: string;
  signature: string;
}

const toView = (r: CheckpointRow): CheckpointView => ({
  origin: r.origin,
  treeSize: Number(r.tree_size),
  rootHash: r.root_hash.toString('hex'),
  timestamp: r.signed_at.toISOString(),
  keyId: r.key_id,
  signature: r.signature,
});

/** Signed tree heads every AUDIT_CHECKPOINT_EVERY entries or AUDIT_CHECKPOINT_INTERVAL_MS, whichever first. */
@Injectable()
export class CheckpointService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CheckpointService.name);
  private lastSize = -1;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly config: AuditConfig,
    private readonly keys: KeysService,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.sign().catch((e: Error) => this.logger.warn(`checkpoint failed: ${e.message}`));
    }, this.config.AUDIT_CHECKPOINT_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Called after each committed batch. */
  async afterAppend(size: number): Promise<void> {
    if (this.lastSize < 0) this.lastSize = (await this.latest())?.treeSize ?? 0;
    if (size - this.lastSize >= this.config.AUDIT_CHECKPOINT_EVERY) await this.sign();
  }

  /** Signs the current tree head unless a checkpoint of that size exists already. Returns the latest. */
  async sign(): Promise<CheckpointView> {
    const view = await this.ds.transaction(async (m) => {
      // Same lock as intake: the head cannot move while it is signed, and replicas sign one at a time.
      const [state] = (await m.query(`SELECT size, root FROM tree_state WHERE id = 1 FOR UPDATE`)) as {
        size: string;
        root: Buffer;
      }[];
      const [last] = (await m.query(`SELECT * FROM checkpoints ORDER BY id DESC LIMIT 1`)) as CheckpointRow[];
      const size = Number(state.size);
      if (last && Number(last.tree_size) >= size) return toView(last);
      const key = this.keys.signingKey();
      const origin = this.config.auditOrigin;
      const signature = signCheckpoint(key.privateKey, origin, size, state.root);
      const [row] = (await m.query(
        `INSERT INTO checkpoints (origin, tree_size, root_hash, signed_at, key_id, signature)
         VALUES ($1, $2, $3, now(), $4, $5) RETURNING *`,
        [origin, size, state.root, key.keyId, signature],
      )) as CheckpointRow[];
      const view = toView(row);
      // To the central node's witness (through the bus), committed with the checkpoint itself.
      const previous = last
        ? { treeSize: Number(last.tree_size), rootHash: last.root_hash.toString('hex') }
        : null;
      const data = await buildWitnessMessage(m, view, rawPublicKeyBase64(key.privateKey), previous);
      await this.outbox.add(m, {
        subject: Subjects.witnessCheckpointSigned(),
        type: 'witness.checkpoint-signed',
        data,
        id: witnessMessageId(origin, size),
      });
      return view;
    });
    this.lastSize = Math.max(this.lastSize, view.treeSize);
    return view;
  }

  async latest(): Promise<CheckpointView | null> {
    const [row] = (await this.ds.query(
      `SELECT * FROM checkpoints ORDER BY id DESC LIMIT 1`,
    )) as CheckpointRow[];
    return row ? toView(row) : null;
  }

  /** The checkpoint signed at exactly this tree size, if any. */
  async atSize(treeSize: number): Promise<CheckpointView | null> {
    const [row] = (await this.ds.query(`SELECT * FROM checkpoints WHERE tree_size = $1 ORDER BY id LIMIT 1`, [
      treeSize,
    ])) as CheckpointRow[];
    return row ? toView(row) : null;
  }

  /** Every checkpoint in order, keyset-paged by id. */
  async page(after: number, limit: number): Promise<{ items: CheckpointView[]; nextCursor: string | null }> {
    const rows = (await this.ds.query(`SELECT * FROM checkpoints WHERE id > $1 ORDER BY id LIMIT $2`, [
      after,
      limit + 1,
    ])) as CheckpointRow[];
    const more = rows.length > limit;
    const items = rows.slice(0, limit);
    return { items: items.map(toView), nextCursor: more ? String(items[items.length - 1].id) : null };
  }
}
