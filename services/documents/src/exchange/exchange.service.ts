import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, OutboxService, ProcessedMessages, UnitOfWork } from '@lienthong/common';
import {
  AuditActions,
  Events,
  isClassified,
  STATUS_CODES,
  Subjects,
  DOCUMENT_CHANGE_FIELDS,
  type DeliveryRecipient,
  type DocumentChanges,
  type DocumentDeliveryEvent,
  type DocumentStatusEvent,
  type ExchangeStateEvent,
} from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AttachmentBusStore } from '../attachments/attachment-bus-store';
import { AttachmentsService } from '../attachments/attachments.service';
import { DocumentsRepository, isUuid } from '../documents/documents.repository';
import { vietnamYear } from '../documents/documents.view';
import { derivedUuid } from '../documents/event-ids';
import type { DocumentRow } from '../documents/documents.entity';
import { OrganizationFeed, type FeedEvent } from '../subscriptions/organization-feed';

export const CONSUMERS = {
  delivery: 'documents-delivery',
  status: 'documents-status',
  exchangeState: 'documents-exchange-state',
} as const;

/** Statuses per `document.status-changed-batch` message (~350 bytes each: well under NATS's 1 MB). */
const STATUS_BATCH = 1000;

/** Exchange states the bus reports and the per-recipient status they set on the sender's side. */
const EXCHANGE_STATE_TO_STATUS: Partial<Record<ExchangeStateEvent['state'], string>> = {
  sent: 'sent',
  failed: 'failed',
  dead: 'failed',
  expired: 'expired',
};
/** Transport states only move a recipient that has no receiver answer yet. */
const TRANSPORT_STATUSES = ['queued', 'sent', 'failed', 'expired'];

/** The fields of an update that differ between a recipient's copy and the new values. */
export function changedFields(d: DocumentRow, doc: DocumentDeliveryEvent['document']): DocumentChanges {
  const now: DocumentChanges = {
    subject: doc.subject,
    urgency: doc.urgency,
    dueDate: doc.dueDate ?? null,
    promulgationDate: doc.promulgationDate,
    signer: doc.signer,
  };
  const was: DocumentChanges = {
    subject: d.subject,
    urgency: d.urgency,
    dueDate: d.due_date,
    promulgationDate: d.promulgation_date,
    signer: d.signer,
  };
  const out: Record<string, unknown> = {};
  for (const f of DOCUMENT_CHANGE_FIELDS) {
    const a = f === 'signer' ? signerKey(now.signer) : now[f];
    const b = f === 'signer' ? signerKey(was.signer) : was[f];
    if (a !== b) out[f] = now[f];
  }
  return out as DocumentChanges;
}

const signerKey = (s?: { competence?: string; position?: string; fullName?: string }) =>
  JSON.stringify([s?.competence ?? '', s?.position ?? '', s?.fullName ?? '']);

export type DeliveryOutcome =
  { applied: false } | { applied: true; documentId?: string; arrivalNumber?: number };

/** The recipients of a delivery message (the one-recipient form of older messages included). */
export function deliveryRecipients(ev: DocumentDeliveryEvent): DeliveryRecipient[] {
  if (ev.recipients?.length) return ev.recipients;
  if (!ev.toOrganizationCode) return [];
  return [{ organizationCode: ev.toOrganizationCode, deliveryId: ev.deliveryId, exchangeId: ev.exchangeId }];
}

/** One delivery message narrowed to one recipient (recalls and refusals are handled per recipient). */
function forRecipient(ev: DocumentDeliveryEvent, r: DeliveryRecipient): DocumentDeliveryEvent {
  return { ...ev, deliveryId: r.deliveryId, toOrganizationCode: r.organizationCode, recipients: [r] };
}

type Inspected = Awaited<ReturnType<AttachmentsService['inspectStored']>>;
type Pending = { ev: DocumentDeliveryEvent; r: DeliveryRecipient; out: number };

/**
 * The bus's side of the exchange: deliveries become incoming documents with an arrival number, statuses
 * update the sender's per-recipient rows. Every apply* method claims its message id in its transaction,
 * so a redelivered event changes nothing twice; the JetStream ack follows the commit.
 */
@Injectable()
export class ExchangeService {
  private readonly logger = new Logger(ExchangeService.name);

  constructor(
    private readonly repo: DocumentsRepository,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
    private readonly processed: ProcessedMessages,
    private readonly busStore: AttachmentBusStore,
    private readonly attachments: AttachmentsService,
    private readonly uow: UnitOfWork,
    private readonly feed: OrganizationFeed,
  ) {}

  /** One delivery message (all of its recipients); the outcome of its first recipient. */
  async applyDelivery(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    const [first] = await this.applyDeliveries([ev]);
    return first ?? { applied: false };
  }

  /**
   * A batch of delivery messages in ONE transaction: claims every recipient's delivery id at once, takes the
   * arrival numbers with one counter update per organization register, inserts the incoming copies and their
   * attachment rows set-based, and — when the sender's outgoing document is in this service — moves the
   * sender's recipient rows to 01 in the same transaction (its status event then tells the bus so, and the
   * bus relays nothing back). Recalls and refused (classified) deliveries take the per-recipient path.
   * Returns one outcome per recipient, in order.
   */
  async applyDeliveries(events: DocumentDeliveryEvent[]): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let normal: Pending[] = [];
    for (const ev of events) {
      for (const r of deliveryRecipients(ev)) {
        if (ev.businessType === 1 || ev.businessType === 2 || isClassified(ev.document.secrecy)) {
          // In stream order: a recall or an update right after its document applies to the copy just made.
          if (normal.length > 0) await this.applyBatch(normal, outcomes);
          normal = [];
          outcomes.push(await this.applyOne(forRecipient(ev, r)));
        } else {
          normal.push({ ev, r, out: outcomes.length });
          outcomes.push({ applied: false });
        }
      }
    }
    if (normal.length > 0) await this.applyBatch(normal, outcomes);
    return outcomes;
  }

  /** New documents (and replacements) of a batch, set-based in one transaction; fills their outcomes. */
  private async applyBatch(normal: Pending[], outcomes: DeliveryOutcome[]): Promise<void> {
    // Bytes first (outside the transaction; content-addressed, so a retry just finds them), each distinct
    // file once per batch.
    const inspected = new Map<string, Promise<Inspected>>();
    for (const { ev } of normal)
      for (const a of ev.attachments) {
        const key = `${a.sha256}|${a.name}`;
        if (!inspected.has(key))
          inspected.set(
            key,
            this.busStore.fetch(a.sha256).then(() => this.attachments.inspectStored(a.sha256, a.name)),
          );
      }
    const files = new Map<string, Inspected>();
    for (const [key, p] of inspected) files.set(key, await p);

    const applied = await this.uow.run(async (tx) => {
      const fresh = await tx.claimMany(
        CONSUMERS.delivery,
        normal.map((x) => x.r.deliveryId),
      );
      // A delivery id listed twice in one batch is applied once.
      const todo = normal.filter((x) => fresh.delete(x.r.deliveryId));
      if (todo.length === 0) return [];
      const now = new Date();
      const at = now.toISOString();
      const year = vietnamYear(now);
      const counts = new Map<string, number>();
      for (const x of todo) counts.set(x.r.organizationCode, (counts.get(x.r.organizationCode) ?? 0) + 1);
      const next = await this.repo.allocateNumbers(tx.manager, year, 'incoming', counts);
      const docIndex = new Map<DocumentDeliveryEvent, number>();
      const copies = todo.map((x) => {
        let i = docIndex.get(x.ev);
        if (i === undefined) {
          i = docIndex.size;
          docIndex.set(x.ev, i);
        }
        const n = next.get(x.r.organizationCode)!;
        next.set(x.r.organizationCode, n + 1);
        return { ...x, id: randomUUID(), organizationCode: x.r.organizationCode, doc: i, number: n };
      });
      const documents = [...docIndex.keys()].map((ev) => ({
        ...ev.document,
        steering: ev.document.steering ?? false,
        fromOrganizationCode: ev.fromOrganizationCode,
        sourceDocumentId: ev.sourceDocumentId,
        edxmlDocumentId: ev.edxmlDocumentId,
      }));
      await this.repo.insertIncomingMany(
        tx.manager,
        documents,
        copies.map((c) => ({
          id: c.id,
          organizationCode: c.organizationCode,
          doc: c.doc,
          deliveryId: c.r.deliveryId,
          number: c.number,
        })),
        year,
        now,
        'integration-bus',
      );
      await this.repo.insertAttachmentsMany(
        tx.manager,
        copies.flatMap((c) =>
          c.ev.attachments.map((a) => {
            const f = files.get(`${a.sha256}|${a.name}`)!;
            return {
              id: randomUUID(),
              documentId: c.id,
              name: a.name,
              contentType: f.contentType,
              size: a.size,
              sha256: a.sha256,
              signature: f.signature,
              signatures: f.signatures,
            };
          }),
        ),
      );
      // The sender's side, when its outgoing document lives here.
      const senders = await this.repo.outgoingSenders(
        tx.manager,
        copies.map((c) => c.ev.sourceDocumentId),
      );
      const senderHere = (c: (typeof copies)[number]) =>
        senders.get(c.ev.sourceDocumentId) === c.ev.fromOrganizationCode;
      const changed = await this.repo.markArrivedMany(
        tx.manager,
        copies
          .filter(senderHere)
          .map((c) => ({ documentId: c.ev.sourceDocumentId, organizationCode: c.organizationCode })),
        now,
      );
      // The 01s the sender's rows already have go to the bus in one message; any other alone.
      const applied: DocumentStatusEvent[] = [];
      for (const c of copies) {
        const status: DocumentStatusEvent = {
          statusId: derivedUuid(`${c.r.deliveryId}:01`),
          sourceDocumentId: c.ev.sourceDocumentId,
          edxmlDocumentId: c.ev.edxmlDocumentId,
          fromOrganizationCode: c.organizationCode,
          toOrganizationCode: c.ev.fromOrganizationCode,
          status: 'arrived',
          statusCode: STATUS_CODES.arrived,
          at,
          ...(senderHere(c) ? { senderApplied: true } : {}),
        };
        if (status.senderApplied) applied.push(status);
        else tx.emit(Events.documentStatusChanged, status, { id: status.statusId });
        tx.audit({
          action: AuditActions.documentReceived,
          actor: { sub: 'integration-bus', organizationCode: c.organizationCode, type: 'system' },
          resource: { type: 'document', id: c.id },
          details: {
            deliveryId: c.r.deliveryId,
            from: c.ev.fromOrganizationCode,
            arrivalNumber: c.number,
            registerYear: year,
          },
        });
      }
      if (applied.length === 1)
        tx.emit(Events.documentStatusChanged, applied[0], { id: applied[0].statusId });
      else
        for (let i = 0; i < applied.length; i += STATUS_BATCH) {
          // In slices: a NATS message holds at most 1 MB (10,000 statuses are ~3.5 MB).
          const statuses = applied.slice(i, i + STATUS_BATCH);
          tx.emit(
            Events.documentStatusChangedBatch,
            { statuses },
            { id: derivedUuid(`batch:${statuses[0].statusId}:${statuses.length}`) },
          );
        }
      // The organizations' feeds (webhooks, Watch): each recipient's new copy, and the senders' 01s.
      await this.feed.record(tx.manager, [
        ...copies.map((c): FeedEvent => ({
          id: derivedUuid(`${c.r.deliveryId}:feed-incoming`),
          organizationCode: c.organizationCode,
          type: 'document.incoming',
          documentId: c.id,
          data: {
            fromOrganizationCode: c.ev.fromOrganizationCode,
            number: c.ev.document.number,
            notation: c.ev.document.notation,
            subject: c.ev.document.subject,
            arrivalNumber: c.number,
          },
        })),
        ...changed.map((r) =>
          statusFeedEvent(senders.get(r.document_id)!, r.document_id, r.organization_code, {
            status: 'arrived',
            statusCode: STATUS_CODES.arrived,
          }),
        ),
      ]);
      for (const r of changed)
        tx.audit({
          action: AuditActions.documentStatusChanged,
          actor: { sub: 'integration-bus', organizationCode: r.organization_code, type: 'system' },
          resource: { type: 'document', id: r.document_id },
          details: { recipient: r.organization_code, status: 'arrived', statusCode: STATUS_CODES.arrived },
        });
      // Replacements (business type 3): each new copy is linked with the recipient's own copy of the earlier one.
      const replaced: FeedEvent[] = [];
      for (const c of copies) {
        if (c.ev.businessType !== 3 || !c.ev.replaces) continue;
        const earlier = await this.ownCopy(
          tx.manager,
          c.organizationCode,
          c.ev.fromOrganizationCode,
          c.ev.replaces.sourceDocumentId,
          c.ev.replaces.edxmlDocumentId,
        );
        if (!earlier || earlier.replaced_by_id) continue;
        await this.repo.linkReplacement(tx.manager, earlier.id, c.id, {
          businessType: 3,
          at,
          ...(c.ev.reason ? { reason: c.ev.reason } : {}),
        });
        tx.audit({
          action: AuditActions.documentReplaced,
          actor: { sub: 'integration-bus', organizationCode: c.organizationCode, type: 'system' },
          resource: { type: 'document', id: earlier.id },
          details: { deliveryId: c.r.deliveryId, replacedBy: c.id },
        });
        replaced.push({
          id: derivedUuid(`${c.r.deliveryId}:replaced`),
          organizationCode: c.organizationCode,
          type: 'document.replaced',
          documentId: c.id,
          data: { replaces: earlier.id },
        });
      }
      await this.feed.record(tx.manager, replaced);
      return copies;
    });
    for (const c of applied) outcomes[c.out] = { applied: true, documentId: c.id, arrivalNumber: c.number };
  }

  /** One recipient of a recall or of a refused (classified) delivery. */
  private async applyOne(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    if (ev.businessType === 1) return this.applyRecall(ev);
    if (ev.businessType === 2) return this.applyUpdate(ev);
    if (isClassified(ev.document.secrecy)) {
      // Defence in depth: a classified document must never arrive electronically; it is not registered.
      this.logger.error(`refused classified delivery ${ev.deliveryId}`);
      await this.repo.dataSource.transaction(async (m) => {
        if (!(await this.processed.claim(m, CONSUMERS.delivery, ev.deliveryId))) return;
        await this.audit.record(m, {
          action: AuditActions.documentReceived,
          resource: { type: 'delivery', id: ev.deliveryId },
          outcome: 'denied',
          details: {
            reason: 'DOCUMENT_CLASSIFIED',
            to: ev.toOrganizationCode,
            from: ev.fromOrganizationCode,
          },
        });
      });
      return { applied: false };
    }
    return { applied: false };
  }

  /**
   * A recall (business type 1): the incoming copy becomes `recalled` (13) with a history entry, and the receiver
   * answers 15 (agreed), or 16 (refused) once it has completed the document.
   */
  private async applyRecall(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    const to = ev.toOrganizationCode ?? '';
    return this.uow.run(async (tx) => {
      const m = tx.manager;
      if (!(await tx.claim(CONSUMERS.delivery, ev.deliveryId))) return { applied: false as const };
      const d = await this.ownCopy(m, to, ev.fromOrganizationCode, ev.sourceDocumentId, ev.edxmlDocumentId);
      if (!d) {
        this.logger.warn(`recall ${ev.deliveryId} for a document ${to} never received`);
        return { applied: false as const };
      }
      const agree = d.state !== 'completed' && d.state !== 'recalled';
      const at = new Date().toISOString();
      if (d.state === 'completed') {
        // Refused (16): the copy stays completed, but the recipient is told as it is told an agreed recall —
        // a history entry marked `refused` and `document.recalled` with `refused: true` in its feed.
        await this.repo.appendHistory(m, d.id, {
          businessType: 1,
          at,
          ...(ev.reason ? { reason: ev.reason } : {}),
          refused: true,
        });
        await this.feed.record(m, [
          {
            id: derivedUuid(`${ev.deliveryId}:recall-refused`),
            organizationCode: to,
            type: 'document.recalled',
            documentId: d.id,
            data: { reason: ev.reason ?? null, refused: true, statusCode: STATUS_CODES['recall-refused'] },
          },
        ]);
      }
      if (agree) {
        await this.repo.setState(m, d.id, {
          state: 'recalled',
          statusCode: STATUS_CODES.recalled,
          reason: ev.reason ?? null,
        });
        await this.repo.appendHistory(m, d.id, {
          businessType: 1,
          at,
          ...(ev.reason ? { reason: ev.reason } : {}),
        });
        await this.feed.record(m, [
          {
            id: derivedUuid(`${ev.deliveryId}:recalled`),
            organizationCode: to,
            type: 'document.recalled',
            documentId: d.id,
            data: { reason: ev.reason ?? null },
          },
        ]);
      }
      const answer = agree ? 'recall-agreed' : 'recall-refused';
      const statusId = derivedUuid(`${ev.deliveryId}:${STATUS_CODES[answer]}`);
      tx.emit(
        Events.documentStatusChanged,
        {
          statusId,
          sourceDocumentId: ev.sourceDocumentId,
          edxmlDocumentId: ev.edxmlDocumentId,
          fromOrganizationCode: to,
          toOrganizationCode: ev.fromOrganizationCode,
          status: answer,
          statusCode: STATUS_CODES[answer],
          ...(agree ? {} : { reason: 'already completed' }),
          at,
        },
        { id: statusId },
      );
      tx.audit({
        action: AuditActions.documentRecalled,
        actor: { sub: 'integration-bus', organizationCode: to, type: 'system' },
        resource: { type: 'document', id: d.id },
        outcome: agree ? 'success' : 'denied',
        details: { deliveryId: ev.deliveryId, answer: STATUS_CODES[answer], reason: ev.reason },
      });
      return { applied: true as const, documentId: d.id };
    });
  }

  /**
   * An update (business type 2): the recipient's copy takes the new values (the changed fields named by the
   * sender, or — for a package from outside, which carries only the new values — those that differ from the
   * copy) and a history entry; the organization's feed tells `document.updated`.
   */
  private async applyUpdate(ev: DocumentDeliveryEvent): Promise<DeliveryOutcome> {
    const to = ev.toOrganizationCode ?? '';
    return this.uow.run(async (tx) => {
      const m = tx.manager;
      if (!(await tx.claim(CONSUMERS.delivery, ev.deliveryId))) return { applied: false as const };
      const d = await this.ownCopy(m, to, ev.fromOrganizationCode, ev.sourceDocumentId, ev.edxmlDocumentId);
      if (!d) {
        this.logger.warn(`update ${ev.deliveryId} for a document ${to} never received`);
        return { applied: false as const };
      }
      const changes = ev.changes ?? changedFields(d, ev.document);
      const at = new Date().toISOString();
      await this.repo.applyUpdate(m, d.id, changes, {
        businessType: 2,
        at,
        ...(ev.reason ? { reason: ev.reason } : {}),
        changes,
      });
      await this.feed.record(m, [
        {
          id: derivedUuid(`${ev.deliveryId}:updated`),
          organizationCode: to,
          type: 'document.updated',
          documentId: d.id,
          data: { changes, reason: ev.reason ?? null },
        },
      ]);
      tx.audit({
        action: AuditActions.documentUpdated,
        actor: { sub: 'integration-bus', organizationCode: to, type: 'system' },
        resource: { type: 'document', id: d.id },
        details: { deliveryId: ev.deliveryId, reason: ev.reason, changes },
      });
      return { applied: true as const, documentId: d.id };
    });
  }

  /** A recipient's own copy of a sender's document, by the sender's id or its edXML DocumentId. */
  private async ownCopy(
    m: EntityManager,
    to: string,
    from: string,
    sourceDocumentId: string,
    edxmlDocumentId?: string,
  ): Promise<DocumentRow | null> {
    const d = await this.repo.findIncomingBySource(m, to, from, sourceDocumentId);
    if (d || !edxmlDocumentId || edxmlDocumentId === sourceDocumentId) return d;
    return this.repo.findIncomingBySource(m, to, from, edxmlDocumentId);
  }

  private async emitStatus(m: EntityManager, ev: DocumentStatusEvent): Promise<void> {
    await this.outbox.add(m, {
      subject: Subjects.documentStatusChanged(),
      type: 'document.status-changed',
      data: ev,
      id: ev.statusId,
    });
  }

  /** A receiver's answer reaches the sender: update that recipient's row. */
  async applyStatus(ev: DocumentStatusEvent): Promise<boolean> {
    return (await this.applyStatuses([ev])) > 0;
  }

  /** A batch of receiver answers in one transaction (in order: a later answer for a row wins). */
  async applyStatuses(events: DocumentStatusEvent[]): Promise<number> {
    return this.uow.run(async (tx) => {
      const fresh = await tx.claimMany(
        CONSUMERS.status,
        events.map((e) => e.statusId),
      );
      const todo = events.filter((e) => fresh.delete(e.statusId));
      const senders = await this.repo.outgoingSenders(
        tx.manager,
        todo.map((e) => e.sourceDocumentId ?? ''),
      );
      let changedRows = 0;
      const told: FeedEvent[] = [];
      const known = todo.filter((ev): ev is DocumentStatusEvent & { sourceDocumentId: string } => {
        if (ev.sourceDocumentId && senders.get(ev.sourceDocumentId) === ev.toOrganizationCode) return true;
        this.logger.warn(`status ${ev.statusId} for an unknown outgoing document`);
        return false;
      });
      // Each row answered once in the batch (a drained backlog's 01s): one statement for all of them.
      // A row answered twice keeps the one-at-a-time order (a later answer for it wins).
      const rowsOnce =
        known.length > 1 &&
        new Set(known.map((ev) => `${ev.sourceDocumentId}|${ev.fromOrganizationCode}`)).size === known.length;
      const changedMany = rowsOnce
        ? await this.repo.updateRecipientsMany(
            tx.manager,
            known.map((ev) => ({
              documentId: ev.sourceDocumentId,
              organizationCode: ev.fromOrganizationCode,
              status: ev.status,
              statusCode: ev.statusCode,
              reason: ev.reason ?? null,
              at: ev.at,
            })),
          )
        : undefined;
      for (const [i, ev] of known.entries()) {
        const changed = changedMany
          ? changedMany.has(i)
          : await this.repo.updateRecipient(
              tx.manager,
              ev.sourceDocumentId,
              ev.fromOrganizationCode,
              ev.status,
              ev.statusCode,
              ev.reason ?? null,
              ev.at,
            );
        if (!changed) continue;
        changedRows++;
        told.push(
          statusFeedEvent(
            ev.toOrganizationCode,
            ev.sourceDocumentId,
            ev.fromOrganizationCode,
            { status: ev.status, statusCode: ev.statusCode, reason: ev.reason },
            ev.statusId,
          ),
        );
        tx.audit({
          action: AuditActions.documentStatusChanged,
          actor: { sub: 'integration-bus', organizationCode: ev.fromOrganizationCode, type: 'system' },
          resource: { type: 'document', id: ev.sourceDocumentId },
          details: { recipient: ev.fromOrganizationCode, status: ev.status, statusCode: ev.statusCode },
        });
      }
      await this.feed.record(tx.manager, told);
      return changedRows;
    });
  }

  async applyExchangeState(messageId: string, ev: ExchangeStateEvent): Promise<boolean> {
    return (await this.applyExchangeStates([{ messageId, ev }])) > 0;
  }

  /** Transport states of a batch of recipients, in one transaction. */
  async applyExchangeStates(items: { messageId: string; ev: ExchangeStateEvent }[]): Promise<number> {
    return this.uow.run(async (tx) => {
      const fresh = await tx.claimMany(
        CONSUMERS.exchangeState,
        items.map((i) => i.messageId),
      );
      let changedRows = 0;
      const moved: { messageId: string; ev: ExchangeStateEvent; status: string }[] = [];
      for (const { messageId, ev } of items) {
        if (!fresh.delete(messageId)) continue;
        const status = EXCHANGE_STATE_TO_STATUS[ev.state];
        if (!status || !isUuid(ev.documentId)) continue;
        const changed = await this.repo.updateRecipient(
          tx.manager,
          ev.documentId,
          ev.organizationCode,
          status,
          null,
          ev.error ?? null,
          ev.at,
          TRANSPORT_STATUSES,
        );
        if (changed) {
          changedRows++;
          moved.push({ messageId, ev, status });
        }
      }
      if (moved.length > 0) {
        // The sender's feed: transport states (sent, failed, expired) are status changes too.
        const senders = await this.repo.outgoingSenders(
          tx.manager,
          moved.map((x) => x.ev.documentId),
        );
        await this.feed.record(
          tx.manager,
          moved
            .filter((x) => senders.has(x.ev.documentId))
            .map((x) =>
              statusFeedEvent(
                senders.get(x.ev.documentId)!,
                x.ev.documentId,
                x.ev.organizationCode,
                { status: x.status, reason: x.ev.error },
                x.messageId,
              ),
            ),
        );
      }
      return changedRows;
    });
  }
}

/** `document.status` told to the sender's organization: one recipient's status on its outgoing document. */
function statusFeedEvent(
  senderCode: string,
  documentId: string,
  recipientCode: string,
  s: { status: string; statusCode?: string | null; reason?: string | null },
  cause?: string,
): FeedEvent {
  return {
    ...(cause ? { id: derivedUuid(`${cause}:feed-status`) } : {}),
    organizationCode: senderCode,
    type: 'document.status',
    documentId,
    data: {
      organizationCode: recipientCode,
      status: s.status,
      ...(s.statusCode ? { statusCode: s.statusCode } : {}),
      ...(s.reason ? { reason: s.reason } : {}),
    },
  };
}
