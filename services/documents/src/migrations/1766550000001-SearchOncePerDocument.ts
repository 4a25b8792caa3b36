import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `documents.search` is computed once per document of a batch of deliveries, not once per incoming copy. As a
 * generated column it was computed for every row: a document delivered to three local recipients parsed its
 * folded subject, notation and content three times (`to_tsvector` + `unaccent`: ~30 µs per row of ~90 µs for a
 * five-word subject, ~1 µs per word more; a long content delivered to hundreds of organizations paid that
 * hundreds of times). The column becomes a plain one with the same values (`DROP EXPRESSION` keeps them, no
 * rewrite), and `document_search()` is its definition, unchanged:
 * - the batch INSERT of incoming copies computes it per distinct document and gives each copy its value;
 * - any other INSERT that leaves it out gets it from a trigger (`WHEN (NEW.search IS NULL)`: no function
 *   call where a writer gave it);
 * - any UPDATE that changes subject, notation or content (or writes `search` itself) gets it recomputed from
 *   the row's new values by a trigger, so the stored vector always matches its text.
 */
export class SearchOncePerDocument1766550000001 implements MigrationInterface {
  name = 'SearchOncePerDocument1766550000001';

  async up(q: QueryRunner): Promise<void> {
    // Not STRICT (coalesce takes NULLs) and IMMUTABLE throughout, so the planner inlines it.
    await q.query(`
      CREATE FUNCTION document_search(subject text, notation text, content text) RETURNS tsvector
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $$ SELECT to_tsvector('simple', fold_text(coalesce(subject, '') || ' ' || coalesce(notation, '') || ' ' || coalesce(content, ''))) $$`);
    await q.query(`ALTER TABLE documents ALTER COLUMN search DROP EXPRESSION`);
    await q.query(`
      CREATE FUNCTION documents_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.search := document_search(NEW.subject, NEW.notation, NEW.content);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER documents_search_insert BEFORE INSERT ON documents
      FOR EACH ROW WHEN (NEW.search IS NULL) EXECUTE FUNCTION documents_search_fill()`);
    await q.query(`
      CREATE TRIGGER documents_search_update BEFORE UPDATE OF subject, notation, content, search ON documents
      FOR EACH ROW WHEN ((NEW.subject, NEW.notation, NEW.content, NEW.search)
        IS DISTINCT FROM (OLD.subject, OLD.notation, OLD.content, OLD.search))
      EXECUTE FUNCTION documents_search_fill()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER IF EXISTS documents_search_update ON documents');
    await q.query('DROP TRIGGER IF EXISTS documents_search_insert ON documents');
    await q.query('DROP FUNCTION IF EXISTS documents_search_fill()');
    const [{ multi }]: { multi: boolean }[] = await q.query(
      `SELECT coalesce((SELECT array_length(indkey::int2[], 1) = 2 FROM pg_index
         WHERE indexrelid = to_regclass('documents_search_idx')), false) AS multi`,
    );
    await q.query('ALTER TABLE documents DROP COLUMN search');
    await q.query(`
      ALTER TABLE documents ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', fold_text(coalesce(subject, '') || ' ' || coalesce(notation, '') || ' ' || coalesce(content, '')))
      ) STORED`);
    await q.query(
      multi
        ? `CREATE INDEX documents_search_idx ON documents USING gin (organization_code, search) WITH (gin_pending_list_limit = 256)`
        : `CREATE INDEX documents_search_idx ON documents USING gin (search) WITH (gin_pending_list_limit = 256)`,
    );
    await q.query('DROP FUNCTION IF EXISTS document_search(text, text, text)');
  }
}
