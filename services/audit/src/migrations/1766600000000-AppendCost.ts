import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cheaper appends (issue 12).
 *
 * The filter indexes on (action | actor_sub | organization_code | resource_id, leaf_index) become indexes
 * on (hashtext(column), leaf_index): a 4-byte key instead of the text, about half the size, so each append
 * writes less WAL (smaller index tuples, and fewer full-page images: resource and actor ids fall on random
 * pages). Queries name hashtext(column) = hashtext(value) AND column = value (see events/hashed-any.ts):
 * the same rows, in leaf order, from the index.
 *
 * The B-tree on (time, leaf_index) becomes a BRIN index on time. Leaves are appended in about the order of
 * their time, so a BRIN summary of each range of heap pages (min/max time)
 * finds a from/to window as well as the B-tree did, at almost no cost per insert (no tree to descend, no
 * WAL record per row; ranges are summarized by (auto)vacuum, and unsummarized ones are simply read). A
 * leaf whose time is out of order only widens its range's min/max: BRIN is lossy, every row is rechecked,
 * so results are exact whatever the order.
 */
const HASHED = [
  ['action', 'action'],
  ['actor', 'actor_sub'],
  ['org', 'organization_code'],
  ['resource', 'resource_id'],
] as const;

export class AppendCost1766600000000 implements MigrationInterface {
  name = 'AppendCost1766600000000';

  async up(q: QueryRunner): Promise<void> {
    for (const [name, column] of HASHED) {
      await q.query(`CREATE INDEX leaves_${name}_h_idx ON leaves (hashtext(${column}), leaf_index)`);
      await q.query(`DROP INDEX leaves_${name}_idx`);
    }
    await q.query(
      `CREATE INDEX leaves_time_brin ON leaves USING brin (time) WITH (pages_per_range = 32, autosummarize = on)`,
    );
    await q.query(`DROP INDEX leaves_time_idx`);
    // Statistics of the new index expressions now, not at the next autovacuum: without them the planner
    // guesses how many rows a hash matches, and may sort a whole action's leaves instead of reading its
    // index in leaf order.
    await q.query(`ANALYZE leaves`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX leaves_time_idx ON leaves (time, leaf_index)`);
    await q.query(`DROP INDEX leaves_time_brin`);
    for (const [name, column] of HASHED) {
      await q.query(`CREATE INDEX leaves_${name}_idx ON leaves (${column}, leaf_index)`);
      await q.query(`DROP INDEX leaves_${name}_h_idx`);
    }
  }
}
