import { StringDecoder } from 'node:string_decoder';

/** The longest JSON string kept (every string but the streamed one). */
const MAX_STRING = 1024 * 1024;

type Frame = { kind: 'object'; key?: string; expectKey: boolean } | { kind: 'array' };

/**
 * Reads a JSON answer as it arrives, handing the text of one string — the value at `path` (e.g.
 * `['data', 'content']`, the base64 package of `getEdoc`) — to `onTarget` in pieces instead of holding it;
 * the scalars of the top-level object (`status`, `ErrorCode`, `ErrorDesc`…) are kept in `top`. Other strings
 * are bounded (MAX_STRING); malformed JSON throws.
 */
export class StreamingJsonScanner {
  readonly top: Record<string, string | number | boolean | null> = {};
  sawTarget = false;
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  private readonly stack: Frame[] = [];
  private inString = false;
  private stringIsKey = false;
  private stringIsTarget = false;
  private str = '';
  private literal = '';
  private done = false;

  constructor(
    private readonly path: string[],
    private readonly onTarget: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf += this.decoder.write(chunk);
    this.scan(false);
  }

  end(): void {
    this.buf += this.decoder.end();
    this.scan(true);
    if (this.inString || this.stack.length || !this.done) throw new Error('the JSON answer ends early');
  }

  private fail(what: string): never {
    throw new Error(`malformed JSON answer: ${what}`);
  }

  private atTarget(): boolean {
    if (this.stack.length !== this.path.length) return false;
    for (let i = 0; i < this.stack.length; i++) {
      const f = this.stack[i];
      if (f.kind !== 'object' || f.key !== this.path[i]) return false;
    }
    return true;
  }

  private scan(final: boolean): void {
    const b = this.buf;
    let i = 0;
    const n = b.length;
    while (i < n) {
      if (this.inString) {
        const q = b.indexOf('"', i);
        const bs = b.indexOf('\\', i);
        const stop = q < 0 ? bs : bs < 0 ? q : Math.min(q, bs);
        if (stop < 0) {
          this.stringPiece(b.slice(i));
          i = n;
          break;
        }
        if (stop > i) this.stringPiece(b.slice(i, stop));
        if (stop === q) {
          i = q + 1;
          this.stringEnd();
          continue;
        }
        // An escape: wait for it whole.
        if (stop + 1 >= n) {
          i = stop;
          break;
        }
        const e = b[stop + 1];
        if (e === 'u') {
          if (stop + 6 > n) {
            i = stop;
            break;
          }
          const hex = b.slice(stop + 2, stop + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          this.stringPiece(String.fromCharCode(parseInt(hex, 16)));
          i = stop + 6;
        } else {
          const map: Record<string, string> = {
            '"': '"',
            '\\': '\\',
            '/': '/',
            b: '\b',
            f: '\f',
            n: '\n',
            r: '\r',
            t: '\t',
          };
          const v = map[e];
          if (v === undefined) this.fail('bad escape');
          this.stringPiece(v);
          i = stop + 2;
        }
        continue;
      }
      const c = b[i];
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
        i++;
        continue;
      }
      if (this.literal || /[-0-9a-z.+]/i.test(c)) {
        let j = i;
        while (j < n && /[-0-9a-zA-Z.+]/.test(b[j])) j++;
        this.literal += b.slice(i, j);
        if (this.literal.length > 64) this.fail('a literal too long');
        i = j;
        if (j === n && !final) break;
        this.value(this.parseLiteral(this.literal));
        this.literal = '';
        continue;
      }
      i++;
      switch (c) {
        case '{':
          this.beforeValue();
          this.stack.push({ kind: 'object', expectKey: true });
          break;
        case '[':
          this.beforeValue();
          this.stack.push({ kind: 'array' });
          break;
        case '}':
        case ']': {
          const f = this.stack.pop();
          if (!f || (c === '}') !== (f.kind === 'object')) this.fail(`unexpected ${c}`);
          this.afterValue();
          break;
        }
        case ':':
        case ',': {
          const f = this.stack[this.stack.length - 1];
          if (!f) this.fail(`unexpected ${c}`);
          if (c === ',' && f.kind === 'object') f.expectKey = true;
          break;
        }
        case '"': {
          const f = this.stack[this.stack.length - 1];
          if (!f) this.fail('a string outside an object');
          this.inString = true;
          this.str = '';
          this.stringIsKey = f.kind === 'object' && f.expectKey;
          this.stringIsTarget = !this.stringIsKey && this.atTarget();
          if (this.stringIsTarget) this.sawTarget = true;
          break;
        }
        default:
          this.fail(`unexpected ${c}`);
      }
    }
    this.buf = b.slice(i);
    if (this.buf.length > MAX_STRING) this.fail('a token too long');
  }

  private parseLiteral(t: string): number | boolean | null {
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t === 'null') return null;
    const v = Number(t);
    if (!Number.isFinite(v)) this.fail('a bad literal');
    return v;
  }

  private beforeValue(): void {
    if (this.done) this.fail('text after the answer');
  }

  private afterValue(): void {
    if (this.stack.length === 0) this.done = true;
  }

  private value(v: string | number | boolean | null): void {
    this.beforeValue();
    const f = this.stack[this.stack.length - 1];
    if (!f) this.fail('a value outside an object');
    if (this.stack.length === 1 && f.kind === 'object' && f.key !== undefined) this.top[f.key] = v;
  }

  private stringPiece(s: string): void {
    if (this.stringIsTarget) {
      this.onTarget(s);
      return;
    }
    this.str += s;
    if (this.str.length > MAX_STRING) this.fail('a string too long');
  }

  private stringEnd(): void {
    this.inString = false;
    const f = this.stack[this.stack.length - 1];
    if (this.stringIsKey && f.kind === 'object') {
      f.key = this.str;
      f.expectKey = false;
    } else if (!this.stringIsTarget) this.value(this.str);
    this.str = '';
  }
}

/** Base64 text in pieces to bytes in blocks (whitespace ignored; anything else not base64 is refused). */
export class Base64Blocks {
  private pending = '';

  push(text: string): Buffer | undefined {
    const t = /[\s]/.test(text) ? text.replace(/\s+/g, '') : text;
    this.pending += t;
    const whole = this.pending.length - (this.pending.length % 4);
    if (whole < 65536) return undefined;
    return this.take(whole);
  }

  end(): Buffer | undefined {
    if (this.pending.length % 4 !== 0) throw new Error('the package is not base64');
    return this.pending ? this.take(this.pending.length) : undefined;
  }

  private take(n: number): Buffer {
    const text = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    // Node skips characters outside the alphabet (fewer bytes come out) and reads '-' and '_' too.
    const out = Buffer.from(text, 'base64');
    const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    if (
      out.length !== (text.length / 4) * 3 - pad ||
      text.indexOf('-') >= 0 ||
      text.indexOf('_') >= 0 ||
      (pad && this.pending.length)
    )
      throw new Error('the package is not base64');
    return out;
  }
}
