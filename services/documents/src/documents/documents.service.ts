import { Injectable } from '@nestjs/common';
import { badRequest, hasRole, UnitOfWork, type Principal } from '@lienthong/common';
import {
  AuditActions,
  Events,
  isClassified,
  type AttachmentRef,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
  type STATUS_CODES,
} from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { CreateDocumentDto, ListDocumentsQuery, RecallDto, StatusChangeDto } from './documents.dto';
import type { AttachmentRow, DocumentRow } from './documents.entity';
import * as errors from './documents.errors';
import { DocumentsRepository, type NewDocument } from './documents.repository';
import { documentView, vietnamYear } from './documents.view';
import { derivedUuid } from './event-ids';
import { GroupCommit } from './group-commit';
import { OrganizationDirectory } from './organization-directory';
import { canTransition, statusCode } from './status-machine';

const isCleared = (p: Principal) => hasRole(p, 'cleared');
/** Recipients listed in a document's own view; `GET /documents/{id}/recipients` pages the rest (API.md). */
export const RECIPIENTS_IN_VIEW = 500;
const resource = (id: string) => ({ type: 'document', id });

@Injectable()
export class DocumentsService {
  constructor(
    private readonly repo: DocumentsRepository,
    private readonly directory: OrganizationDirectory,
    private readonly uow: UnitOfWork,
  ) {}

  /**
   * Registrations of outgoing documents, group-committed: every registration of an office takes the same
   * register counter row, so one at a time they would serialise on its lock and each wait for its own commit.
   * A batch takes its numbers with one counter update per office (consecutive, gap-free) and commits once.
   */
  private readonly registrations = new GroupCommit<
    { id: string; p: Principal; dto: CreateDocumentDto },
    number
  >((items) => this.register(items));

  private register(items: { id: string; p: Principal; dto: CreateDocumentDto }[]): Promise<number[]> {
    return this.uow.run(async (tx) => {
      // The outgoing register number is taken at registration, so classified (paper-only) documents are
      // numbered in the same register.
      const year = vietnamYear();
      const counts = new Map<string, number>();
      for (const { p } of items) counts.set(p.organizationCode, (counts.get(p.organizationCode) ?? 0) + 1);
      const next = await this.repo.allocateNumbers(tx.manager, year, 'outgoing', counts);
      const numbers: number[] = [];
      const rows: NewDocument[] = items.map(({ id, p, dto }) => {
        const n = next.get(p.organizationCode)!;
        next.set(p.organizationCode, n + 1);
        numbers.push(n);
        tx.audit({
          action: AuditActions.documentCreated,
          actor: p,
          resource: resource(id),
          details: { direction: 'outgoing', secrecy: dto.secrecy, registerYear: year, outgoingNumber: n },
        });
        return {
          id,
          organizationCode: p.organizationCode,
          direction: 'outgoing',
          number: dto.number,
          notation: dto.notation,
          type: dto.type,
          typeName: dto.typeName,
          subject: dto.subject,
          content: dto.content,
          promulgationPlace: dto.promulgationPlace,
          promulgationDate: dto.promulgationDate,
          signer: dto.signer,
          secrecy: dto.secrecy,
          urgency: dto.urgency,
          steering: dto.steering ?? false,
          dueDate: dto.dueDate,
          recipients: dto.recipients,
          state: 'draft',
          registerYear: year,
          registerNumber: n,
          createdBy: p.sub,
        };
      });
      await this.repo.insertMany(tx.manager, rows);
      return numbers;
    });
  }

  private get ds() {
    return this.repo.dataSource;
  }

  /** A refused attempt is recorded in its own committed transaction (the refusal itself changes nothing). */
  async recordRefusal(
    p: Principal,
    action: string,
    id: string,
    details: Record<string, unknown>,
    outcome: 'denied' | 'failure' = 'denied',
  ) {
    await this.uow.run(async (tx) =>
      tx.audit({ action, actor: p, resource: resource(id), outcome, details }),
    );
  }

  async create(p: Principal, dto: CreateDocumentDto) {
    if (dto.dueDate && dto.dueDate < dto.promulgationDate) {
      throw badRequest('VALIDATION_FAILED', 'Invalid input: dueDate', [
        { field: 'dueDate', errors: ['dueDate must not be before promulgationDate'] },
      ]);
    }
    if (dto.recipients.includes(p.organizationCode)) {
      throw badRequest('VALIDATION_FAILED', 'Invalid input: recipients', [
        { field: 'recipients', errors: ['a document is not sent to its own organization'] },
      ]);
    }
    const id = randomUUID();
    const year = vietnamYear();
    await this.registrations.submit({ id, p, dto }).catch(async (e: unknown) => {
      // A second registration of a number and notation (a race included) fails on the unique index; the group
      // commit retries a failed batch one by one, so only the duplicate gets this error.
      if (!isUniqueViolation(e, errors.NUMBER_UNIQUE_INDEXES)) throw e;
      await this.recordRefusal(p, AuditActions.documentCreated, id, {
        reason: 'DOCUMENT_NUMBER_TAKEN',
        number: dto.number,
        notation: dto.notation,
        registerYear: year,
      });
      throw errors.numberTaken(dto.number, dto.notation, year);
    });
    // The registering clerk gets the record back even when it is classified (they just typed it in).
    const created = await this.repo.findById(this.ds.manager, id);
    // A new draft has no recipient rows and no attachments yet.
    return {
      ...documentView({ ...created!, recipients: created!.recipients.slice(0, RECIPIENTS_IN_VIEW) }, [], []),
      recipientCounts: { total: created!.recipients.length, draft: created!.recipients.length },
    };
  }

  async get(p: Principal, id: string) {
    const m = this.ds.manager;
    const d = await this.repo.findVisible(m, id, await this.directory.readableBy(p), isCleared(p));
    if (!d) throw errors.documentNotFound();
    return this.view(m, d);
  }

  /** A read of a document's content by its reader (REST and gRPC): the view, and an audit event (13.10). */
  async read(p: Principal, id: string) {
    const view = await this.get(p, id);
    await this.uow.run(async (tx) =>
      tx.audit({
        action: AuditActions.documentRead,
        actor: p,
        resource: resource(id),
        details: { direction: view.direction, secrecy: view.secrecy },
      }),
    );
    return view;
  }

  /**
   * One document. An outgoing one lists its first RECIPIENTS_IN_VIEW recipients and counts all of them by
   * status (`recipientCounts`); `GET /documents/{id}/recipients` pages the whole list.
   */
  private async view(m: EntityManager, d: DocumentRow) {
    const head = d.recipients.slice(0, RECIPIENTS_IN_VIEW);
    const [recipients, attachments, counts] = await Promise.all([
      this.repo.recipientsOf(m, d.id, head),
      this.repo.attachments(m, [d.id]),
      d.direction === 'outgoing' ? this.repo.recipientCounts(m, d.id) : Promise.resolve(undefined),
    ]);
    const view = documentView({ ...d, recipients: head }, recipients, attachments);
    if (!counts) return view;
    const recipientCounts: Record<string, number> = { total: d.recipients.length };
    if (counts.size === 0 && d.recipients.length) recipientCounts.draft = d.recipients.length;
    for (const [status, n] of counts) recipientCounts[status] = n;
    return { ...view, recipientCounts };
  }

  /** `GET /documents/{id}/recipients`: the whole recipient list, by organization code, a page at a time. */
  async recipientsPage(p: Principal, id: string, q: { limit?: number; cursor?: string }) {
    const m = this.ds.manager;
    const d = await this.repo.findVisible(m, id, await this.directory.readableBy(p), isCleared(p));
    if (!d || d.direction !== 'outgoing') throw errors.documentNotFound();
    const limit = q.limit ?? 50;
    const after = q.cursor ? decodeCodeCursor(q.cursor) : undefined;
    const codes = [...d.recipients].sort().filter((c) => after === undefined || c > after);
    const page = codes.slice(0, limit);
    const rows = new Map((await this.repo.recipientsOf(m, d.id, page)).map((r) => [r.organization_code, r]));
    const items = page.map((code) => {
      const r = rows.get(code);
      if (!r) return { organizationCode: code, status: 'draft', updatedAt: d.updated_at };
      return {
        organizationCode: code,
        status: r.status,
        ...(r.status_code ? { statusCode: r.status_code } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        updatedAt: r.updated_at,
      };
    });
    const last = page[page.length - 1];
    return {
      items,
      nextCursor: codes.length > limit && last ? Buffer.from(last).toString('base64url') : null,
    };
  }

  async list(p: Principal, q: ListDocumentsQuery) {
    const limit = q.limit ?? 50;
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await this.repo.list(this.ds.manager, {
      organizationCodes: await this.directory.readableBy(p),
      cleared: isCleared(p),
      direction: q.direction,
      status: q.status,
      q: q.q,
      from: q.from,
      to: q.to,
      limit: limit + 1,
      after,
    });
    // A long recipient list is cut in lists as in the single view (see view()).
    const page = rows
      .slice(0, limit)
      .map((d) => ({ ...d, recipients: d.recipients.slice(0, RECIPIENTS_IN_VIEW) }));
    const ids = page.map((r) => r.id);
    const [recipients, attachments] = await Promise.all([
      this.repo.recipientsHead(
        this.ds.manager,
        page.map((d) => ({ id: d.id, codes: d.recipients })),
      ),
      this.repo.attachments(this.ds.manager, ids),
    ]);
    // Grouped once (a page of 500 documents with their recipients: filtering per document was quadratic).
    const byDocument = <R extends { document_id: string }>(rows: R[]) => {
      const m = new Map<string, R[]>();
      for (const r of rows) {
        const list = m.get(r.document_id);
        if (list) list.push(r);
        else m.set(r.document_id, [r]);
      }
      return m;
    };
    const recipientsOf = byDocument(recipients);
    const attachmentsOf = byDocument(attachments);
    const items = page.map((d) =>
      documentView(d, recipientsOf.get(d.id) ?? [], attachmentsOf.get(d.id) ?? []),
    );
    const last = page[page.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.page_ts, last.id) : null };
  }

  async send(p: Principal, id: string) {
    const d = await this.repo.findVisible(this.ds.manager, id, p.organizationCode, isCleared(p));
    if (!d) throw errors.documentNotFound();
    if (d.direction !== 'outgoing') throw errors.wrongDirection('Only outgoing documents are sent');
    if (isClassified(d.secrecy)) {
      await this.recordRefusal(p, AuditActions.documentSendRefused, id, {
        reason: 'DOCUMENT_CLASSIFIED',
        secrecy: d.secrecy,
      });
      throw errors.documentClassified();
    }
    if (d.state !== 'draft') {
      await this.recordRefusal(p, AuditActions.documentSendRefused, id, { reason: 'DOCUMENT_ALREADY_SENT' });
      throw errors.alreadySent();
    }
    if (d.recipients.length === 0) throw errors.noRecipients();
    const missing = await this.directory.missing(d.recipients);
    if (missing.length > 0) {
      await this.recordRefusal(p, AuditActions.documentSendRefused, id, {
        reason: 'RECIPIENT_UNKNOWN',
        recipients: missing,
      });
      throw errors.recipientUnknown(missing);
    }
    // Attachment bytes are already in the object store: AttachmentsService.upload put them there.
    const attachments = await this.repo.attachments(this.ds.manager, [id]);

    await this.uow.run(async (tx) => {
      const locked = await this.repo.markSent(tx.manager, id);
      if (!locked) throw errors.alreadySent();
      await this.repo.insertRecipients(tx.manager, id, locked.recipients);
      tx.emit(Events.documentSendRequested, sendEvent(locked, attachments, 0), { id });
      tx.audit({
        action: AuditActions.documentSent,
        actor: p,
        resource: resource(id),
        details: {
          ...(locked.recipients.length <= RECIPIENTS_IN_VIEW
            ? { recipients: locked.recipients }
            : {
                recipients: locked.recipients.slice(0, RECIPIENTS_IN_VIEW),
                recipientCount: locked.recipients.length,
              }),
          attachments: attachments.length,
        },
      });
    });
    return {
      id,
      recipients: d.recipients.map((organizationCode) => ({ organizationCode, status: 'queued' as const })),
    };
  }

  async changeStatus(p: Principal, id: string, dto: StatusChangeDto) {
    const refused = async (reason: string) =>
      this.recordRefusal(p, AuditActions.documentStatusRefused, id, { reason, requested: dto.status });
    const result = await this.uow.run(async (tx) => {
      const m = tx.manager;
      const d = await this.repo.findVisible(m, id, p.organizationCode, isCleared(p), true);
      if (!d) return { error: errors.documentNotFound() };
      if (d.direction !== 'incoming')
        return { error: errors.wrongDirection('Only the receiver changes the status of a document') };
      if (!canTransition(d.state, dto.status)) return { error: errors.statusTransition(d.state, dto.status) };
      const code = statusCode(dto.status);
      await this.repo.setState(m, id, {
        state: dto.status,
        statusCode: code,
        reason: dto.reason ?? null,
        assignee: dto.assignee ?? null,
        completed: dto.status === 'completed',
      });
      const event: DocumentStatusEvent = {
        statusId: randomUUID(),
        sourceDocumentId: d.source_document_id ?? undefined,
        edxmlDocumentId: d.edxml_document_id ?? undefined,
        fromOrganizationCode: d.organization_code,
        toOrganizationCode: d.from_organization_code!,
        status: dto.status as keyof typeof STATUS_CODES,
        statusCode: code!,
        ...(dto.reason ? { reason: dto.reason } : {}),
        at: new Date().toISOString(),
      };
      tx.emit(Events.documentStatusChanged, event, { id: event.statusId });
      tx.audit({
        action: AuditActions.documentStatusChanged,
        actor: p,
        resource: resource(id),
        details: {
          from: d.state,
          to: dto.status,
          statusCode: code,
          ...(dto.assignee ? { assignee: dto.assignee } : {}),
        },
      });
      return { ok: true };
    });
    if ('error' in result && result.error) {
      await refused(result.error.code);
      throw result.error;
    }
    return this.get(p, id);
  }

  async recall(p: Principal, id: string, dto: RecallDto) {
    const result = await this.uow.run(async (tx) => {
      const m = tx.manager;
      const d = await this.repo.findVisible(m, id, p.organizationCode, isCleared(p), true);
      if (!d) return { error: errors.documentNotFound() };
      if (d.direction !== 'outgoing')
        return { error: errors.wrongDirection('Only the sender recalls a document') };
      if (d.state !== 'sent') return { error: errors.notSent() };
      await this.repo.setState(m, id, { state: 'recalled', reason: dto.reason });
      const attachments = await this.repo.attachments(m, [id]);
      const event = { ...sendEvent(d, attachments, 1), reason: dto.reason };
      tx.emit(Events.documentRecallRequested, event, { id: derivedUuid(`${id}:recall`) });
      tx.audit({
        action: AuditActions.documentRecalled,
        actor: p,
        resource: resource(id),
        details: { reason: dto.reason },
      });
      return { ok: true };
    });
    if ('error' in result && result.error) {
      await this.recordRefusal(p, AuditActions.documentRecalled, id, { reason: result.error.code }, 'denied');
      throw result.error;
    }
    return this.get(p, id);
  }
}

export function attachmentRefs(rows: AttachmentRow[]): AttachmentRef[] {
  return rows.map((a) => ({
    id: a.id,
    name: a.name,
    contentType: a.content_type,
    size: Number(a.size),
    sha256: a.sha256,
    storageKey: a.sha256,
  }));
}

function sendEvent(
  d: DocumentRow,
  attachments: AttachmentRow[],
  businessType: 0 | 1,
): DocumentSendRequestedEvent {
  return {
    documentId: d.id,
    fromOrganizationCode: d.organization_code,
    recipients: d.recipients,
    businessType,
    document: {
      number: d.number,
      notation: d.notation,
      type: d.type,
      ...(d.type_name ? { typeName: d.type_name } : {}),
      subject: d.subject,
      ...(d.content != null ? { content: d.content } : {}),
      ...(d.promulgation_place ? { promulgationPlace: d.promulgation_place } : {}),
      promulgationDate: d.promulgation_date,
      signer: d.signer,
      secrecy: d.secrecy,
      urgency: d.urgency,
      steering: d.steering,
      dueDate: d.due_date,
    },
    attachments: attachmentRefs(attachments),
  };
}

function isUniqueViolation(e: unknown, constraints: string[]): boolean {
  const err = e as {
    code?: string;
    constraint?: string;
    driverError?: { code?: string; constraint?: string };
  };
  const d = err?.driverError ?? err;
  return d?.code === '23505' && constraints.includes(d?.constraint ?? '');
}

const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

function decodeCodeCursor(cursor: string): string {
  const code = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[0-9A-Z]+(\.[0-9A-Z]+)*$/.test(code) || code.length > 35)
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  return code;
}

function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (
      typeof ts !== 'string' ||
      !PG_TIMESTAMP.test(ts) ||
      typeof id !== 'string' ||
      !/^[0-9a-f-]{36}$/i.test(id)
    )
      throw new Error();
    return { ts, id };
  } catch {
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  }
}
