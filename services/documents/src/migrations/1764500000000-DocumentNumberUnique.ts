import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Number and notation are unique per office and register year (API.md, 2026-11-30): the edXML DocumentId is
 * built from them, so a second outgoing document with the same pair would be dropped downstream as a
 * duplicate and stay queued forever. The index makes the second registration fail (409 DOCUMENT_NUMBER_TAKEN).
 */
export class DocumentNumberUnique1764500000000 implements MigrationInterface {
  name = 'DocumentNumberUnique1764500000000';

  async up(q: QueryRunner): Promise<void> {
    const dupes: { organization_code: string; register_year: number; number: string; notation: string }[] =
      await q.query(`
        SELECT organization_code, register_year, number, notation FROM documents
        WHERE direction = 'outgoing'
        GROUP BY 1, 2, 3, 4 HAVING count(*) > 1
        UNION
        SELECT organization_code, min(register_year), number, notation FROM documents
        WHERE direction = 'outgoing'
        GROUP BY organization_code, promulgation_date, number, notation HAVING count(*) > 1
        LIMIT 20`);
    if (dupes.length > 0) {
      // Refuse to guess which of two registered documents keeps its number: an operator renumbers one.
      throw new Error(
        `outgoing documents share a number and notation within a register year; renumber them first: ${dupes
          .map((d) => `${d.organization_code} ${d.register_year} ${d.number}/${d.notation}`)
          .join('; ')}`,
      );
    }
    await q.query(`
      CREATE UNIQUE INDEX documents_outgoing_number_key
        ON documents (organization_code, register_year, number, notation) WHERE direction = 'outgoing'`);
    // The edXML DocumentId is <office>,<promulgation date>,<number>/<notation>: a document registered in January
    // with last year's promulgation date could otherwise repeat one across register years.
    await q.query(`
      CREATE UNIQUE INDEX documents_outgoing_edxml_id_key
        ON documents (organization_code, promulgation_date, number, notation) WHERE direction = 'outgoing'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS documents_outgoing_edxml_id_key');
    await q.query('DROP INDEX IF EXISTS documents_outgoing_number_key');
  }
}
