/** A signature dictionary as found in the file: where its Contents hole is and what it claims to cover. */
export interface FoundSignature {
  byteRange: number[];
  contentsHex: string;
  contentsStart: number;
  contentsEnd: number;
  subFilter?: string;
  problem?: string;
}

export interface ScanResult {
  /** The first `maxSignatures` signature dictionaries, in file order. */
  signatures: FoundSignature[];
  /** Every `/ByteRange` key in the file (counting stops at `maxSignatures + 1`). */
  count: number;
}

/**
 * A signature dictionary larger than this is not read: the backward search for its `<<` and the forward
 * walk to its `>>` each stop after this many bytes, so the work per signature is bounded whatever the file.
 */
export const MAX_DICTIONARY_BYTES = 1024 * 1024;

const BYTE_RANGE = '/ByteRange';
const MAX_INT_DIGITS = 15;

/**
 * Finds signature dictionaries in one pass: each `/ByteRange` key is located once, its enclosing dictionary
 * is found by a bounded backward search for the unmatched `<<`, then walked forward (strings and nested
 * dictionaries skipped) to its `>>`, taking `/Contents` and `/SubFilter` from that dictionary's own level.
 * Work is O(file) to count plus O(MAX_DICTIONARY_BYTES) per signature for at most `maxSignatures`
 * signatures; nothing is searched again from the start of the file.
 */
export function scanSignatures(pdf: Buffer, maxSignatures: number): ScanResult {
  const text = pdf.toString('latin1');
  const signatures: FoundSignature[] = [];
  let count = 0;
  for (let at = text.indexOf(BYTE_RANGE); at !== -1; at = text.indexOf(BYTE_RANGE, at + 1)) {
    if (isRegular(text.charCodeAt(at + BYTE_RANGE.length))) continue; // a longer name, e.g. /ByteRangeX
    count++;
    if (count > maxSignatures) break;
    signatures.push(readSignature(text, at));
  }
  return { signatures, count };
}

/** Whether the byte after a `/ByteRange` match ends the name (so it is the key, not e.g. /ByteRangeX). */
export function endsByteRangeKey(next: number): boolean {
  return !isRegular(next);
}

export const BYTE_RANGE_KEY = Buffer.from(BYTE_RANGE, 'latin1');

/**
 * The signature dictionary around the `/ByteRange` key at `keyAt` of a window of the file that starts at
 * file offset `windowStart` and holds at least MAX_DICTIONARY_BYTES on both sides of the key (or reaches
 * the file's start or end): the same answer as scanning the whole file, offsets in file coordinates.
 */
export function readSignatureInWindow(window: Buffer, windowStart: number, keyAt: number): FoundSignature {
  const found = readSignature(window.toString('latin1'), keyAt - windowStart);
  if (found.contentsStart < 0) return found;
  return {
    ...found,
    contentsStart: found.contentsStart + windowStart,
    contentsEnd: found.contentsEnd + windowStart,
  };
}

function readSignature(text: string, keyAt: number): FoundSignature {
  const byteRange = readByteRange(text, keyAt + BYTE_RANGE.length);
  const none = { byteRange: byteRange ?? [], contentsHex: '', contentsStart: -1, contentsEnd: -1 };
  if (!byteRange) return { ...none, problem: 'byte range is malformed' };
  const start = dictionaryStart(text, keyAt);
  if (start < 0) return { ...none, problem: 'signature dictionary not found' };
  const dict = walkDictionary(text, start);
  if (!dict) return { ...none, problem: 'signature dictionary is not closed within the size limit' };
  if (!dict.byteRangeKeys.includes(keyAt)) return { ...none, problem: 'signature dictionary not found' };
  if (dict.byteRangeKeys.length > 1)
    return { ...none, subFilter: dict.subFilter, problem: 'signature dictionary has several /ByteRange' };
  if (!dict.contents) return { ...none, subFilter: dict.subFilter, problem: 'no /Contents' };
  const { start: open, end } = dict.contents;
  return {
    byteRange,
    contentsHex: text.slice(open + 1, end - 1).replace(/\s+/g, ''),
    contentsStart: open,
    contentsEnd: end,
    subFilter: dict.subFilter,
  };
}

/** `[a b c d]` right after the key: four non-negative integers, nothing else. */
function readByteRange(text: string, from: number): number[] | undefined {
  let i = skipSpace(text, from);
  if (text[i] !== '[') return undefined;
  i++;
  const values: number[] = [];
  for (;;) {
    i = skipSpace(text, i);
    if (text[i] === ']') break;
    let j = i;
    while (j < text.length && j - i <= MAX_INT_DIGITS && isDigit(text.charCodeAt(j))) j++;
    if (j === i || j - i > MAX_INT_DIGITS || values.length === 4) return undefined;
    values.push(Number(text.slice(i, j)));
    i = j;
  }
  return values.length === 4 ? values : undefined;
}

/** Index of the `<<` that opens the dictionary holding position `at`, or -1 within the size limit. */
function dictionaryStart(text: string, at: number): number {
  const floor = Math.max(0, at - MAX_DICTIONARY_BYTES);
  let depth = 0;
  for (let i = at - 1; i > floor; i--) {
    const c = text.charCodeAt(i);
    if (c === RPAREN && !escaped(text, i)) {
      // The end of a literal string: its text may hold `<<` or `>>`, so jump to its opening parenthesis.
      i = literalStringStart(text, i, floor);
      if (i < 0) return -1;
    } else if (c === LT && text.charCodeAt(i - 1) === LT) {
      if (depth === 0) return i - 1;
      depth--;
      i--;
    } else if (c === GT && text.charCodeAt(i - 1) === GT) {
      depth++;
      i--;
    }
  }
  return -1;
}

interface Dictionary {
  byteRangeKeys: number[];
  contents?: { start: number; end: number };
  subFilter?: string;
}

/**
 * Walks the dictionary opened at `start` to its matching `>>`, skipping literal and hex strings, comments
 * and nested dictionaries/arrays. Only keys at the dictionary's own level are recorded.
 */
function walkDictionary(text: string, start: number): Dictionary | undefined {
  const limit = Math.min(text.length, start + MAX_DICTIONARY_BYTES);
  const out: Dictionary = { byteRangeKeys: [] };
  let depth = 1;
  let arrays = 0;
  let previousName: string | undefined; // the last token at this level, when it was a name
  let i = start + 2;
  while (i < limit) {
    const c = text.charCodeAt(i);
    const top = depth === 1 && arrays === 0;
    if (c === LT && text.charCodeAt(i + 1) === LT) {
      depth++;
      i += 2;
      previousName = undefined;
    } else if (c === GT && text.charCodeAt(i + 1) === GT) {
      depth--;
      i += 2;
      if (depth === 0) return out;
      previousName = undefined;
    } else if (c === LT) {
      const close = text.indexOf('>', i + 1);
      if (close === -1 || close >= limit) return undefined;
      if (top && previousName === 'Contents' && !out.contents) out.contents = { start: i, end: close + 1 };
      i = close + 1;
      previousName = undefined;
    } else if (c === LPAREN) {
      i = skipLiteralString(text, i, limit);
      if (i < 0) return undefined;
      previousName = undefined;
    } else if (c === PERCENT) {
      while (i < limit && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) i++;
    } else if (c === SLASH) {
      let j = i + 1;
      while (j < limit && isRegular(text.charCodeAt(j))) j++;
      const name = text.slice(i + 1, j);
      if (top) {
        if (name === 'ByteRange') out.byteRangeKeys.push(i);
        if (previousName === 'SubFilter' && out.subFilter === undefined) out.subFilter = name;
        previousName = name;
      }
      i = j;
    } else if (c === LBRACKET) {
      arrays++;
      i++;
      previousName = undefined;
    } else if (c === RBRACKET) {
      arrays = Math.max(0, arrays - 1);
      i++;
    } else if (isSpace(c)) {
      i++;
    } else {
      while (i < limit && isRegular(text.charCodeAt(i))) i++;
      if (!isRegular(c)) i++; // a stray delimiter
      previousName = undefined;
    }
  }
  return undefined;
}

/** Index of the `(` opening the literal string whose closing `)` is at `end`, or -1 past `floor`. */
function literalStringStart(text: string, end: number, floor: number): number {
  let nesting = 0;
  for (let i = end; i >= floor; i--) {
    const c = text.charCodeAt(i);
    if ((c !== LPAREN && c !== RPAREN) || escaped(text, i)) continue;
    if (c === RPAREN) nesting++;
    else if (--nesting === 0) return i;
  }
  return -1;
}

/** Whether the character at `i` is escaped by an odd number of backslashes before it. */
function escaped(text: string, i: number): boolean {
  let n = 0;
  while (i - n - 1 >= 0 && text.charCodeAt(i - n - 1) === BACKSLASH) n++;
  return n % 2 === 1;
}

/** Index after the `)` closing the literal string opened at `i` (nested parentheses, backslash escapes). */
function skipLiteralString(text: string, i: number, limit: number): number {
  let nesting = 0;
  for (; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === LPAREN) nesting++;
    else if (c === RPAREN && --nesting === 0) return i + 1;
  }
  return -1;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

const LT = 0x3c;
const GT = 0x3e;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const SLASH = 0x2f;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const CR = 0x0d;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** PDF white-space characters (ISO 32000-1, 7.2.2). */
function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === CR || c === 0x09 || c === 0x0c || c === 0x00;
}

/** Neither white space nor a delimiter: part of a name, number or keyword. NaN (past the end) is not. */
function isRegular(c: number): boolean {
  if (Number.isNaN(c) || isSpace(c)) return false;
  return !(
    c === LPAREN ||
    c === RPAREN ||
    c === LT ||
    c === GT ||
    c === LBRACKET ||
    c === RBRACKET ||
    c === 0x7b ||
    c === 0x7d ||
    c === SLASH ||
    c === PERCENT
  );
}
