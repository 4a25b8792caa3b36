import { sniffContentType } from './content-sniffer';

describe('content sniffing from magic bytes', () => {
  it.each([
    [Buffer.from('%PDF-1.7\n...'), 'x.bin', 'application/pdf'],
    [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'x.pdf', 'image/png'],
    [Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'x', 'image/jpeg'],
    [
      Buffer.from([0x50, 0x4b, 0x03, 0x04, 0]),
      'to-trinh.docx',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ],
    [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0]), 'archive.bin', 'application/zip'],
    [Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'cv.doc', 'application/msword'],
    [Buffer.from('\uFEFF<?xml version="1.0"?><edXML/>'), 'a.xml', 'application/xml'],
    [Buffer.from('plain text that claims to be a pdf'), 'fake.pdf', 'application/octet-stream'],
  ])('%#: %s named %s is %s', (head, name, type) => expect(sniffContentType(head, name)).toBe(type));
});
