import { testDatabaseUrl } from '@lienthong/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { deferUntilCommit, PipeliningClient, preparedQuery } from '@lienthong/common';

jest.setTimeout(30_000);

/**
 * PipeliningClient on real PostgreSQL: the same statements in the same order and the same outcome as pg's
 * own client, in fewer writes (each write the client waits on is a round trip).
 */
describe('PipeliningClient', () => {
  const schema = `pipe_${randomBytes(4).toString('hex')}`;
  let url: string;
  let ds: DataSource;
  /** Writes to the server (each one flush of the socket). */
  let writes = 0;
  /** Statements the server answered (ReadyForQuery messages). */
  let answers = 0;

  beforeAll(async () => {
    url = await testDatabaseUrl();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.query(`CREATE TABLE ${schema}.t (id int PRIMARY KEY, v text NOT NULL)`);
    await c.end();
    class Counting extends PipeliningClient {
      constructor(config?: unknown) {
        super(config);
        const con = (
          this as unknown as {
            connection: {
              stream: NodeJS.EventEmitter;
              on: (event: string, fn: () => void) => void;
            };
          }
        ).connection;
        con.on('readyForQuery', () => answers++);
        const stream = con.stream as unknown as {
          _write: (...a: unknown[]) => unknown;
          _writev?: (...a: unknown[]) => unknown;
        };
        const w = stream._write.bind(stream);
        stream._write = (...a: unknown[]) => (writes++, w(...a));
        if (stream._writev) {
          const wv = stream._writev.bind(stream);
          stream._writev = (...a: unknown[]) => (writes++, wv(...a));
        }
      }
    }
    ds = new DataSource({
      type: 'postgres',
      url,
      extra: { Client: Counting, max: 1, options: `-c search_path=${schema}` },
    });
    await ds.initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  beforeEach(async () => {
    await ds.query('TRUNCATE t');
    writes = 0;
    answers = 0;
  });

  const count = async () => ((await ds.query('SELECT count(*)::int AS n FROM t')) as { n: number }[])[0].n;

  it('sends BEGIN with the first statement and a deferred statement with the COMMIT: two writes', async () => {
    const result = await ds.transaction(async (m) => {
      const rows = await preparedQuery<{ id: number }>(
        m,
        'pipe_ins',
        'INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id',
        [1, 'a'],
      );
      await deferUntilCommit(m, { text: 'INSERT INTO t (id, v) VALUES ($1, $2)', values: [2, 'b'] }, () =>
        m.query('INSERT INTO t (id, v) VALUES ($1, $2)', [2, 'b']),
      );
      return rows;
    });
    expect(result).toEqual([{ id: 1 }]);
    // BEGIN, INSERT, INSERT, COMMIT answered; written in two writes (pg's own client: four).
    expect(answers).toBe(4);
    expect(writes).toBe(2);
    expect(await count()).toBe(2);
  });

  it('keeps the order: a deferred statement goes before the next statement of the transaction', async () => {
    await ds.transaction(async (m) => {
      await m.query('INSERT INTO t (id, v) VALUES (1, $1)', ['a']);
      await deferUntilCommit(
        m,
        { name: 'pipe_upd', text: `UPDATE t SET v = $1 WHERE id = 1`, values: ['deferred'] },
        async () => undefined,
      );
      const [{ v }] = (await m.query('SELECT v FROM t WHERE id = 1')) as { v: string }[];
      expect(v).toBe('deferred');
    });
    expect(await ds.query('SELECT v FROM t')).toEqual([{ v: 'deferred' }]);
  });

  it('rolls back everything when the deferred statement fails, and rethrows its error', async () => {
    await expect(
      ds.transaction(async (m) => {
        await m.query('INSERT INTO t (id, v) VALUES (1, $1)', ['a']);
        await deferUntilCommit(
          m,
          { text: 'INSERT INTO t (id, v) VALUES ($1, $2)', values: [1, 'duplicate'] },
          async () => undefined,
        );
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await count()).toBe(0);
    // The connection is clean afterwards: outside any transaction, not in pipeline mode.
    await ds.query('INSERT INTO t (id, v) VALUES (3, $1)', ['c']);
    const [{ n }] = (await ds.query('SELECT count(*)::int AS n FROM t')) as { n: number }[];
    expect(n).toBe(1);
  });

  it('rolls back a failed statement pipelined with BEGIN, and the transaction stays atomic', async () => {
    await ds.query('INSERT INTO t (id, v) VALUES (1, $1)', ['a']);
    await expect(
      ds.transaction(async (m) => {
        await m.query('INSERT INTO t (id, v) VALUES (2, $1)', ['b']);
        await m.query('INSERT INTO t (id, v) VALUES (1, $1)', ['again']);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await count()).toBe(1);
    // No transaction left open on the (only) connection: each statement is its own transaction again.
    await new Promise((r) => setTimeout(r, 20));
    const [{ autocommit }] = (await ds.query('SELECT now() = statement_timestamp() AS autocommit')) as {
      autocommit: boolean;
    }[];
    expect(autocommit).toBe(true);
  });

  it('sends nothing for a transaction without statements, and a lone deferred statement without BEGIN', async () => {
    await ds.transaction(async () => undefined);
    expect(answers).toBe(0);
    await expect(
      ds.transaction(async () => {
        throw new Error('before any statement');
      }),
    ).rejects.toThrow('before any statement');
    expect(answers).toBe(0);
    await ds.transaction((m) =>
      deferUntilCommit(m, { text: 'INSERT INTO t (id, v) VALUES ($1, $2)', values: [5, 'e'] }, async () => {
        throw new Error('not run now');
      }),
    );
    expect(answers).toBe(1);
    expect(await count()).toBe(1);
  });

  it('answers queries issued concurrently in a transaction, each with its own result, and stays usable', async () => {
    await ds.transaction(async (m) => {
      const results = await Promise.all(
        [1, 2, 3, 4].map((i) => m.query('INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id', [i, `v${i}`])),
      );
      expect(results).toEqual([[{ id: 1 }], [{ id: 2 }], [{ id: 3 }], [{ id: 4 }]]);
      const more = await Promise.all([
        m.query('SELECT count(*)::int AS n FROM t'),
        m.query('SELECT max(id) AS n FROM t'),
        m.query('SELECT min(id) AS n FROM t'),
      ]);
      expect(more).toEqual([[{ n: 4 }], [{ n: 4 }], [{ n: 1 }]]);
    });
    for (let i = 0; i < 3; i++) expect(await count()).toBe(4);
  });

  it('queues a callback-form query behind what waits, and fails the COMMIT if a waiting statement failed', async () => {
    type Cb = (e: Error | null, r?: { rows: unknown[] }) => void;
    const viaCallback = (client: unknown, text: string) =>
      new Promise<unknown[]>((resolve, reject) =>
        (client as { query: (t: string, cb: Cb) => void }).query(text, (e, r) =>
          e ? reject(e) : resolve(r!.rows),
        ),
      );
    await ds.transaction(async (m) => {
      const client = await m.queryRunner!.connect();
      await m.query('INSERT INTO t (id, v) VALUES (1, $1)', ['a']);
      await deferUntilCommit(
        m,
        { text: 'INSERT INTO t (id, v) VALUES ($1, $2)', values: [2, 'b'] },
        async () => undefined,
      );
      expect(await viaCallback(client, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 2 }]);
    });
    expect(await count()).toBe(2);
    await expect(
      ds.transaction(async (m) => {
        const client = await m.queryRunner!.connect();
        await m.query('INSERT INTO t (id, v) VALUES (3, $1)', ['c']);
        await deferUntilCommit(
          m,
          { text: 'INSERT INTO t (id, v) VALUES ($1, $2)', values: [1, 'duplicate'] },
          async () => undefined,
        );
        await viaCallback(client, 'SELECT 1').catch(() => undefined);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await count()).toBe(2);
  });

  it('runs the statement at once outside a transaction', async () => {
    let ran = false;
    await deferUntilCommit(ds.manager, { text: 'SELECT 1', values: [] }, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('sees the snapshot of the transaction: BEGIN really precedes the first statement', async () => {
    await ds
      .transaction(async (m) => {
        await m.query('INSERT INTO t (id, v) VALUES (1, $1)', ['a']);
        const [{ n }] = (await m.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = pg_backend_pid() AND xact_start IS NOT NULL AND state = 'active'`,
        )) as { n: number }[];
        expect(n).toBe(1);
        const [{ txid }] = (await m.query('SELECT txid_current_if_assigned()::text AS txid')) as {
          txid: string | null;
        }[];
        // The INSERT wrote in an explicit transaction still open: it has an id.
        expect(txid).not.toBeNull();
        throw new Error('undo');
      })
      .catch(() => undefined);
    expect(await count()).toBe(0);
  });
});
