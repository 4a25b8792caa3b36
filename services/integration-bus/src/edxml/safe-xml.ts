import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { EdxmlError, invalid } from './edxml.errors';

export interface SafeXmlLimits {
  maxBytes: number;
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;

/**
 * @xmldom/xmldom 0.9 compiles a new (large, unicode) RegExp from the same grammar parts for every end tag and
 * every markup declaration it reads (`g.reg('^', g.QName_group, g.S_OPT, '$')` in sax.js): a third of its
 * parse time, about 0.3 ms of CPU per federation package (issue 12's profile). Its expressions are built
 * without the `g`/`y` flags, so they keep no state between `exec`s and one compiled copy per combination of
 * parts serves every parse. The module's `reg` is looked up on each call (`g.reg`), so wrapping it once
 * here is enough.
 */
function memoizeXmldomRegExps(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const grammar = require('@xmldom/xmldom/lib/grammar') as {
    reg: ((...parts: (RegExp | string)[]) => RegExp) & { memoized?: true };
  };
  const reg = grammar.reg;
  if (typeof reg !== 'function' || reg.memoized) return;
  const compiled = new Map<string, RegExp>();
  const memoized = function (this: unknown, ...parts: (RegExp | string)[]): RegExp {
    const key = parts
      .map((p) => (typeof p === 'string' ? `s${p}` : `r${p.source}/${p.flags}`))
      .join('\u0000');
    let r = compiled.get(key);
    if (!r) {
      r = reg.apply(this, parts);
      if (r.global || r.sticky) return r;
      if (compiled.size < 256) compiled.set(key, r);
    }
    return r;
  };
  grammar.reg = Object.assign(memoized, { memoized: true as const });
}
memoizeXmldomRegExps();

/**
 * Parses untrusted XML. DOCTYPE and ENTITY declarations are refused before the parser sees the text,
 * so neither external entities (XXE) nor entity expansion (billion laughs) can happen; size and
 * nesting depth are bounded.
 */
export function parseSafeXml(input: string | Buffer, limits: SafeXmlLimits): Document {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > limits.maxBytes)
    throw new EdxmlError('EDXML_TOO_LARGE', `edXML is larger than ${limits.maxBytes} bytes`);
  if (Buffer.isBuffer(input) && (input[0] === 0xfe || input[0] === 0xff)) {
    throw invalid('document', 'must be UTF-8');
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  // Any markup declaration other than comments and CDATA is a DTD construct.
  const decl = /<!(?!--|\[CDATA\[)\s*([A-Za-z]*)/.exec(text);
  if (decl) {
    throw new EdxmlError(
      'EDXML_FORBIDDEN_CONSTRUCT',
      `<!${decl[1] || ''}> declarations are not accepted`,
      decl[1] || 'DOCTYPE',
    );
  }
  let problem: string | undefined;
  const parser = new DOMParser({
    onError: (level: string, msg: string) => {
      if (level !== 'warning') problem ??= msg;
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text.replace(/^\uFEFF/, ''), 'text/xml');
  } catch (e) {
    throw invalid('document', `is not well-formed XML: ${firstLine((e as Error).message)}`);
  }
  if (problem) throw invalid('document', `is not well-formed XML: ${firstLine(problem)}`);
  if (!doc.documentElement) throw invalid('document', 'has no root element');
  checkDepth(doc.documentElement, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
  return doc;
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 200);
}

function checkDepth(root: Element, max: number): void {
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > max)
      throw new EdxmlError('EDXML_INVALID', `elements are nested deeper than ${max}`, localName(node));
    for (let c = node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) stack.push([c, depth + 1]);
  }
}

/** Reading liberally: elements are matched by local name whatever their namespace or prefix. */
export function localName(n: Node): string {
  const el = n as Element;
  return el.localName ?? (el.nodeName ?? '').replace(/^.*:/, '');
}

export function childElements(parent: Node, name?: string): Element[] {
  const out: Element[] = [];
  for (let c = parent.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1 && (!name || localName(c).toLowerCase() === name.toLowerCase()))
      out.push(c as Element);
  }
  return out;
}

export function child(parent: Node, name: string): Element | undefined {
  return childElements(parent, name)[0];
}

export function requireChild(parent: Node, name: string, path: string): Element {
  const c = child(parent, name);
  if (!c) throw invalid(`${path}/${name}`);
  return c;
}

export function textOf(el: Node | undefined): string | undefined {
  if (!el) return undefined;
  const t = el.textContent ?? '';
  return t;
}

/** Optional text: absent or empty → undefined. */
export function optText(parent: Node | undefined, name: string): string | undefined {
  if (!parent) return undefined;
  const t = textOf(child(parent, name));
  return t === undefined || t.trim() === '' ? undefined : t.trim();
}

export function reqText(parent: Node, name: string, path: string): string {
  const t = optText(parent, name);
  if (t === undefined) throw invalid(`${path}/${name}`);
  return t;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** Escapes text and drops characters XML 1.0 cannot carry. */
export function esc(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/[&<>"'\r]/g, (c) => ESCAPES[c])
  );
}
