import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AttachmentRow, DocumentRow, RecipientRow } from '../documents/documents.entity';
import { DOCUMENT_COLUMNS, DocumentsRepository } from '../documents/documents.repository';

/** Reads of a register year for its archive package, in register-number order and in pages. */
@Injectable()
export class ArchiveRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly documents: DocumentsRepository,
  ) {}

  /** The register's entries after `afterNumber`, the same rows the register shows (classified only if cleared). */
  page(
    organizationCode: string,
    direction: 'incoming' | 'outgoing',
    year: number,
    cleared: boolean,
    afterNumber: number,
    limit: number,
  ): Promise<DocumentRow[]> {
    return this.ds.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d
       WHERE d.organization_code = $1 AND d.direction = $2 AND d.register_year = $3 AND ($4 OR d.secrecy = 'none')
         AND d.register_number > $5
       ORDER BY d.register_number LIMIT $6`,
      [organizationCode, direction, year, cleared, afterNumber, limit],
    );
  }

  attachments(documentIds: string[]): Promise<AttachmentRow[]> {
    return this.documents.attachments(this.ds.manager, documentIds);
  }

  recipients(documentIds: string[]): Promise<RecipientRow[]> {
    return this.documents.recipients(this.ds.manager, documentIds);
  }
}
