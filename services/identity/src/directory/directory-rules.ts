import type { DirectoryOrganizationEntry, OrganizationView } from '@lienthong/contracts';
import { derivedUuid } from '@lienthong/common';

/** What a replica does with one directory entry. */
export type DirectoryAction = 'insert' | 'update' | 'delete' | 'tombstone' | 'skip';

/**
 * The apply rule of a replica: a state is applied only when its version is newer than both the local row's
 * and the last deletion's (so a redelivered or reordered older state never overwrites a newer one, nor
 * revives a deleted organization). A tombstone deletes the local row, or only records the deletion when
 * there is no row.
 */
export function decideDirectoryAction(
  entry: Pick<DirectoryOrganizationEntry, 'version' | 'deleted'>,
  localVersion: number | null,
  tombstoneVersion: number | null,
): DirectoryAction {
  if (!Number.isSafeInteger(entry.version) || entry.version < 1) return 'skip';
  const known = Math.max(localVersion ?? -1, tombstoneVersion ?? -1);
  if (entry.version <= known) return 'skip';
  if (entry.deleted) return localVersion === null ? 'tombstone' : 'delete';
  return localVersion === null ? 'insert' : 'update';
}

/** The directory entry of an organization state (`deleted` for a tombstone). */
export function directoryEntry(
  view: OrganizationView,
  version: number,
  deleted = false,
): DirectoryOrganizationEntry {
  return deleted
    ? { ...view, version, deleted: true, updatedAt: new Date().toISOString() }
    : { ...view, version };
}

/**
 * Deterministic message id of one organization state (a UUID, as the outbox wants): the same state published
 * twice (backfill, relay retry) carries the same `Nats-Msg-Id` and is dropped by the stream's duplicate window.
 */
export function directoryMessageId(code: string, version: number): string {
  return derivedUuid(`lienthong.directory:${code}:${version}`);
}

/** Structural checks on an entry received from the stream (anything else is a poison message). */
export function directoryEntryProblem(e: unknown): string | null {
  const x = e as Partial<DirectoryOrganizationEntry> | null;
  if (!x || typeof x !== 'object') return 'not an object';
  if (typeof x.code !== 'string' || !x.code) return 'code missing';
  if (!Number.isSafeInteger(x.version)) return 'version missing';
  if (x.deleted) return null;
  for (const k of ['name', 'level', 'sector', 'zone', 'nodeId'] as const) {
    if (typeof x[k] !== 'string' || !x[k]) return `${k} missing`;
  }
  if (x.parentCode !== null && x.parentCode !== undefined && typeof x.parentCode !== 'string')
    return 'parentCode invalid';
  return null;
}
