import { randomUUID } from 'node:crypto';
import { OrganizationFeed } from '../src/subscriptions/organization-feed';
import { DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

/** The feed behind webhooks and Watch: per-organization sequence numbers without gaps, in commit order. */
describe('documents: organization feed', () => {
  const h = new DocumentsHarness();
  let feed: OrganizationFeed;
  beforeAll(async () => {
    await h.start();
    feed = h.app.get(OrganizationFeed);
  });
  afterAll(() => h.stop());

  const seqs = async (org: string): Promise<number[]> =>
    (
      await h.db.query(`SELECT seq FROM organization_events WHERE organization_code = $1 ORDER BY seq`, [org])
    ).map((r: { seq: string }) => Number(r.seq));

  it('numbers events per organization from 1 without gaps, across concurrent transactions', async () => {
    const a = `FEED.A${randomUUID().slice(0, 4).toUpperCase()}`;
    const b = `FEED.B${randomUUID().slice(0, 4).toUpperCase()}`;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.db.transaction((m) =>
          feed.record(m, [
            { organizationCode: a, type: 'document.incoming', documentId: randomUUID(), data: { i } },
            { organizationCode: b, type: 'document.status', documentId: randomUUID() },
            { organizationCode: a, type: 'document.status', documentId: randomUUID() },
          ]),
        ),
      ),
    );
    expect(await seqs(a)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await seqs(b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('writes nothing when the changing transaction rolls back, and tells a repeated id once', async () => {
    const org = `FEED.C${randomUUID().slice(0, 4).toUpperCase()}`;
    const id = randomUUID();
    await expect(
      h.db.transaction(async (m) => {
        await feed.record(m, [
          { organizationCode: org, type: 'document.incoming', documentId: randomUUID() },
        ]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await seqs(org)).toEqual([]);
    const doc = randomUUID();
    for (let i = 0; i < 2; i++)
      await h.db.transaction((m) =>
        feed.record(m, [{ id, organizationCode: org, type: 'document.recalled', documentId: doc }]),
      );
    const rows = await h.db.query(
      `SELECT id, document_id FROM organization_events WHERE organization_code = $1`,
      [org],
    );
    expect(rows).toEqual([{ id, document_id: doc }]);
    // The repeat used no number: the next event follows without a gap.
    await h.db.transaction((m) =>
      feed.record(m, [{ organizationCode: org, type: 'document.status', documentId: randomUUID() }]),
    );
    expect(await seqs(org)).toEqual([1, 2]);
  });
});
