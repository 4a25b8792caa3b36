import { businessKeyOf, replacedDocumentId } from '../exchanges/routed-document';
import {
  buildPackage,
  EdxmlError,
  formatDocumentId,
  parsePackage,
  requireReplacedDocument,
  type EdxmlPackage,
} from './index';

const LIMITS = { maxBytes: 1024 * 1024 };
const EARLIER = formatDocumentId('000.00.00.G22', '2026-11-20', '10', 'VPCP');

function sample(over: Partial<EdxmlPackage> = {}): EdxmlPackage {
  return {
    from: { organId: '000.00.00.G22' },
    to: [{ organId: '000.00.01.H01' }, { organId: '000.00.01.H02' }],
    documentId: formatDocumentId('000.00.00.G22', '2026-11-21', '11', 'VPCP'),
    codeNumber: '11',
    codeNotation: 'VPCP',
    promulgationDate: '2026-11-21',
    type: '1',
    subject: 'Công văn thay thế',
    signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    priority: 0,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [],
    businessDocType: 0,
    attachments: [],
    ...over,
  };
}

describe('edXML business types 2 and 3', () => {
  it('writes and reads a replacement: Bussiness/DocumentId and ReplacementInfoList name the replaced document', () => {
    const p = sample({
      businessDocType: 3,
      businessDocReason: 'Sai số liệu',
      businessDocumentId: EARLIER,
      replacementInfo: [{ documentId: EARLIER, organIds: ['000.00.01.H01', '000.00.01.H02'] }],
    });
    const xml = buildPackage(p);
    expect(xml).toContain(`<edXML:Bussiness><edXML:DocumentId>${EARLIER}</edXML:DocumentId>`);
    expect(xml).toContain('<edXML:ReplacementInfoList><edXML:ReplacementInfo>');
    const back = parsePackage(xml, LIMITS).package;
    expect(back).toMatchObject({
      documentId: p.documentId,
      businessDocType: 3,
      businessDocReason: 'Sai số liệu',
      businessDocumentId: EARLIER,
      replacementInfo: [{ documentId: EARLIER, organIds: ['000.00.01.H01', '000.00.01.H02'] }],
    });
    expect(replacedDocumentId(back)).toBe(EARLIER);
  });

  it('reads liberally: a replacement naming the earlier document only in Bussiness/DocumentId', () => {
    const xml = buildPackage(sample({ businessDocType: 3, businessDocumentId: EARLIER }));
    const back = parsePackage(xml, LIMITS).package;
    expect(back.replacementInfo).toBeUndefined();
    expect(replacedDocumentId(back)).toBe(EARLIER);
  });

  it('requires a replacement to say what it replaces (the inbound API), and refuses a malformed DocumentId', () => {
    const none = parsePackage(buildPackage(sample({ businessDocType: 3 })), LIMITS).package;
    expect(() => requireReplacedDocument(none)).toThrow(EdxmlError);
    expect(() => requireReplacedDocument(none)).toThrow(/ReplacementInfoList/);
    expect(replacedDocumentId(none)).toBeUndefined();
    expect(() =>
      requireReplacedDocument(sample({ businessDocType: 3, businessDocumentId: EARLIER })),
    ).not.toThrow();
    const bad = buildPackage(
      sample({ businessDocType: 3, replacementInfo: [{ documentId: 'not-an-id', organIds: [] }] }),
    );
    expect(() => parsePackage(bad, LIMITS)).toThrow(/ReplacementInfo\/DocumentId/);
  });

  it('keys an update by its reason and values: the same update twice is one, another is another', () => {
    const update = sample({ businessDocType: 2, businessDocReason: 'Đổi giờ', documentId: EARLIER });
    const again = parsePackage(buildPackage(update), LIMITS).package;
    expect(businessKeyOf(again)).toBe(businessKeyOf(update));
    expect(businessKeyOf({ ...update, subject: 'Khác' })).not.toBe(businessKeyOf(update));
    expect(businessKeyOf({ ...update, businessDocReason: 'Khác' })).not.toBe(businessKeyOf(update));
    // An update keeps its own DocumentId in Bussiness (nothing is replaced).
    expect(again.businessDocumentId).toBeUndefined();
    expect(replacedDocumentId(again)).toBeUndefined();
  });
});
