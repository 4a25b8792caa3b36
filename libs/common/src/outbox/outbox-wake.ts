import type {
  EntityManager,
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

const DIRTY = 'outboxWritten';

/** Marks the manager's transaction as having written outbox rows (read by the commit hook). */
export function markOutboxWritten(manager: EntityManager): void {
  const qr = manager.queryRunner;
  if (qr) qr.data = { ...(qr.data ?? {}), [DIRTY]: true };
}

/**
 * A TypeORM subscriber that calls `onCommit` after every committed transaction that wrote outbox rows.
 * A write outside an explicit transaction (no query runner) autocommits at once; the relay's fallback poll
 * covers it.
 */
export class OutboxCommitHook implements EntitySubscriberInterface {
  constructor(private readonly onCommit: () => void) {}

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const qr = event.queryRunner;
    if (!qr?.data?.[DIRTY]) return;
    qr.data = { ...qr.data, [DIRTY]: false };
    this.onCommit();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const qr = event.queryRunner;
    if (qr?.data?.[DIRTY]) qr.data = { ...qr.data, [DIRTY]: false };
  }
}
