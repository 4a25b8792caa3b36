/**
 * Content type from the first bytes of a file (magic numbers); the client's declared type is not trusted.
 * Office Open XML files are ZIP archives, told apart by the file name's extension.
 */
export function sniffContentType(head: Buffer, name: string): string {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => head[at + i] === b);
  const ext = name.toLowerCase().split('.').pop() ?? '';
  if (head.subarray(0, 1024).includes('%PDF-')) return 'application/pdf';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (starts([0x49, 0x49, 0x2a, 0x00]) || starts([0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  if (starts([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    return ext === 'xls' ? 'application/vnd.ms-excel' : 'application/msword';
  }
  if (starts([0x50, 0x4b, 0x03, 0x04])) {
    if (ext === 'docx') return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    if (ext === 'xlsx') return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    if (ext === 'odt') return 'application/vnd.oasis.opendocument.text';
    return 'application/zip';
  }
  const text = head
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('<?xml')) return 'application/xml';
  return 'application/octet-stream';
}
