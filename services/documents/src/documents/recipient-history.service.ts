import { Injectable } from '@nestjs/common';
import { badRequest, hasRole, notFound, type Principal } from '@lienthong/common';
import * as errors from './documents.errors';
import { DocumentsRepository } from './documents.repository';
import { OrganizationDirectory } from './organization-directory';

export interface HistoryEntry {
  status: string;
  statusCode?: string;
  reason?: string;
  at: string;
}

/**
 * `GET /documents/{id}/recipients/{organizationCode}/history`: every status a recipient of an outgoing document
 * went through, oldest first. The first entry (`queued`, at the send) is the document's own `sent_at`; the
 * others are rows of `recipient_status_changes`, written by the statement that changed the status.
 */
@Injectable()
export class RecipientHistoryService {
  constructor(
    private readonly repo: DocumentsRepository,
    private readonly directory: OrganizationDirectory,
  ) {}

  async history(
    p: Principal,
    id: string,
    organizationCode: string,
    q: { limit?: number; cursor?: string },
  ): Promise<{ organizationCode: string; items: HistoryEntry[]; nextCursor: string | null }> {
    const m = this.repo.dataSource.manager;
    const d = await this.repo.findVisible(m, id, await this.directory.readableBy(p), hasRole(p, 'cleared'));
    if (!d || d.direction !== 'outgoing') throw errors.documentNotFound();
    if (!d.recipients.includes(organizationCode))
      throw notFound('RECIPIENT_NOT_FOUND', `${organizationCode} is not a recipient of this document`);
    const limit = q.limit ?? 100;
    const after = q.cursor === undefined ? 0 : decodeHistoryCursor(q.cursor);
    const rows = await this.repo.recipientHistory(m, d.id, organizationCode, after, limit + 1);
    const page = rows.slice(0, limit);
    const items: HistoryEntry[] = page.map((r) => ({
      status: r.status,
      ...(r.status_code ? { statusCode: r.status_code } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      at: new Date(r.at).toISOString(),
    }));
    if (after === 0 && d.sent_at) items.unshift({ status: 'queued', at: new Date(d.sent_at).toISOString() });
    return {
      organizationCode,
      items,
      nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null,
    };
  }
}

function decodeHistoryCursor(cursor: string): number {
  if (!/^[1-9][0-9]{0,17}$/.test(cursor))
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  return Number(cursor);
}
