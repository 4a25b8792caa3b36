import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Less PostgreSQL work per delivery (issue 12), every guarantee kept:
 *
 * - The search index's pending list is flushed in small pieces. With GIN `fastupdate` an INSERT appends its
 *   entries to a pending list, and the INSERT that finds the list over `gin_pending_list_limit` (4 MB by default)
 *   merges all of it into the index first: one batch of incoming copies in ~14,000 then spent 200–240 ms of CPU
 *   more (a p99 outlier for the hundred deliveries in it). At 256 kB the worst batch spent 30 ms more, at the
 *   same mean CPU per row (fastupdate off costs 1.6–1.8× the CPU per row: not that). Search reads the pending
 *   list too, so nothing it finds changes.
 * - `documents_source_idx` goes: no statement can use it (the only one filtering on `source_document_id`
 *   ORs it with `edxml_document_id`, which has no index for incoming rows, so it walks the organization's page
 *   index), and every incoming copy paid an index insert for it (~6 µs of ~90 µs per row).
 * - `document_recipients` loses its foreign key to `documents`: its per-row check (`SELECT … FOR KEY SHARE`,
 *   one statement per recipient row, 9,999 in a 10,000-delivery step) guarded nothing the code does not:
 *   recipient rows are inserted only for the ids that the send's `UPDATE documents … RETURNING` just returned in
 *   the same transaction, and no document is ever deleted (nothing to cascade).
 * - `fold_text` becomes inlinable when the role may create a C function (a superuser): `unaccent(regdictionary,
 *   text)` is STABLE, so the IMMUTABLE SQL wrapper could not be inlined and ran as a nested SQL statement per
 *   value (1.3 per delivery: each stored `search`). An IMMUTABLE declaration of the same C function (the
 *   extension's `unaccent_dict`) lets the planner inline `lower(unaccent(…))`; the folded text is the same,
 *   byte for byte, so the stored `search` values stay valid. Without that privilege the function is left as it was.
 */
export class DocumentsWriteCost1766550000000 implements MigrationInterface {
  name = 'DocumentsWriteCost1766550000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX documents_search_idx SET (gin_pending_list_limit = 256)`);
    await q.query(`DROP INDEX IF EXISTS documents_source_idx`);
    await dropForeignKey(q, 'document_recipients', 'documents');

    const [ext]: { schema: string }[] = await q.query(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
       WHERE e.extname = 'unaccent'`,
    );
    const [{ superuser, folds }]: { superuser: boolean; folds: boolean }[] = await q.query(
      `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
              EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'fold_text' AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                AND prosrc LIKE '%unaccent%') AS folds`,
    );
    // Only where fold_text is unaccent's (not the translate() fallback, which is inlinable already).
    if (ext && superuser && folds) {
      const s = ext.schema.replace(/"/g, '""');
      await q.query(`
        CREATE FUNCTION unaccent_immutable(regdictionary, text) RETURNS text
        LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT AS '$libdir/unaccent', 'unaccent_dict'`);
      const [{ schema }]: { schema: string }[] = await q.query(`SELECT current_schema() AS schema`);
      const own = schema.replace(/"/g, '""');
      await q.query(`
        CREATE OR REPLACE FUNCTION fold_text(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower("${own}".unaccent_immutable('"${s}".unaccent'::regdictionary, t)) $$`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const [own]: { n: number }[] = await q.query(
      `SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'unaccent_immutable'
         AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
    );
    if (own.n > 0) {
      const [{ schema }]: { schema: string }[] = await q.query(
        `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'unaccent'`,
      );
      const s = schema.replace(/"/g, '""');
      await q.query(`
        CREATE OR REPLACE FUNCTION fold_text(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower("${s}".unaccent('"${s}".unaccent'::regdictionary, t)) $$`);
      await q.query(`DROP FUNCTION unaccent_immutable(regdictionary, text)`);
    }
    await q.query(`
      ALTER TABLE document_recipients ADD FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE`);
    await q.query(
      `CREATE INDEX documents_source_idx ON documents (source_document_id) WHERE source_document_id IS NOT NULL`,
    );
    await q.query(`ALTER INDEX documents_search_idx RESET (gin_pending_list_limit)`);
  }
}

/** Drops the foreign key(s) of `table` that reference `referenced` (their names were generated). */
async function dropForeignKey(q: QueryRunner, table: string, referenced: string): Promise<void> {
  const rows: { name: string }[] = await q.query(
    `SELECT conname AS name FROM pg_constraint
     WHERE contype = 'f' AND conrelid = to_regclass($1) AND confrelid = to_regclass($2)`,
    [table, referenced],
  );
  for (const r of rows) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT "${r.name.replace(/"/g, '""')}"`);
}
