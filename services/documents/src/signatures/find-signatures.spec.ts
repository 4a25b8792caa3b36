import { MAX_DICTIONARY_BYTES, scanSignatures } from './pdf-scan';

const scan = (text: string, max = 20) => scanSignatures(Buffer.from(text, 'latin1'), max);

describe('finding signature dictionaries in a PDF', () => {
  it('takes ByteRange, the Contents hole and SubFilter from each dictionary', () => {
    const head =
      '%PDF-1.7\n3 0 obj << /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange [0 70 80 20] /Contents <3082ab> >> endobj\n';
    const { signatures: found, count } = scan(
      head + '4 0 obj << /Contents <00> /ByteRange [0 5 9 1] /SubFilter /adbe.pkcs7.detached >>',
    );
    expect(count).toBe(2);
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
    expect(scan('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF')).toEqual({
      signatures: [],
      count: 0,
    });
  });

  it('reads only the dictionary level of the ByteRange: nested dictionaries, arrays and strings are skipped', () => {
    const text =
      '%PDF-1.7\n7 0 obj << /Type /Sig /Prop_Build << /Filter << /Name /Forged /Contents <ff> >> >> ' +
      '/Name (a >> tricky /Contents <ee> name) /Reference [ << /Contents <dd> >> ] ' +
      '/ByteRange [0 1 2 3] /SubFilter /adbe.pkcs7.detached /Contents <3082> >> endobj';
    const { signatures } = scan(text);
    expect(signatures).toHaveLength(1);
    expect(signatures[0]).toMatchObject({ contentsHex: '3082', subFilter: 'adbe.pkcs7.detached' });
    expect(signatures[0].contentsStart).toBe(text.indexOf('<3082>'));
  });

  it('never takes a Contents from outside the dictionary (none before its <<, none after its >>)', () => {
    const text = '%PDF-1.7\n/Contents <aa>\n5 0 obj << /ByteRange [0 1 2 3] >> /Contents <bb> endobj';
    const { signatures } = scan(text);
    expect(signatures[0].problem).toBe('no /Contents');
  });

  it('reports a ByteRange with no enclosing dictionary, and a malformed one, as problems', () => {
    expect(scan('%PDF-1.7\n/ByteRange [0 1 2 3] /Contents <00>').signatures[0].problem).toBe(
      'signature dictionary not found',
    );
    expect(scan('%PDF-1.7\n<< /ByteRange [0 1 2] /Contents <00> >>').signatures[0].problem).toBe(
      'byte range is malformed',
    );
    expect(scan('<< /ByteRange [0 1 2 3] /ByteRange [0 1 2 3] /Contents <00> >>').signatures[0].problem).toBe(
      'signature dictionary has several /ByteRange',
    );
  });

  it('stops after the cap and counts one more, so a crafted file costs one pass', () => {
    const crafted = '%PDF-1.7\n' + '/Contents <00> /ByteRange [0 1 2 3]\n'.repeat(20_000);
    const { signatures, count } = scan(crafted, 5);
    expect(signatures).toHaveLength(5);
    expect(count).toBe(6);
  });

  it('does not read a dictionary past the size limit', () => {
    const big = `<< /ByteRange [0 1 2 3] /Contents <00> /Pad (${'x'.repeat(MAX_DICTIONARY_BYTES)}) >>`;
    expect(scan(big).signatures[0].problem).toBe('signature dictionary is not closed within the size limit');
  });
});
