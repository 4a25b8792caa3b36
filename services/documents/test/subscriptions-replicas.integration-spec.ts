import type { INestApplication } from '@nestjs/common';
import { eventually, verifyWebhookSignature, WebhookReceiver } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDocumentsApp } from '../src/documents.app';
import { OrganizationFeed, type FeedEvent } from '../src/subscriptions/organization-feed';
import { DocumentsHarness } from './support/harness';

jest.setTimeout(120_000);

const ORG = '000.00.00.H31';

/** Two replicas of the service on one schema share the subscriptions: each event once, in order. */
describe('webhook dispatchers of two replicas', () => {
  const h = new DocumentsHarness();
  let second: INestApplication;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    await h.start({ SUBSCRIPTIONS_CONCURRENCY: '2', SUBSCRIPTIONS_ALLOW_PRIVATE: '127.0.0.1/32' });
    second = await createDocumentsApp({ ...h.env });
  });
  afterAll(async () => {
    await second?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await h.stop();
  });

  it('delivers every event of every subscription exactly once and in feed order', async () => {
    const token = await h.token(ORG, ['exchange']);
    const subs: { secret: string; r: WebhookReceiver }[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await new WebhookReceiver().start();
      receivers.push(r);
      const res = await h.http
        .post('/api/v1/subscriptions')
        .set({ Authorization: `Bearer ${token}` })
        .send({ url: r.url, events: ['document.incoming', 'document.status'] });
      expect(res.status).toBe(201);
      subs.push({ secret: res.body.secret, r });
    }
    // 60 events in 12 transactions, written alternately through each replica's feed.
    const written: string[] = [];
    for (let t = 0; t < 12; t++) {
      const app = t % 2 === 0 ? h.app : second;
      const events: FeedEvent[] = Array.from({ length: 5 }, (_, k) => {
        const id = randomUUID();
        written.push(id);
        return {
          id,
          organizationCode: ORG,
          type: k % 2 === 0 ? 'document.incoming' : 'document.status',
          documentId: randomUUID(),
          data: { n: t * 5 + k },
        };
      });
      await app.get(DataSource).transaction((m) => app.get(OrganizationFeed).record(m, events));
    }
    for (const { r } of subs) await eventually(() => r.acknowledged.length >= written.length, 30_000);
    for (const { r, secret } of subs) {
      expect(r.received.map((w) => w.body.id)).toEqual(written);
      expect(
        r.received.every((w) => verifyWebhookSignature(secret, w.headers['lienthong-signature'], w.raw)),
      ).toBe(true);
    }
    // Every claim is released once the backlog is delivered, and the cursors stand at the end of the feed.
    const rows = await eventually(async () => {
      const r: { lease_owner: string | null; cursor: string }[] = await h.db.query(
        'SELECT lease_owner, cursor FROM subscriptions',
      );
      return r.every((x) => x.lease_owner === null) ? r : undefined;
    });
    expect(rows!.map((x) => Number(x.cursor))).toEqual(subs.map(() => written.length));
  });
});
