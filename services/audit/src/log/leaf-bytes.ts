import canonicalize from 'canonicalize';

/** leafBytes of a stored event: RFC 8785 canonical JSON (API.md). */
export function leafBytes(event: unknown): Buffer {
  const text = canonicalize(event);
  if (text === undefined) throw new Error('event cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}
