import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { AttachmentRow, DocumentRow } from '../documents/documents.entity';
import { archiveEdxml } from './archive-edxml';
import { historyOf } from './archive.service';

const doc = (over: Partial<DocumentRow> = {}): DocumentRow =>
  ({
    id: '0b9c5c1e-3a51-4c1e-9a0e-1d2f3a4b5c6d',
    organization_code: '000.32.00.P32',
    direction: 'incoming',
    number: '41',
    notation: 'QĐ/TU',
    type: 'QD',
    type_name: 'Quyết định',
    subject: 'Về việc <khen thưởng> & kỷ luật',
    content: null,
    promulgation_place: 'Hà Nội',
    promulgation_date: '2026-11-20',
    signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
    secrecy: 'none',
    urgency: 'urgent',
    steering: false,
    due_date: null,
    recipients: [],
    state: 'accepted',
    status_code: '03',
    status_reason: null,
    assignee: null,
    from_organization_code: '000.31.00.P31',
    edxml_document_id: null,
    updated_at: '2026-11-30T01:02:03.000Z',
    history: [],
    replaces_id: null,
    replaced_by_id: null,
    ...over,
  }) as DocumentRow;

const pdf = { id: 'a1', name: 'quyết định.pdf', content_type: 'application/pdf' } as AttachmentRow;

describe('archiveEdxml', () => {
  it('writes well-formed edXML with the metadata, escaped, and the files by their bag path', () => {
    const xml = archiveEdxml(doc(), [{ row: pdf, path: 'files/1-quyết định.pdf' }]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ removeNSPrefix: true }).parse(xml);
    const mh = parsed.edXML.edXMLEnvelope.edXMLHeader.MessageHeader;
    expect(mh.From.OrganId).toBe('000.31.00.P31');
    expect(mh.To.OrganId).toBe('000.32.00.P32');
    expect(mh.DocumentId).toBe('000.31.00.P31,2026/11/20,41/QĐ/TU');
    expect(mh.Subject).toBe('Về việc <khen thưởng> & kỷ luật');
    expect(mh.OtherInfo.Priority).toBe(1);
    const ref = parsed.edXML.edXMLEnvelope.edXMLBody.edXMLManifest.Reference;
    expect(ref).toMatchObject({ AttachmentName: 'quyết định.pdf', Description: 'files/1-quyết định.pdf' });
  });

  it('names the sender as From and every recipient as To for an outgoing document', () => {
    const xml = archiveEdxml(
      doc({
        direction: 'outgoing',
        organization_code: 'A',
        recipients: ['B', 'C'],
        edxml_document_id: 'X,1',
      }),
      [],
    );
    const mh = new XMLParser({ removeNSPrefix: true }).parse(xml).edXML.edXMLEnvelope.edXMLHeader
      .MessageHeader;
    expect(mh.From.OrganId).toBe('A');
    expect(mh.To.map((t: { OrganId: string }) => t.OrganId)).toEqual(['B', 'C']);
    expect(mh.DocumentId).toBe('X,1');
  });
});

describe('historyOf', () => {
  it('keeps the changes in log order and leaves the reads to the proofs', () => {
    const ev = (leafIndex: number, action: string) => ({
      leafIndex,
      leafHash: '00',
      auditPath: [],
      event: { action, time: `t${leafIndex}`, actor: { sub: 'u' }, outcome: 'success' },
    });
    const h = historyOf(doc(), [
      ev(3, 'document.received'),
      ev(5, 'document.read'),
      ev(9, 'document.status.changed'),
      ev(11, 'attachment.content.read'),
    ]);
    expect(h.current).toMatchObject({ status: 'accepted', statusCode: '03' });
    expect(h.businessHistory).toEqual([]);
    expect(h.changes.map((c) => [c.leafIndex, c.action])).toEqual([
      [3, 'document.received'],
      [9, 'document.status.changed'],
    ]);
  });
});
