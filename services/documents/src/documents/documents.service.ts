import { Injectable } from '@nestjs/common';
import { badRequest, DomainError, hasRole, UnitOfWork, type Principal } from '@lienthong/common';
import {
  AuditActions,
  DOCUMENT_CHANGE_FIELDS,
  edxmlDocumentIdOf,
  Events,
  isClassified,
  type AttachmentRef,
  type DocumentChanges,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
  type STATUS_CODES,
} from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type {
  CreateDocumentDto,
  ListDocumentsQuery,
  RecallDto,
  StatusChangeDto,
  UpdateDocumentDto,
} from './documents.dto';
import type { AttachmentRow, DocumentRow } from './documents.entity';
import * as errors from './documents.errors';
import { DocumentsRepository, isUuid, type NewDocument } from './documents.repository';
import { documentView, vietnamYear } from './documents.view';
import { derivedUuid } from './event-ids';
import { GroupCommit, type InContext } from './group-commit';
import { OrganizationDirectory } from './organization-directory';
import { RecipientExpansion, type RecipientRule } from './recipient-expansion';
import { MAX_RECIPIENTS } from '../recipient-groups/recipient-groups.dto';
import { groupUnknown, tooManyRecipients } from '../recipient-groups/recipient-groups.errors';
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
    private readonly expansion: RecipientExpansion,
  ) {}

  /**
   * Registrations of outgoing documents, group-committed: every registration of an office takes the same
   * register counter row, so one at a time they would serialise on its lock and each wait for its own commit.
   * A batch takes its numbers with one counter update per office (consecutive, gap-free) and commits once.
   */
  private readonly registrations = new GroupCommit<
    { id: string; p: Principal; dto: CreateDocumentDto },
    DocumentRow
  >((items, contexts) => this.register(items, contexts));

  private register(
    items: { id: string; p: Principal; dto: CreateDocumentDto }[],
    contexts: InContext[],
  ): Promise<DocumentRow[]> {
    return this.uow.run(async (tx) => {
      // The outgoing register number is taken at registration, so classified (paper-only) documents are
      // numbered in the same register.
      const year = vietnamYear();
      const counts = new Map<string, number>();
      for (const { p } of items) counts.set(p.organizationCode, (counts.get(p.organizationCode) ?? 0) + 1);
      const next = await this.repo.allocateNumbers(tx.manager, year, 'outgoing', counts);
      const rows: NewDocument[] = items.map(({ id, p, dto }, i) => {
        const n = next.get(p.organizationCode)!;
        next.set(p.organizationCode, n + 1);
        contexts[i](() =>
          tx.audit({
            action: AuditActions.documentCreated,
            actor: p,
            resource: resource(id),
            details: {
              direction: 'outgoing',
              secrecy: dto.secrecy,
              registerYear: year,
              outgoingNumber: n,
              ...(dto.replaces ? { replaces: dto.replaces } : {}),
            },
          }),
        );
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
          recipients: dto.recipients ?? [],
          recipientRules: rulesOf(dto),
          recipientGroups: (dto.recipientGroups ?? []).map((g) => g.toLowerCase()),
          state: 'draft',
          registerYear: year,
          registerNumber: n,
          createdBy: p.sub,
        };
      });
      const stored = await this.repo.insertMany(tx.manager, rows);
      const replacing = items
        .filter((i) => i.dto.replaces)
        .map((i) => ({ id: i.id, replacesId: i.dto.replaces! }));
      await this.repo.setReplaces(tx.manager, replacing);
      for (const r of replacing) stored.get(r.id)!.replaces_id = r.replacesId;
      return items.map((i) => stored.get(i.id)!);
    });
  }

  /**
   * Sends, group-committed: concurrent sends are applied in one transaction. A send that only lists
   * organizations (the common case) is read, checked and written inside the batch: one statement reads every
   * such document of the batch with its attachments and the recipients the directory lacks; a document that is
   * ready (an outgoing unclassified draft whose listed recipients are all live organizations) is sent, any other
   * comes back `slow` and its request takes the full path (checks with their audited refusals, rules and groups
   * expanded, identity asked about unknown codes), then joins a later batch with what it read. Written: the
   * drafts moved to `sent` with one UPDATE, the recipient rows with one INSERT, every send's event and audit
   * record with the transaction's one outbox INSERT. A document no longer a draft fails alone (409, as before).
   */
  private readonly sends = new GroupCommit<SendRequest, SendOutcome>((requests, contexts) =>
    this.writeSends(requests, contexts),
  );

  private writeSends(requests: SendRequest[], contexts: InContext[]): Promise<SendOutcome[]> {
    return this.uow.run(async (tx) => {
      const out: SendOutcome[] = new Array<SendOutcome>(requests.length);
      const unread = requests.filter((r): r is { p: Principal; id: string } => !('d' in r));
      const found = await this.repo.findForSendMany(
        tx.manager,
        unread
          .filter((r) => isUuid(r.id))
          .map((r) => ({ id: r.id, organizationCode: r.p.organizationCode, cleared: isCleared(r.p) })),
      );
      const items: (SendItem & { k: number })[] = [];
      const inBatch = new Set<string>();
      requests.forEach((r, k) => {
        let item: SendItem | undefined;
        if ('d' in r) item = r;
        else {
          const f = found.get(r.id);
          // Found for this caller: its own organization's, and classified only with `cleared`.
          const mine =
            f?.organization_code === r.p.organizationCode && (isCleared(r.p) || f.secrecy === 'none');
          const recipients = mine && readyToSend(f, r.p.organizationCode);
          if (!f || !recipients) {
            out[k] = { slow: true };
            return;
          }
          const { attachments_json: attachments, not_known: _notKnown, ...d } = f;
          item = { p: r.p, d, recipients, attachments };
        }
        // The same document twice in one batch: the second is the one that finds it sent.
        if (inBatch.has(item.d.id)) {
          out[k] = { error: errors.alreadySent() };
          return;
        }
        inBatch.add(item.d.id);
        items.push({ ...item, k });
      });
      const locked = await this.repo.markSentMany(
        tx.manager,
        items.map((i) => ({ id: i.d.id, recipients: i.recipients })),
      );
      await this.repo.insertRecipientsMany(
        tx.manager,
        [...locked.values()].map((r) => ({ id: r.id, codes: r.recipients })),
      );
      for (const { p, d, attachments, k } of items) {
        const sent = locked.get(d.id);
        if (!sent) {
          out[k] = { error: errors.alreadySent() };
          continue;
        }
        out[k] = { recipients: sent.recipients };
        const id = d.id;
        // A replacement (business type 3) names the document it replaces; the sender's earlier one is linked now.
        const earlier = sent.replaces_id
          ? await this.repo.findById(tx.manager, sent.replaces_id, true)
          : null;
        const event = sendEvent(sent, attachments, earlier ? 3 : 0);
        if (earlier) {
          event.replaces = { sourceDocumentId: earlier.id, edxmlDocumentId: edxmlIdOf(earlier) };
          await this.repo.linkReplacement(tx.manager, earlier.id, id, {
            businessType: 3,
            at: new Date().toISOString(),
          });
        }
        contexts[k](() => {
          if (earlier)
            tx.audit({
              action: AuditActions.documentReplaced,
              actor: p,
              resource: resource(earlier.id),
              details: { replacedBy: id },
            });
          tx.emit(Events.documentSendRequested, event, { id });
          tx.audit({
            action: AuditActions.documentSent,
            actor: p,
            resource: resource(id),
            details: {
              ...(sent.recipients.length <= RECIPIENTS_IN_VIEW
                ? { recipients: sent.recipients }
                : {
                    recipients: sent.recipients.slice(0, RECIPIENTS_IN_VIEW),
                    recipientCount: sent.recipients.length,
                  }),
              ...(d.recipient_rules.length ? { recipientRules: d.recipient_rules } : {}),
              ...(d.recipient_groups.length ? { recipientGroups: d.recipient_groups } : {}),
              attachments: attachments.length,
            },
          });
        });
      }
      return out;
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
    if (dto.recipients?.includes(p.organizationCode)) {
      throw badRequest('VALIDATION_FAILED', 'Invalid input: recipients', [
        { field: 'recipients', errors: ['a document is not sent to its own organization'] },
      ]);
    }
    await this.checkAddressing(p, dto);
    if (dto.replaces) dto = await this.checkReplaces(p, dto);
    const id = randomUUID();
    const year = vietnamYear();
    const created = await this.registrations.submit({ id, p, dto }).catch(async (e: unknown) => {
      if (dto.replaces && isUniqueViolation(e, [errors.REPLACES_UNIQUE_INDEX])) {
        await this.recordRefusal(p, AuditActions.documentCreated, id, {
          reason: 'DOCUMENT_ALREADY_REPLACED',
          replaces: dto.replaces,
        });
        throw errors.alreadyReplaced();
      }
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
    // The registering clerk gets the record back (as stored) even when it is classified (they just typed it
    // in). A new draft has no recipient rows and no attachments yet.
    return {
      ...documentView({ ...created, recipients: created.recipients.slice(0, RECIPIENTS_IN_VIEW) }, [], []),
      recipientCounts: { total: created.recipients.length, draft: created.recipients.length },
    };
  }

  /**
   * A replacement (business type 3) names an outgoing document of the caller's office that was sent and has no
   * replacement yet (the unique index settles a race). An empty recipient list takes the earlier one's.
   */
  private async checkReplaces(p: Principal, dto: CreateDocumentDto): Promise<CreateDocumentDto> {
    const m = this.ds.manager;
    const earlier = await this.repo.findVisible(m, dto.replaces!, p.organizationCode, isCleared(p));
    let error: DomainError | undefined;
    if (!earlier || earlier.direction !== 'outgoing') error = errors.replacedUnknown();
    else if (!earlier.sent_at) error = errors.replacedNotSent();
    else if (earlier.replaced_by_id || (await this.repo.replacementOf(m, earlier.id)))
      error = errors.alreadyReplaced();
    if (error) {
      await this.recordRefusal(p, AuditActions.documentCreated, dto.replaces!, {
        reason: error.code,
        replaces: dto.replaces,
      });
      throw error;
    }
    if ((dto.recipients?.length ?? 0) > 0 || dto.recipientRules?.length || dto.recipientGroups?.length)
      return dto;
    return { ...dto, recipients: earlier!.recipients.filter((c) => c !== p.organizationCode) };
  }

  /**
   * Rules must start under organizations the directory knows and groups must be the caller's own; both are
   * expanded only at send time (the directory and the groups may change until then).
   */
  private async checkAddressing(p: Principal, dto: CreateDocumentDto): Promise<void> {
    const unders = [...new Set((dto.recipientRules ?? []).map((r) => r.under))];
    const missing = await this.directory.missing(unders);
    if (missing.length > 0) throw errors.recipientUnknown(missing, 'recipientRules');
    const unknownGroups = await this.expansion.notOwnGroups(
      this.ds.manager,
      p.organizationCode,
      dto.recipientGroups ?? [],
    );
    if (unknownGroups.length > 0) throw groupUnknown(unknownGroups);
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
    // Read, checked and written in the batch when the document is ready to go (see `sends`).
    const fast = await this.sends.submit({ p, id });
    if ('error' in fast) throw fast.error;
    if ('recipients' in fast) return sendAnswer(id, fast.recipients);
    // One statement reads the document, its attachments and which listed recipients the directory lacks.
    const found = await this.repo.findForSend(this.ds.manager, id, p.organizationCode, isCleared(p));
    if (!found) throw errors.documentNotFound();
    const { attachments_json: attachments, not_known: notKnown, ...d } = found;
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
    // Rules and groups are expanded now, from the directory and the groups as they are at this moment; the
    // expansion is what the document is stored and sent with.
    const refuse = async (e: DomainError, details: Record<string, unknown>) => {
      await this.recordRefusal(p, AuditActions.documentSendRefused, id, { reason: e.code, ...details });
      return e;
    };
    const unknownGroups = await this.expansion.notOwnGroups(
      this.ds.manager,
      p.organizationCode,
      d.recipient_groups,
    );
    if (unknownGroups.length > 0)
      throw await refuse(groupUnknown(unknownGroups), { recipientGroups: unknownGroups });
    const expanded = await this.expansion.expand(
      this.ds.manager,
      p.organizationCode,
      d.recipients,
      d.recipient_rules as RecipientRule[],
      d.recipient_groups,
    );
    const recipients = expanded.recipients;
    if (recipients.length === 0) throw errors.noRecipients();
    if (recipients.length > MAX_RECIPIENTS)
      throw await refuse(tooManyRecipients(recipients.length, MAX_RECIPIENTS), {
        recipientCount: recipients.length,
      });
    // Codes from rules come from the directory itself; listed ones (explicit or group members) are checked.
    // Only explicit codes (the common case): the read above already named the ones the directory lacks, and
    // only those are asked again (an organization never heard of is looked up at identity).
    const onlyExplicit = d.recipient_rules.length === 0 && d.recipient_groups.length === 0;
    const unknown = new Set(notKnown);
    const missing = await this.directory.missing(
      onlyExplicit ? expanded.listedOnly.filter((c) => unknown.has(c)) : expanded.listedOnly,
    );
    if (missing.length > 0) {
      await this.recordRefusal(p, AuditActions.documentSendRefused, id, {
        reason: 'RECIPIENT_UNKNOWN',
        recipients: missing.slice(0, RECIPIENTS_IN_VIEW),
      });
      throw errors.recipientUnknown(missing);
    }
    // Attachment bytes are already in the object store: AttachmentsService.upload put them there.
    const written = await this.sends.submit({ p, d, recipients, attachments });
    if ('error' in written) throw written.error;
    return sendAnswer(id, recipients);
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
      await this.repo.appendHistory(m, id, {
        businessType: 1,
        at: new Date().toISOString(),
        reason: dto.reason,
      });
      // Each recipient shows 13 until it answers 15 (agreed) or 16 (refused, already completed).
      await this.repo.markRecipientsRecalled(m, id, dto.reason);
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

  /**
   * An update (business type 2) of a sent document: the sender's record takes the new values and a history
   * entry, and every recipient gets a type-2 message (their copies follow when it arrives). 202 with the view.
   */
  async update(p: Principal, id: string, dto: UpdateDocumentDto) {
    const changes = changesOf(dto);
    const result = await this.uow
      .run(async (tx) => {
        const m = tx.manager;
        const d = await this.repo.findVisible(m, id, p.organizationCode, isCleared(p), true);
        if (!d) return { error: errors.documentNotFound() };
        if (d.direction !== 'outgoing')
          return { error: errors.wrongDirection('Only the sender updates a document') };
        if (d.state !== 'sent') return { error: errors.notSentForUpdate() };
        const promulgationDate = changes.promulgationDate ?? d.promulgation_date;
        const dueDate = changes.dueDate !== undefined ? changes.dueDate : d.due_date;
        if (dueDate && dueDate < promulgationDate)
          return {
            error: badRequest('VALIDATION_FAILED', 'Invalid input: changes.dueDate', [
              { field: 'changes.dueDate', errors: ['dueDate must not be before promulgationDate'] },
            ]),
          };
        const updateId = randomUUID();
        const at = new Date().toISOString();
        const edxmlDocumentId = edxmlIdOf(d);
        await this.repo.applyUpdate(
          m,
          id,
          changes,
          { businessType: 2, at, reason: dto.reason, changes },
          edxmlDocumentId,
        );
        const updated = (await this.repo.findById(m, id))!;
        const attachments = await this.repo.attachments(m, [id]);
        tx.emit(
          Events.documentSendRequested,
          {
            ...sendEvent(updated, attachments, 2),
            reason: dto.reason,
            changes,
            edxmlDocumentId,
            businessKey: updateId,
          },
          { id: derivedUuid(`${id}:update:${updateId}`) },
        );
        tx.audit({
          action: AuditActions.documentUpdated,
          actor: p,
          resource: resource(id),
          details: { reason: dto.reason, changes, updateId },
        });
        return { ok: true };
      })
      .catch((e: unknown) => {
        // A new promulgation date that makes the edXML DocumentId of another document of this office.
        if (isUniqueViolation(e, errors.NUMBER_UNIQUE_INDEXES)) return { error: errors.documentIdTaken() };
        throw e;
      });
    if ('error' in result && result.error) {
      await this.recordRefusal(p, AuditActions.documentUpdated, id, { reason: result.error.code });
      throw result.error;
    }
    return this.get(p, id);
  }
}

/** A send checked by its request and waiting for its group commit. */
interface SendItem {
  p: Principal;
  d: DocumentRow;
  recipients: string[];
  attachments: AttachmentRow[];
}

/** A send for the batch to read and check itself, or one its request checked already. */
type SendRequest = { p: Principal; id: string } | SendItem;
/** Sent (to these recipients), refused, or to be checked by its request (`slow`). */
type SendOutcome = { recipients: string[] } | { error: DomainError } | { slow: true };

/**
 * The recipients of a document that may be sent without further checks: an outgoing, unclassified draft that
 * lists only organizations (no rules, no groups), all of them live in the directory, at most MAX_RECIPIENTS.
 * Anything else (including every refusal) is left to the full path of `send`.
 */
function readyToSend(f: DocumentRow & { not_known: string[] }, sender: string): string[] | undefined {
  if (f.direction !== 'outgoing' || isClassified(f.secrecy) || f.state !== 'draft') return undefined;
  if (f.recipient_rules.length > 0 || f.recipient_groups.length > 0 || f.not_known.length > 0)
    return undefined;
  // As RecipientExpansion.expand does for listed codes only.
  const recipients = [...new Set(f.recipients.filter((c) => c !== sender))];
  if (recipients.length === 0 || recipients.length > MAX_RECIPIENTS) return undefined;
  return recipients;
}

function sendAnswer(id: string, recipients: string[]) {
  return {
    id,
    recipients: recipients.map((organizationCode) => ({ organizationCode, status: 'queued' as const })),
  };
}

/** The rules as stored: only the keys given. */
function rulesOf(dto: CreateDocumentDto): RecipientRule[] {
  return (dto.recipientRules ?? []).map((r) => ({
    under: r.under,
    ...(r.level ? { level: r.level } : {}),
    ...(r.sector ? { sector: r.sector } : {}),
  }));
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
  businessType: 0 | 1 | 2 | 3,
): DocumentSendRequestedEvent {
  return {
    documentId: d.id,
    fromOrganizationCode: d.organization_code,
    recipients: d.recipients,
    businessType,
    ...(d.direction === 'outgoing' && d.edxml_document_id ? { edxmlDocumentId: d.edxml_document_id } : {}),
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

/** The changes of an update request, only the fields given (at least one, else 400). */
function changesOf(dto: UpdateDocumentDto): DocumentChanges {
  const changes: DocumentChanges = {};
  const given = dto.changes as unknown as Record<string, unknown>;
  for (const field of DOCUMENT_CHANGE_FIELDS)
    if (given[field] !== undefined) (changes as Record<string, unknown>)[field] = given[field];
  if (changes.signer) changes.signer = { ...changes.signer };
  if (Object.keys(changes).length === 0)
    throw badRequest('VALIDATION_FAILED', 'Invalid input: changes', [
      { field: 'changes', errors: [`at least one of ${DOCUMENT_CHANGE_FIELDS.join(', ')} is changed`] },
    ]);
  return changes;
}

/** The edXML DocumentId recipients know an outgoing document by (kept at its first update). */
function edxmlIdOf(d: DocumentRow): string {
  return (
    d.edxml_document_id ?? edxmlDocumentIdOf(d.organization_code, d.promulgation_date, d.number, d.notation)
  );
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
