import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Vietnamese letters with diacritics and their base letters, for the fallback fold function. */
const VI_FROM =
  'àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ' +
  'ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ';
const VI_TO =
  'aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd' +
  'AAAAAAAAAAAAAAAAAEEEEEEEEEEEIIIIIOOOOOOOOOOOOOOOOOUUUUUUUUUUUYYYYYD';

/** Installs a contrib extension once per database if the server has it; false when it cannot. */
async function tryExtension(q: QueryRunner, name: string): Promise<boolean> {
  const [{ available }] = await q.query(
    `SELECT count(*)::int AS available FROM pg_available_extensions WHERE name = $1`,
    [name],
  );
  if (available === 0) return false;
  // Several services' schemas migrate concurrently in one database; extensions are database-wide.
  await q.query(`SELECT pg_advisory_xact_lock(hashtext('lienthong.extension.' || $1))`, [name]);
  await q.query(`SAVEPOINT ext`);
  try {
    await q.query(`CREATE EXTENSION IF NOT EXISTS ${name} SCHEMA public`);
    await q.query(`RELEASE SAVEPOINT ext`);
    return true;
  } catch {
    await q.query(`ROLLBACK TO SAVEPOINT ext`);
    return false;
  }
}

export class Documents1763900000000 implements MigrationInterface {
  name = 'Documents1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // Diacritic folding for search: `unaccent` when the server has it (installed once per database, under
    // an advisory lock because several schemas migrate concurrently), else a translate() of Vietnamese
    // letters. Wrapped in an IMMUTABLE function so a generated column and its index may use it.
    const useUnaccent = await tryExtension(q, 'unaccent');
    // btree_gin lets one GIN index serve "this organization's documents matching these words".
    const useBtreeGin = await tryExtension(q, 'btree_gin');
    if (useUnaccent) {
      const [{ schema }] = await q.query(
        `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'`,
      );
      await q.query(`
        CREATE FUNCTION fold_text(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower("${schema}".unaccent('"${schema}".unaccent'::regdictionary, t)) $$`);
    } else {
      await q.query(`
        CREATE FUNCTION fold_text(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower(translate(t, '${VI_FROM}', '${VI_TO}')) $$`);
    }

    await q.query(`
      CREATE TABLE documents (
        id                     uuid PRIMARY KEY,
        organization_code      text NOT NULL,
        direction              text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
        number                 text NOT NULL,
        notation               text NOT NULL,
        type                   text NOT NULL,
        type_name              text,
        subject                text NOT NULL,
        content                text,
        promulgation_place     text,
        promulgation_date      date NOT NULL,
        signer                 jsonb NOT NULL,
        secrecy                text NOT NULL CHECK (secrecy IN ('none', 'confidential', 'secret', 'top-secret')),
        urgency                text NOT NULL CHECK (urgency IN ('normal', 'urgent', 'very-urgent', 'flash')),
        steering               boolean NOT NULL DEFAULT false,
        due_date               date,
        recipients             text[] NOT NULL DEFAULT '{}',
        state                  text NOT NULL,
        status_code            text,
        status_reason          text,
        assignee               text,
        from_organization_code text,
        source_document_id     text,
        edxml_document_id      text,
        delivery_id            text UNIQUE,
        register_year          integer NOT NULL,
        register_number        integer NOT NULL,
        arrival_at             timestamptz,
        sent_at                timestamptz,
        completed_at           timestamptz,
        created_by             text NOT NULL,
        created_at             timestamptz NOT NULL DEFAULT now(),
        updated_at             timestamptz NOT NULL DEFAULT now(),
        search                 tsvector GENERATED ALWAYS AS (
          to_tsvector('simple', fold_text(coalesce(subject, '') || ' ' || coalesce(notation, '') || ' ' || coalesce(content, '')))
        ) STORED,
        UNIQUE (organization_code, direction, register_year, register_number)
      )`);
    await q.query(
      useBtreeGin
        ? `CREATE INDEX documents_search_idx ON documents USING gin (organization_code, search)`
        : `CREATE INDEX documents_search_idx ON documents USING gin (search)`,
    );
    await q.query(
      `CREATE INDEX documents_org_page_idx ON documents (organization_code, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX documents_source_idx ON documents (source_document_id) WHERE source_document_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE document_recipients (
        document_id       uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        organization_code text NOT NULL,
        status            text NOT NULL,
        status_code       text,
        reason            text,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (document_id, organization_code)
      )`);
    await q.query(`
      CREATE TABLE register_counters (
        organization_code text NOT NULL,
        year              integer NOT NULL,
        direction         text NOT NULL,
        last_number       integer NOT NULL,
        PRIMARY KEY (organization_code, year, direction)
      )`);
    await q.query(`
      CREATE TABLE attachments (
        id           uuid PRIMARY KEY,
        document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        name         text NOT NULL,
        content_type text NOT NULL,
        size         bigint NOT NULL,
        sha256       text NOT NULL,
        signature    jsonb NOT NULL,
        signatures   jsonb NOT NULL DEFAULT '[]',
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX attachments_document_idx ON attachments (document_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS attachments');
    await q.query('DROP TABLE IF EXISTS register_counters');
    await q.query('DROP TABLE IF EXISTS document_recipients');
    await q.query('DROP TABLE IF EXISTS documents');
    await q.query('DROP FUNCTION IF EXISTS fold_text(text)');
  }
}
