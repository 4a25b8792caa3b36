import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit_hashtexts(text[])`: the hashtext of each value, as an array (events/hashed-any.ts hashedAny: an
 * auditor's scope, the resources of an archive's proofs). Immutable, so with the values bound (every query
 * of the service: an unnamed statement, planned with its parameters) PostgreSQL evaluates it once while
 * planning: the index condition `hashtext(column) = ANY(<constant array>)` — the planner sees how many
 * values there are, and a constant array of 9 values or more is searched through a hash table when the
 * condition filters rows, instead of linearly per row as the sub-select `ARRAY(SELECT hashtext(v) …)`
 * before it.
 */
export class ScopeHashes1766700000000 implements MigrationInterface {
  name = 'ScopeHashes1766700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE FUNCTION audit_hashtexts(text[]) RETURNS integer[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
         AS 'SELECT coalesce(array_agg(hashtext(v)), ''{}'') FROM unnest($1) AS v'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION audit_hashtexts(text[])`);
  }
}
