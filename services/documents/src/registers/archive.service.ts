import { Injectable, Logger } from '@nestjs/common';
import { AuditRecorder, hasRole, type Principal } from '@lienthong/common';
import { AuditActions, type ProvenEvent, type SignedCheckpoint } from '@lienthong/contracts';
import type { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import { AttachmentStorage } from '../attachments/attachment-storage';
import type { AttachmentRow, DocumentRow, RecipientRow } from '../documents/documents.entity';
import { documentView } from '../documents/documents.view';
import { archiveEdxml } from './archive-edxml';
import { ArchiveRepository } from './archive.repository';
import { AuditProofsClient } from './audit-proofs.client';
import { BagWriter, safeName } from './bag-writer';
import { RegistersService } from './registers.service';

/** Documents read per page while the package streams. */
const PAGE = 50;
/** Audit actions that are reads, not changes: kept in the proofs, left out of the status history. */
const READS = new Set<string>([AuditActions.documentRead, AuditActions.attachmentContentRead]);

export interface ArchiveJob {
  fileName: string;
  /** Streams the ZIP into `out`; rejects (after aborting the ZIP) when anything fails midway. */
  write(out: Writable): Promise<void>;
}

/**
 * A register year as one archive package: a BagIt bag (RFC 8493) with, per document, its metadata (JSON and
 * edXML), its files, their signature verdicts, its status history and the inclusion proofs of its audit events
 * against one signed checkpoint, which is included with the signing keys. `npm run audit:verify -- --bag` checks it.
 */
@Injectable()
export class ArchiveService {
  private readonly logger = new Logger(ArchiveService.name);

  constructor(
    private readonly repo: ArchiveRepository,
    private readonly registers: RegistersService,
    private readonly proofs: AuditProofsClient,
    private readonly storage: AttachmentStorage,
    private readonly audit: AuditRecorder,
    private readonly ds: DataSource,
  ) {}

  /** Everything that can fail cleanly (the audit service, the audit record) happens before the first byte. */
  async prepare(p: Principal, direction: 'incoming' | 'outgoing', year: number): Promise<ArchiveJob> {
    const registerId = `${p.organizationCode}/${direction}/${year}`;
    const cleared = hasRole(p, 'cleared');
    const entries = await this.registers.entries(p, direction, year);
    const { checkpoint, keys } = await this.proofs.checkpoint(registerId);
    await this.ds.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.registerArchived,
        actor: p,
        resource: { type: 'register', id: registerId },
        details: { direction, year, entries: entries.length, checkpointSize: checkpoint.treeSize },
      }),
    );
    return {
      fileName: `${safeName(p.organizationCode)}-${direction}-register-${year}.zip`,
      write: async (out) => {
        const bag = new BagWriter(out);
        try {
          await bag.addJson('register.json', {
            organizationCode: p.organizationCode,
            direction,
            year,
            entries,
          });
          await bag.addJson('audit/checkpoint.json', checkpoint);
          await bag.addJson('audit/keys.json', { keys });
          let after = 0;
          let documents = 0;
          for (;;) {
            const page = await this.repo.page(p.organizationCode, direction, year, cleared, after, PAGE);
            if (page.length === 0) break;
            const ids = page.map((d) => d.id);
            const attachments = await this.repo.attachments(ids);
            const recipients = direction === 'outgoing' ? await this.repo.recipients(ids) : [];
            for (const d of page) {
              if (out.destroyed) throw new Error('client went away');
              await this.writeDocument(
                bag,
                d,
                attachments.filter((a) => a.document_id === d.id),
                recipients.filter((r) => r.document_id === d.id),
                checkpoint,
              );
              documents++;
            }
            after = page[page.length - 1].register_number;
          }
          await bag.finish({
            'Source-Organization': p.organizationCode,
            'External-Identifier': registerId,
            'External-Description': `${direction === 'incoming' ? 'Incoming' : 'Outgoing'} register ${year} of ${p.organizationCode}: ${documents} documents`,
            'Bag-Software-Agent': 'Liên thông documents service',
            'Lienthong-Audit-Checkpoint': `${checkpoint.origin} ${checkpoint.treeSize} ${checkpoint.rootHash}`,
          });
        } catch (e) {
          this.logger.warn(`archive ${registerId} stopped: ${(e as Error).message}`);
          bag.abort();
          throw e;
        }
      },
    };
  }

  private async writeDocument(
    bag: BagWriter,
    d: DocumentRow,
    attachments: AttachmentRow[],
    recipients: RecipientRow[],
    checkpoint: SignedCheckpoint,
  ): Promise<void> {
    const dir = `documents/${String(d.register_number).padStart(6, '0')}`;
    const files = attachments.map((row, i) => ({
      row,
      path: `files/${i + 1}-${safeName(row.name, 'attachment')}`,
    }));
    const events = await this.proofs.events([d.id, ...attachments.map((a) => a.id)], checkpoint.treeSize);
    const view = documentView(d, recipients, attachments);
    await bag.addJson(`${dir}/document.json`, {
      ...view,
      files: files.map((f) => ({ attachmentId: f.row.id, path: f.path, sha256: f.row.sha256 })),
    });
    await bag.add(`${dir}/document.edxml`, archiveEdxml(d, files));
    await bag.addJson(
      `${dir}/signatures.json`,
      files.map(({ row, path }) => ({
        attachmentId: row.id,
        name: row.name,
        path,
        sha256: row.sha256,
        signature: row.signature,
        signatures: row.signatures,
      })),
    );
    await bag.addJson(`${dir}/history.json`, historyOf(d, events));
    await bag.addJson(`${dir}/audit-proofs.json`, {
      origin: checkpoint.origin,
      treeSize: checkpoint.treeSize,
      rootHash: checkpoint.rootHash,
      events,
    });
    for (const f of files) {
      const pdfOrImage = /^(application\/pdf|image\/|application\/zip)/.test(f.row.content_type);
      await bag.add(`${dir}/${f.path}`, this.storage.open(f.row.sha256), pdfOrImage);
    }
  }
}

/** The status history: the document's current state and every change the audit log recorded for it, in order. */
export function historyOf(d: DocumentRow, events: ProvenEvent[]) {
  return {
    documentId: d.id,
    direction: d.direction,
    current: {
      status: d.state,
      ...(d.status_code ? { statusCode: d.status_code } : {}),
      ...(d.status_reason ? { reason: d.status_reason } : {}),
      ...(d.assignee ? { assignee: d.assignee } : {}),
      updatedAt: new Date(d.updated_at).toISOString(),
    },
    // Recall, update and replace (business types 1–3) as the document records them, with their links.
    businessHistory: d.history ?? [],
    ...(d.replaces_id ? { replaces: d.replaces_id } : {}),
    ...(d.replaced_by_id ? { replacedBy: d.replaced_by_id } : {}),
    changes: events
      .filter((e) => !READS.has(String(e.event.action)))
      .map((e) => ({
        leafIndex: e.leafIndex,
        time: e.event.time,
        action: e.event.action,
        actor: e.event.actor,
        outcome: e.event.outcome,
        ...(e.event.details !== undefined ? { details: e.event.details } : {}),
      })),
  };
}
