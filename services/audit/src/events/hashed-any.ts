/*
 * The filtered columns of `leaves` (action, actor_sub, organization_code, resource_id) are indexed by
 * (hashtext(column), leaf_index) (migration 1766600000000): 4-byte keys instead of text, so the indexes are
 * about half as large and an append writes less WAL. A query names the hash, which finds the index
 * entries in leaf order, and the column itself, which keeps the answer exact (a value sharing the hash of
 * another is dropped by the second condition).
 */

/** `column = param` through the hashed index. */
export function hashedEqual(column: string, param: string): string {
  return `hashtext(${column}) = hashtext(${param}) AND ${column} = ${param}`;
}

/** `column = ANY(values)` through the hashed index (`values`: a text[] parameter). */
export function hashedAny(column: string, values: string): string {
  return `hashtext(${column}) = ANY(ARRAY(SELECT hashtext(v) FROM unnest(${values}) AS v)) AND ${column} = ANY(${values})`;
}
