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

/**
 * `column = ANY(values)` through the hashed index (`values`: a text[] parameter). audit_hashtexts (migration
 * 1766700000000) is immutable: with the parameter bound it is evaluated while planning, so both arrays are
 * constants — the planner knows how many values there are (and can choose the index), and a condition that
 * filters rows looks each one up in a hash table (PostgreSQL hashes `= ANY(constant array)` of 9 values
 * or more). Planning estimates each value against the column's statistics: a few ms per thousand values.
 * (In a generic plan — a named prepared statement, which the service does not use — the function would run
 * per row.)
 */
export function hashedAny(column: string, values: string): string {
  return `hashtext(${column}) = ANY(audit_hashtexts(${values})) AND ${column} = ANY(${values})`;
}

/**
 * `column IN (values)` for a large set (`values`: a text[] parameter): a hashed SubPlan, built once per
 * query, then one hash probe per row whatever the number of values, and no estimate per value while
 * planning. `IS TRUE` keeps the IN a sub-plan (a bare IN at the top of WHERE becomes a semi-join, which
 * cannot keep leaf order under ORDER BY … LIMIT); for a NULL column both are false. Compares the text
 * itself: no hash, so no collision can leak. No index: the other filters (or leaf order) drive the scan.
 * PostgreSQL hashes the sub-plan when its rows fit in hash_mem (work_mem × hash_mem_multiplier, 8 MB by
 * default: about 150,000 codes); beyond that it would rescan the list per row.
 */
export function hashedSet(column: string, values: string): string {
  return `(${column} IN (SELECT unnest(${values}))) IS TRUE`;
}
