import { isAscii, isUtf8 } from 'node:buffer';
import { createHash, verify as verifySignature, type Hash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdxmlError, invalid } from './edxml.errors';
import { parseEdxml, type EdxmlLimits, type EdxmlMessage } from './edxml.parser';
import { certificateOf, fingerprintOf, verifyPackage, type SignatureCheck } from './edxml.signature';
import type { DecodedContent } from './edxml.types';
import { DEFAULT_MAX_DEPTH } from './safe-xml';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Canonical text is hashed in pieces of about this many characters. */
const FLUSH_CHARS = 64 * 1024;
/** The longest tag, comment, processing instruction or entity-free token waited for. */
const MAX_TOKEN_CHARS = 1024 * 1024;
/** The Signature element's text kept for checking (a certificate chain fits many times over). */
const MAX_SIGNATURE_CHARS = 256 * 1024;
/** Raw bytes kept so that a signature in another profile than ours can still be checked by xml-crypto. */
const LEGACY_VERIFY_BYTES = 4 * 1024 * 1024;

export interface EdxmlReaderOptions extends EdxmlLimits {
  /** Bytes of the package other than attachment contents (held and DOM-parsed); above: EDXML_TOO_LARGE. */
  maxMetadataBytes: number;
  /** Decoded attachment bytes kept in memory per package; above, attachments are decoded to files. */
  memoryBytes: number;
  /** Where decoded attachments above `memoryBytes` are written (the OS temporary directory by default). */
  tempDir?: string;
  /** Node certificates (PEM) whose signatures are `trusted`. */
  trusted: string[];
  /** Receives the canonical text as it is hashed (tests compare it with xml-crypto's). */
  onCanonical?: (text: string) => void;
}

/** What a streamed read found: the message (attachments carry size, SHA-256 and memory or file), the signature. */
export interface ReadEdxml {
  message: EdxmlMessage;
  signature: SignatureCheck;
  /** Bytes read. */
  size: number;
  /** Removes the files attachments were decoded to (call once their bytes are stored). */
  cleanup(): Promise<void>;
}

const trustedCache = new WeakMap<string[], Set<string>>();
function trustedSet(pems: string[]): Set<string> {
  let s = trustedCache.get(pems);
  if (!s) trustedCache.set(pems, (s = new Set(pems.map(fingerprintOf))));
  return s;
}

/**
 * Reads an edXML message (a package or a status) from a stream in one pass without holding it: the text is
 * tokenised as it arrives (no DTD, no entities but the five predefined and character references, bounded
 * depth and token sizes), the exclusive canonical form without the enveloped Signature is hashed while
 * reading, the text of every ContentTransferEncoded element is base64-decoded in blocks (with its SHA-256)
 * into memory or, above `memoryBytes`, into a temporary file, and the small remainder (metadata, with a
 * marker in place of each attachment's text) is DOM-parsed by `parseEdxml`. The Signature element is taken
 * apart on the way: its SignedInfo canonicalised, its reference and algorithms checked, the digest compared
 * and SignedInfo verified with the certificate of KeyInfo.
 */
export async function readEdxml(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  opts: EdxmlReaderOptions,
): Promise<ReadEdxml> {
  const reader = new EdxmlStreamReader(opts);
  try {
    if (source instanceof Uint8Array) reader.push(source);
    else for await (const chunk of source) reader.push(chunk);
    return await reader.finish();
  } catch (e) {
    await reader.cleanup();
    throw e;
  }
}

interface Attr {
  qname: string;
  prefix: string;
  local: string;
  uri: string;
  value: string;
}

interface Scope {
  [prefix: string]: string;
}

interface Open {
  qname: string;
  local: string;
  uri: string;
  scope: Scope;
  rendered: Scope;
  lastChild?: string;
}

const ATTR_RE = /[\t\n\r ]+([^\t\n\r =/>"'<]+)[\t\n\r ]*=[\t\n\r ]*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END_RE = /[\t\n\r ]*(\/?)$/y;
const NAME_RE =
  /^[A-Za-z_\u00C0-\uFFFF][-.0-9A-Za-z_\u00B7-\uFFFF]*(?::[A-Za-z_\u00C0-\uFFFF][-.0-9A-Za-z_\u00B7-\uFFFF]*)?$/;
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<"\t\n\r]/;
const EMPTY = Buffer.alloc(0);

function notWellFormed(problem: string): EdxmlError {
  return invalid('document', `is not well-formed XML: ${problem}`);
}

function escText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/[&<>\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;',
  );
}

function escAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s.replace(/[&<"\t\n\r]/g, (c) =>
    c === '&'
      ? '&amp;'
      : c === '<'
        ? '&lt;'
        : c === '"'
          ? '&quot;'
          : c === '\t'
            ? '&#x9;'
            : c === '\n'
              ? '&#xA;'
              : '&#xD;',
  );
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isXmlChar(n: number): boolean {
  return (
    n === 0x9 ||
    n === 0xa ||
    n === 0xd ||
    (n >= 0x20 && n <= 0xd7ff) ||
    (n >= 0xe000 && n <= 0xfffd) ||
    (n >= 0x10000 && n <= 0x10ffff)
  );
}

/** Replaces the predefined entities and character references; anything else is refused. */
function decodeRefs(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&([^;&<\s]*)(;?)/g, (_m, name: string, semi: string) => {
    if (!semi) throw notWellFormed('an & that starts no reference');
    if (name.startsWith('#')) {
      const n = /^#x[0-9a-fA-F]{1,6}$/.test(name)
        ? parseInt(name.slice(2), 16)
        : /^#[0-9]{1,7}$/.test(name)
          ? parseInt(name.slice(1), 10)
          : NaN;
      if (!isXmlChar(n)) throw notWellFormed(`bad character reference &${name.slice(0, 12)};`);
      return String.fromCodePoint(n);
    }
    const v = PREDEFINED[name];
    if (v === undefined) throw notWellFormed(`undefined entity &${name.slice(0, 20)};`);
    return v;
  });
}

/** Writes exclusive XML canonicalization (without comments) of the elements it is given, to `out`. */
class C14nWriter {
  private text = '';
  constructor(private readonly out: (s: string) => void) {}

  private put(s: string): void {
    this.text += s;
    if (this.text.length >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.text) this.out(this.text);
    this.text = '';
  }

  /** Renders a start tag; returns the namespaces rendered in scope for the element's children. */
  start(qname: string, prefix: string, scope: Scope, attrs: Attr[], rendered: Scope): Scope {
    let ns = '';
    let next = rendered;
    const uri = scope[prefix] ?? '';
    if ((rendered[prefix] ?? '') !== uri) {
      next = Object.create(rendered) as Scope;
      next[prefix] = uri;
      if (prefix === '') ns = ` xmlns="${escAttr(uri)}"`;
    }
    let prefixed: string[] | undefined;
    if (prefix !== '') prefixed = next === rendered ? undefined : [prefix];
    for (const a of attrs) {
      if (!a.prefix || a.prefix === 'xml') continue;
      if ((next[a.prefix] ?? '') !== a.uri) {
        if (next === rendered) next = Object.create(rendered) as Scope;
        next[a.prefix] = a.uri;
        (prefixed ??= []).push(a.prefix);
      }
    }
    if (prefixed) {
      prefixed.sort();
      for (const p of prefixed) ns += ` xmlns:${p}="${escAttr(next[p])}"`;
    }
    let at = '';
    if (attrs.length) {
      const sorted = attrs.length > 1 ? [...attrs].sort(compareAttrs) : attrs;
      for (const a of sorted) at += ` ${a.qname}="${escAttr(a.value)}"`;
    }
    this.put(`<${qname}${ns}${at}>`);
    return next;
  }

  end(qname: string): void {
    this.put(`</${qname}>`);
  }

  chars(s: string): void {
    if (s.length > FLUSH_CHARS) {
      this.flush();
      this.out(escText(s));
    } else this.put(escText(s));
  }

  /** Text that needs no escaping. */
  verbatim(s: string): void {
    if (s.length > FLUSH_CHARS) {
      this.flush();
      this.out(s);
    } else this.put(s);
  }

  pi(target: string, data: string): void {
    this.put(data ? `<?${target} ${data}?>` : `<?${target}?>`);
  }
}

function compareAttrs(a: Attr, b: Attr): number {
  if (!a.uri && b.uri) return -1;
  if (a.uri && !b.uri) return 1;
  const l = a.uri + a.local;
  const r = b.uri + b.local;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Base64 text decoded in blocks, hashed, kept in memory or written to a file. */
class Base64Sink {
  private pending = '';
  private padded = false;
  private readonly hash = createHash('sha256');
  size = 0;
  private chunks: Buffer[] = [];
  private fd?: number;
  file?: string;

  constructor(private readonly reader: EdxmlStreamReader) {}

  write(text: string): void {
    let t = text;
    if (t.indexOf('\n') >= 0 || t.indexOf(' ') >= 0 || t.indexOf('\r') >= 0 || t.indexOf('\t') >= 0)
      t = t.replace(/[\t\n\r ]+/g, '');
    if (!t) return;
    if (this.padded) {
      if (!/^=*$/.test(t)) throw this.bad();
      this.pending += t;
      return;
    }
    const eq = t.indexOf('=');
    if (eq >= 0) {
      if (!/^=*$/.test(t.slice(eq))) throw this.bad();
      this.padded = true;
    }
    this.pending += t;
    const body = eq >= 0 ? this.pending.length - (t.length - eq) : this.pending.length;
    const whole = this.padded ? 0 : body - (body % 4);
    if (whole >= 4096 || (whole > 0 && this.pending.length > 65536)) {
      this.emit(decodeStrict(this.pending.slice(0, whole)));
      this.pending = this.pending.slice(whole);
    }
  }

  private bad(): EdxmlError {
    return invalid('edXML/AttachmentEncoded/Attachment/ContentTransferEncoded', 'is not base64');
  }

  private emit(b: Buffer): void {
    if (b.length === 0) return;
    this.hash.update(b);
    this.size += b.length;
    if (this.fd === undefined && !this.reader.keepInMemory(b.length)) {
      this.file = this.reader.spoolFile();
      this.fd = openSync(this.file, 'w', 0o600);
      for (const c of this.chunks) writeAll(this.fd, c);
      this.reader.releaseMemory(this.chunks.reduce((n, c) => n + c.length, 0));
      this.chunks = [];
    }
    if (this.fd !== undefined) writeAll(this.fd, b);
    else this.chunks.push(b);
  }

  close(): DecodedContent {
    if (this.pending.length % 4 !== 0 || this.pending.replace(/=+$/, '').length % 4 === 1) throw this.bad();
    if (/={3,}$/.test(this.pending)) throw this.bad();
    if (this.pending) this.emit(decodeStrict(this.pending));
    this.pending = '';
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const sha256 = this.hash.digest('hex');
    if (this.file) return { size: this.size, sha256, file: this.file };
    const content = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    return { size: this.size, sha256, content };
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Base64 (length a multiple of 4, no whitespace) decoded, refusing anything but the standard alphabet: Node
 * skips invalid characters (fewer bytes come out) and also reads the URL-safe '-' and '_', which are looked for.
 */
function decodeStrict(text: string): Buffer {
  const out = Buffer.from(text, 'base64');
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  if (out.length !== (text.length / 4) * 3 - pad || text.indexOf('-') >= 0 || text.indexOf('_') >= 0)
    throw invalid('edXML/AttachmentEncoded/Attachment/ContentTransferEncoded', 'is not base64');
  return out;
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** What the Signature element says, gathered while it streams past. */
interface SignatureParts {
  count: number;
  problem?: string;
  signedInfo: string[];
  signedInfoCount: number;
  c14n?: string;
  c14nExtra: boolean;
  method?: string;
  references: {
    uri: string | null;
    transforms: string[];
    transformExtra: boolean;
    digestMethod?: string;
    digest: string;
  }[];
  value: string;
  valueCount: number;
  certificate?: string;
  chars: number;
}

class EdxmlStreamReader {
  private carry: Buffer = EMPTY;
  private buf = '';
  private pos = 0;
  private bytes = 0;
  private first = true;
  private readonly stack: Open[] = [];
  private rootDone = false;
  private sawMarkup = false;
  private rootSeen = false;
  private inCdata = false;
  private readonly digest: Hash = createHash('sha256');
  private readonly main: C14nWriter;
  private skeleton = '';
  private skeletonBytes = 0;
  private readonly skel: C14nWriter;
  /** Depth (stack length) of the ContentTransferEncoded element being decoded, or 0. */
  private cteDepth = 0;
  private cte?: Base64Sink;
  private readonly contents: DecodedContent[] = [];
  /** Depth of the Signature element being taken apart, or 0. */
  private sigDepth = 0;
  private readonly sig: SignatureParts = {
    count: 0,
    signedInfo: [],
    signedInfoCount: 0,
    c14nExtra: false,
    references: [],
    value: '',
    valueCount: 0,
    chars: 0,
  };
  private sigPath: string[] = [];
  private sigText?: (s: string) => void;
  private signedInfoWriter?: C14nWriter;
  private signedInfoRendered: Scope[] = [];
  private memoryLeft: number;
  private spoolDir?: string;
  private spoolCount = 0;
  private raw: Buffer[] | undefined = [];
  private readonly maxDepth: number;
  private readonly rootScope: Scope;

  constructor(private readonly opts: EdxmlReaderOptions) {
    const seen = opts.onCanonical;
    this.main = new C14nWriter(
      seen
        ? (s) => {
            seen(s);
            this.digest.update(s, 'utf8');
          }
        : (s) => this.digest.update(s, 'utf8'),
    );
    this.skel = new C14nWriter((s) => {
      this.skeletonBytes += s.length;
      if (this.skeletonBytes > opts.maxMetadataBytes)
        throw new EdxmlError(
          'EDXML_TOO_LARGE',
          `edXML without its attachments is larger than ${opts.maxMetadataBytes} bytes`,
        );
      this.skeleton += s;
    });
    this.memoryLeft = opts.memoryBytes;
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.rootScope = Object.create(null) as Scope;
    this.rootScope.xml = XML_NS;
    this.rootScope[''] = '';
  }

  keepInMemory(n: number): boolean {
    if (n > this.memoryLeft) return false;
    this.memoryLeft -= n;
    return true;
  }

  releaseMemory(n: number): void {
    this.memoryLeft += n;
  }

  spoolFile(): string {
    this.spoolDir ??= mkdtempSync(join(this.opts.tempDir || tmpdir(), 'lienthong-edxml-in-'));
    return join(this.spoolDir, `attachment-${this.spoolCount++}`);
  }

  async cleanup(): Promise<void> {
    this.cte?.abort();
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true }).catch(() => undefined);
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.bytes > this.opts.maxBytes)
      throw new EdxmlError('EDXML_TOO_LARGE', `edXML is larger than ${this.opts.maxBytes} bytes`);
    if (this.bytes === chunk.length && chunk.length > 0 && (chunk[0] === 0xfe || chunk[0] === 0xff))
      throw invalid('document', 'must be UTF-8');
    if (this.raw) {
      if (this.bytes <= LEGACY_VERIFY_BYTES) this.raw.push(Buffer.from(chunk));
      else this.raw = undefined;
    }
    this.feed(this.decode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)), false);
  }

  async finish(): Promise<ReadEdxml> {
    const skeleton = this.end();
    const message = parseEdxml(skeleton, {
      ...this.opts,
      maxBytes: Math.max(this.opts.maxMetadataBytes, Buffer.byteLength(skeleton)),
      streamed: this.contents,
    });
    const signature = this.signatureCheck();
    return { message, signature, size: this.bytes, cleanup: () => this.cleanup() };
  }

  /** Ends the input; returns the metadata text (canonical, a marker for each attachment's text). */
  end(): string {
    if (this.carry.length) throw invalid('document', 'must be UTF-8');
    this.feed('', true);
    if (this.inCdata || this.stack.length) throw notWellFormed('the document ends inside an element');
    if (!this.rootSeen) throw invalid('document', 'has no root element');
    this.main.flush();
    this.skel.flush();
    const skeleton = this.skeleton;
    this.skeleton = '';
    return skeleton;
  }

  /**
   * UTF-8 to text, strictly (invalid bytes are refused); a character cut by the chunk's end waits for the next.
   * ASCII (base64 attachments) takes the fast path.
   */
  private decode(chunk: Buffer): string {
    let b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = EMPTY;
    let end = b.length;
    // A multi-byte character cut at the end: its lead byte is within the last 3 bytes.
    for (let i = b.length - 1; i >= 0 && i >= b.length - 3; i--) {
      const c = b[i];
      if (c < 0x80) break;
      if (c >= 0xc0) {
        const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (b.length - i < need) end = i;
        break;
      }
    }
    if (end < b.length) {
      this.carry = Buffer.from(b.subarray(end));
      b = b.subarray(0, end);
    }
    if (isAscii(b)) return b.toString('latin1');
    if (!isUtf8(b)) throw invalid('document', 'must be UTF-8');
    let text = b.toString('utf8');
    if (this.first) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }

  private feed(text: string, final: boolean): void {
    if (text) {
      this.buf = this.pos < this.buf.length ? this.buf.slice(this.pos) + text : text;
      this.pos = 0;
    }
    while (this.step(final));
    if (this.pos >= this.buf.length) {
      this.buf = '';
      this.pos = 0;
    } else if (final) throw notWellFormed('the document ends inside markup');
    else if (this.buf.length - this.pos > MAX_TOKEN_CHARS)
      throw notWellFormed(`a tag, comment or reference longer than ${MAX_TOKEN_CHARS} characters`);
  }

  /** Consumes one token if it is complete; false when more text is needed. */
  private step(final: boolean): boolean {
    const buf = this.buf;
    const pos = this.pos;
    if (pos >= buf.length) return false;
    if (this.inCdata) {
      const end = buf.indexOf(']]>', pos);
      if (end < 0) {
        let cut = final ? buf.length : buf.length - 2;
        if (!final && buf.charCodeAt(cut - 1) === 13) cut--;
        if (cut > pos) {
          this.chars(normalizeNewlines(buf.slice(pos, cut)));
          this.pos = cut;
        }
        return false;
      }
      this.chars(normalizeNewlines(buf.slice(pos, end)));
      this.pos = end + 3;
      this.inCdata = false;
      return true;
    }
    const lt = buf.indexOf('<', pos);
    if (lt !== pos) {
      let cut = lt < 0 ? buf.length : lt;
      if (lt < 0 && !final) {
        const amp = buf.lastIndexOf('&');
        if (amp >= pos && buf.indexOf(';', amp) < 0) cut = amp;
        if (cut > pos && buf.charCodeAt(cut - 1) === 13) cut--;
        if (cut > pos + 1 && buf.charCodeAt(cut - 1) === 93) cut -= buf.charCodeAt(cut - 2) === 93 ? 2 : 1;
      }
      if (cut > pos) this.rawText(buf.slice(pos, cut));
      this.pos = cut;
      return lt >= 0;
    }
    // Markup at pos.
    if (buf.length - pos < 2) return false;
    if (buf.charCodeAt(pos + 1) !== 63) this.sawMarkup = true;
    const c1 = buf.charCodeAt(pos + 1);
    if (c1 === 33 /* ! */) {
      if (buf.startsWith('<!--', pos)) {
        const end = buf.indexOf('-->', pos + 4);
        if (end < 0) return false;
        if (buf.slice(pos + 4, end).includes('--')) throw notWellFormed('"--" inside a comment');
        this.pos = end + 3;
        return true;
      }
      if (
        buf.length - pos < 9 &&
        ('<![CDATA['.startsWith(buf.slice(pos)) || '<!--'.startsWith(buf.slice(pos, pos + 4)))
      )
        return false;
      if (buf.startsWith('<![CDATA[', pos)) {
        if (!this.stack.length) throw notWellFormed('CDATA outside the root element');
        this.inCdata = true;
        this.pos = pos + 9;
        return true;
      }
      const decl = /^<!\s*([A-Za-z]*)/.exec(buf.slice(pos, pos + 40));
      throw new EdxmlError(
        'EDXML_FORBIDDEN_CONSTRUCT',
        `<!${decl?.[1] || ''}> declarations are not accepted`,
        decl?.[1] || 'DOCTYPE',
      );
    }
    if (c1 === 63 /* ? */) {
      const end = buf.indexOf('?>', pos + 2);
      if (end < 0) return false;
      this.pi(buf.slice(pos + 2, end));
      this.sawMarkup = true;
      this.pos = end + 2;
      return true;
    }
    if (c1 === 47 /* / */) {
      const end = buf.indexOf('>', pos + 2);
      if (end < 0) return false;
      this.endTag(buf.slice(pos + 2, end).replace(/[\t\n\r ]+$/, ''));
      this.pos = end + 1;
      return true;
    }
    // A start tag: find its '>' outside quoted values.
    let i = pos + 1;
    const n = buf.length;
    for (;;) {
      if (i >= n) return false;
      const c = buf.charCodeAt(i);
      if (c === 62) break;
      if (c === 34 || c === 39) {
        const q = buf.indexOf(c === 34 ? '"' : "'", i + 1);
        if (q < 0) return false;
        i = q + 1;
      } else if (c === 60) throw notWellFormed('"<" inside a tag');
      else i++;
    }
    this.startTag(buf.slice(pos + 1, i));
    this.pos = i + 1;
    return true;
  }

  private pi(body: string): void {
    const m = /^([^\s?]+)([\t\n\r ]+([\s\S]*))?$/.exec(body);
    if (!m || !NAME_RE.test(m[1])) throw notWellFormed('a malformed processing instruction');
    if (m[1].toLowerCase() === 'xml') {
      if (m[1] !== 'xml' || this.rootSeen || this.sawMarkup)
        throw notWellFormed('an XML declaration not at the start');
      const enc = /encoding\s*=\s*["']([^"']*)["']/.exec(m[3] ?? '');
      if (enc && !/^utf-?8$/i.test(enc[1])) throw invalid('document', 'must be UTF-8');
      return;
    }
    if (!this.stack.length) return; // outside the root: not part of what is signed (as xml-crypto reads URI="")
    if (this.sigDepth) return;
    const data = normalizeNewlines(m[3] ?? '');
    this.main.pi(m[1], data);
    if (!this.cteDepth) this.skel.pi(m[1], data);
  }

  private rawText(raw: string): void {
    if (!this.stack.length) {
      if (/[^\t\n\r ]/.test(raw)) throw notWellFormed('text outside the root element');
      return;
    }
    // Attachment text is checked as base64 (no other character passes).
    if (!this.cteDepth || this.sigDepth) {
      if (BAD_CHARS.test(raw)) throw notWellFormed('a character XML does not allow');
      if (raw.indexOf(']]>') >= 0) throw notWellFormed('"]]>" in text');
    }
    this.chars(decodeRefs(normalizeNewlines(raw)));
  }

  private chars(s: string): void {
    if (!s) return;
    if (this.sigDepth) {
      this.sigChars(s);
      return;
    }
    if (this.cteDepth) {
      // Validated as base64 first: then it needs no escaping unless a reference produced a CR.
      this.cte!.write(s);
      if (s.indexOf('\r') >= 0) this.main.chars(s);
      else this.main.verbatim(s);
    } else {
      this.main.chars(s);
      this.skel.chars(s);
    }
  }

  private startTag(body: string): void {
    if (this.rootDone) throw notWellFormed('a second root element');
    const nameEnd = body.search(/[\t\n\r /]|$/);
    const qname = body.slice(0, nameEnd);
    if (!NAME_RE.test(qname)) throw notWellFormed(`a bad element name "${qname.slice(0, 40)}"`);
    let rest = body.slice(nameEnd);
    let selfClosing = false;
    const attrsRaw: [string, string][] = [];
    if (rest) {
      ATTR_RE.lastIndex = 0;
      let last = 0;
      for (;;) {
        const m = ATTR_RE.exec(rest);
        if (!m) break;
        attrsRaw.push([m[1], m[2] ?? m[3]]);
        last = ATTR_RE.lastIndex;
      }
      rest = rest.slice(last);
      TAG_END_RE.lastIndex = 0;
      const e = TAG_END_RE.exec(rest);
      if (!e || TAG_END_RE.lastIndex !== rest.length)
        throw notWellFormed(`a malformed tag <${qname.slice(0, 40)}>`);
      selfClosing = e[1] === '/';
    }
    const parent = this.stack[this.stack.length - 1];
    const parentScope = parent ? parent.scope : this.rootScope;
    let scope = parentScope;
    const attrs: { qname: string; value: string }[] = [];
    const seen = new Set<string>();
    for (const [name, rawValue] of attrsRaw) {
      if (!NAME_RE.test(name)) throw notWellFormed(`a bad attribute name "${name.slice(0, 40)}"`);
      if (seen.has(name)) throw notWellFormed(`attribute ${name} given twice`);
      seen.add(name);
      if (BAD_CHARS.test(rawValue)) throw notWellFormed('a character XML does not allow');
      const value = decodeRefs(rawValue.replace(/\r\n?|[\n\t]/g, ' '));
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        const p = name === 'xmlns' ? '' : name.slice(6);
        if (p === 'xmlns' || (p === 'xml' && value !== XML_NS) || (p !== 'xml' && value === XML_NS))
          throw notWellFormed(`namespace declaration ${name}`);
        if (p && !value) throw notWellFormed(`namespace prefix ${p} bound to no namespace`);
        if (scope === parentScope) scope = Object.create(parentScope) as Scope;
        scope[p] = value;
      } else attrs.push({ qname: name, value });
    }
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const local = colon < 0 ? qname : qname.slice(colon + 1);
    const uri = scope[prefix];
    if (uri === undefined) throw notWellFormed(`undeclared namespace prefix ${prefix}`);
    const resolved: Attr[] = attrs.map((a) => {
      const c = a.qname.indexOf(':');
      if (c < 0) return { qname: a.qname, prefix: '', local: a.qname, uri: '', value: a.value };
      const p = a.qname.slice(0, c);
      const u = scope[p];
      if (u === undefined || p === '') throw notWellFormed(`undeclared namespace prefix ${p}`);
      return { qname: a.qname, prefix: p, local: a.qname.slice(c + 1), uri: u, value: a.value };
    });
    if (resolved.length > 1) {
      const keys = new Set(resolved.map((a) => `${a.uri}|${a.local}`));
      if (keys.size !== resolved.length) throw notWellFormed('an attribute given twice');
    }
    if (this.stack.length + 1 > this.maxDepth)
      throw new EdxmlError('EDXML_INVALID', `elements are nested deeper than ${this.maxDepth}`, local);
    this.rootSeen = true;
    const open: Open = { qname, local, uri, scope, rendered: this.rootScope };
    const siblingBefore = parent?.lastChild;
    if (parent) parent.lastChild = local;
    this.stack.push(open);
    if (this.sigDepth) {
      this.sigStart(open, prefix, resolved);
    } else if (uri === DSIG_NS && local === 'Signature') {
      this.sig.count++;
      this.sigDepth = this.stack.length;
      this.sigPath = [];
      if (this.sig.count > 1) this.sig.problem ??= 'the package has more than one Signature';
      else if (
        !parent ||
        parent.local.toLowerCase() !== 'edxmlheader' ||
        siblingBefore?.toLowerCase() !== 'traceheaderlist'
      )
        this.sig.problem ??= 'the Signature is not after TraceHeaderList in edXMLHeader';
    } else {
      if (this.cteDepth)
        throw invalid('edXML/AttachmentEncoded/Attachment/ContentTransferEncoded', 'is not base64');
      const parentRendered = parent ? parent.rendered : this.rootScope;
      open.rendered = this.main.start(qname, prefix, scope, resolved, parentRendered);
      this.skel.start(qname, prefix, scope, resolved, parentRendered);
      if (local.toLowerCase() === 'contenttransferencoded') {
        this.cteDepth = this.stack.length;
        this.cte = new Base64Sink(this);
      }
    }
    if (selfClosing) this.closeTop();
  }

  private endTag(qname: string): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) throw notWellFormed(`an end tag </${qname.slice(0, 40)}> without a start tag`);
    if (top.qname !== qname)
      throw notWellFormed(`end tag </${qname.slice(0, 40)}> does not match <${top.qname.slice(0, 40)}>`);
    this.closeTop();
  }

  private closeTop(): void {
    const depth = this.stack.length;
    const top = this.stack.pop()!;
    if (this.sigDepth) {
      if (depth === this.sigDepth) this.sigDepth = 0;
      else this.sigEnd(top);
    } else {
      this.main.end(top.qname);
      if (this.cteDepth === depth) {
        const content = this.cte!.close();
        this.cte = undefined;
        this.cteDepth = 0;
        this.skel.chars(`stream:${this.contents.length}`);
        this.contents.push(content);
      }
      this.skel.end(top.qname);
    }
    if (this.stack.length === 0) this.rootDone = true;
  }

  // --- The Signature element ---

  private sigChars(s: string): void {
    this.sig.chars += s.length;
    if (this.sig.chars > MAX_SIGNATURE_CHARS) throw invalid('Signature', 'is too large');
    this.signedInfoWriter?.chars(s);
    this.sigText?.(s);
  }

  private sigStart(open: Open, prefix: string, attrs: Attr[]): void {
    const path = this.sigPath;
    const ds = open.uri === DSIG_NS;
    const name = ds ? open.local : `{${open.uri}}${open.local}`;
    path.push(name);
    const at = path.join('/');
    this.sig.chars += 64;
    if (ds && open.local === 'Signature') this.sig.problem ??= 'a Signature inside the Signature';
    if (this.signedInfoWriter) {
      const parentRendered = this.signedInfoRendered[this.signedInfoRendered.length - 1];
      this.signedInfoRendered.push(
        this.signedInfoWriter.start(open.qname, prefix, open.scope, attrs, parentRendered),
      );
    } else if (at === 'SignedInfo') {
      this.sig.signedInfoCount++;
      const parts: string[] = [];
      this.sig.signedInfo = parts;
      this.signedInfoWriter = new C14nWriter((s) => parts.push(s));
      this.signedInfoRendered = [
        this.signedInfoWriter.start(open.qname, prefix, open.scope, attrs, this.rootScope),
      ];
    }
    const attr = (n: string) => attrs.find((a) => a.qname === n)?.value;
    this.sigText = undefined;
    const refs = this.sig.references;
    switch (at) {
      case 'SignedInfo/CanonicalizationMethod':
        this.sig.c14n = attr('Algorithm');
        break;
      case 'SignedInfo/SignatureMethod':
        this.sig.method = attr('Algorithm');
        break;
      case 'SignedInfo/Reference':
        refs.push({ uri: attr('URI') ?? null, transforms: [], transformExtra: false, digest: '' });
        break;
      case 'SignedInfo/Reference/Transforms/Transform':
        refs[refs.length - 1].transforms.push(attr('Algorithm') ?? '');
        break;
      case 'SignedInfo/Reference/DigestMethod':
        refs[refs.length - 1].digestMethod = attr('Algorithm');
        break;
      case 'SignedInfo/Reference/DigestValue': {
        const r = refs[refs.length - 1];
        this.sigText = (s) => (r.digest += s);
        break;
      }
      case 'SignatureValue':
        this.sig.valueCount++;
        this.sigText = (s) => (this.sig.value += s);
        break;
      case 'KeyInfo/X509Data/X509Certificate':
        if (this.sig.certificate === undefined) {
          this.sig.certificate = '';
          this.sigText = (s) => (this.sig.certificate += s);
        }
        break;
      default:
        if (at.startsWith('SignedInfo/CanonicalizationMethod/')) this.sig.c14nExtra = true;
        if (at.startsWith('SignedInfo/Reference/Transforms/Transform/'))
          refs[refs.length - 1].transformExtra = true;
    }
  }

  private sigEnd(open: Open): void {
    this.sigPath.pop();
    this.sigText = undefined;
    if (this.signedInfoWriter) {
      this.signedInfoWriter.end(open.qname);
      this.signedInfoRendered.pop();
      if (this.signedInfoRendered.length === 0) {
        this.signedInfoWriter.flush();
        this.signedInfoWriter = undefined;
      }
    }
  }

  private signatureCheck(): SignatureCheck {
    const s = this.sig;
    if (s.count === 0) return { present: false, valid: false, trusted: false };
    const certText = s.certificate?.replace(/\s+/g, '');
    if (!certText)
      return { present: true, valid: false, trusted: false, problem: 'no X509Certificate in KeyInfo' };
    let cert;
    try {
      cert = certificateOf(certText);
    } catch {
      return { present: true, valid: false, trusted: false, problem: 'unreadable X509Certificate' };
    }
    const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
    const trusted = trustedSet(this.opts.trusted).has(fingerprint);
    const base = { present: true, trusted, signer: cert.subject.replace(/\n/g, ', '), fingerprint };
    if (s.problem) return { ...base, valid: false, problem: s.problem };
    if (s.signedInfoCount !== 1 || s.valueCount !== 1)
      return {
        ...base,
        valid: false,
        problem: 'the Signature must have one SignedInfo and one SignatureValue',
      };
    if (s.references.length !== 1 || s.references[0].uri !== '')
      return { ...base, valid: false, problem: 'the signature does not cover the whole package' };
    const ref = s.references[0];
    const ours =
      s.c14n === EXC_C14N &&
      !s.c14nExtra &&
      s.method === RSA_SHA256 &&
      ref.digestMethod === SHA256 &&
      !ref.transformExtra &&
      ref.transforms.length === 2 &&
      ref.transforms[0] === ENVELOPED &&
      ref.transforms[1] === EXC_C14N;
    if (!ours) {
      // Another profile (algorithms, transforms): xml-crypto checks it when the package was small enough to keep.
      if (this.raw) {
        const legacy = verifyPackage(
          Buffer.concat(this.raw).toString('utf8'),
          this.opts.trusted,
          LEGACY_VERIFY_BYTES,
        );
        return { ...legacy, problem: legacy.valid ? undefined : legacy.problem };
      }
      return {
        ...base,
        valid: false,
        problem: 'signature algorithms or transforms not supported for a package this large',
      };
    }
    if (ref.digest.replace(/\s+/g, '') !== this.digest.digest('base64'))
      return {
        ...base,
        valid: false,
        problem: 'signature does not verify: the digest of the package differs',
      };
    let ok = false;
    try {
      ok = verifySignature(
        'sha256',
        Buffer.from(s.signedInfo.join(''), 'utf8'),
        cert.publicKey,
        Buffer.from(s.value.replace(/\s+/g, ''), 'base64'),
      );
    } catch {
      ok = false;
    }
    return ok ? { ...base, valid: true } : { ...base, valid: false, problem: 'signature does not verify' };
  }
}

function normalizeNewlines(s: string): string {
  return s.indexOf('\r') < 0 ? s : s.replace(/\r\n?/g, '\n');
}

/**
 * The exclusive canonical form (without comments, without the enveloped Signature) of a document read in
 * chunks, as the streamed reader hashes it; for tests against xml-crypto.
 */
export async function streamedCanonicalForm(chunks: Iterable<Uint8Array>): Promise<string> {
  let text = '';
  const big = Number.MAX_SAFE_INTEGER;
  const reader = new EdxmlStreamReader({
    maxBytes: big,
    maxMetadataBytes: big,
    memoryBytes: big,
    trusted: [],
    onCanonical: (s) => (text += s),
  });
  try {
    for (const c of chunks) reader.push(c);
    reader.end();
  } finally {
    await reader.cleanup();
  }
  return text;
}
