import { badRequest } from '@lienthong/common';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Opaque keyset cursor: the sort key of the last item, base64url-encoded. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || key.length > 200)
    throw badRequest('VALIDATION_FAILED', 'Invalid cursor', [
      { field: 'cursor', errors: ['invalid cursor'] },
    ]);
  return key;
}

export function pageOf<T>(rows: T[], limit: number, key: (t: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(key(items[items.length - 1])) : null };
}

/** Escapes LIKE wildcards so user text matches literally. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
