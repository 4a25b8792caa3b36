import { findSignatures } from './pdf-signature.verifier';

describe('finding signature dictionaries in a PDF', () => {
  it('takes ByteRange, the Contents hole and SubFilter from each dictionary', () => {
    const head =
      '%PDF-1.7\n3 0 obj << /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange [0 70 80 20] /Contents <3082ab> >> endobj\n';
    const found = findSignatures(
      Buffer.from(
        head + '4 0 obj << /Contents <00> /ByteRange [0 5 9 1] /SubFilter /adbe.pkcs7.detached >>',
        'latin1',
      ),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toMatchObject({
      byteRange: [0, 70, 80, 20],
      contentsHex: '3082ab',
      subFilter: 'ETSI.CAdES.detached',
    });
    expect(found[0].contentsStart).toBe(head.indexOf('<3082ab>'));
    expect(found[0].contentsEnd).toBe(head.indexOf('<3082ab>') + 8);
    expect(found[1]).toMatchObject({
      byteRange: [0, 5, 9, 1],
      contentsHex: '00',
      subFilter: 'adbe.pkcs7.detached',
    });
  });

  it('finds nothing in an unsigned file', () => {
    expect(findSignatures(Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF'))).toEqual([]);
  });
});
