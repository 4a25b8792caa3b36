import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { retryDelayMs, webhookBody } from './webhook-dispatcher';
import { newWebhookSecret, SecretBox, signatureHeader } from './webhook-signature';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = '{"id":"1","type":"document.incoming"}';

  it('signs "<t>.<raw body>" with HMAC-SHA256 in hex, as API.md states', () => {
    const expected = createHmac('sha256', secret).update(`1796000000.${body}`).digest('hex');
    expect(signatureHeader(secret, body, 1796000000)).toBe(`t=1796000000,v1=${expected}`);
    expect(signatureHeader('other', body, 1796000000)).not.toBe(`t=1796000000,v1=${expected}`);
  });

  it('the README snippet for receivers accepts a good signature and refuses a bad, altered or stale one', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
    const block = /```js\n([\s\S]*?function verifyLienthong[\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const verify = new Function('require', `${block![1]}\nreturn verifyLienthong;`)(require) as (
      s: string,
      h: string,
      b: string,
      tol?: number,
    ) => boolean;
    const now = Math.floor(Date.now() / 1000);
    expect(verify(secret, signatureHeader(secret, body, now), body)).toBe(true);
    expect(verify('wrong', signatureHeader(secret, body, now), body)).toBe(false);
    expect(verify(secret, signatureHeader(secret, body, now), `${body} `)).toBe(false);
    expect(verify(secret, signatureHeader(secret, body, now - 3600), body)).toBe(false);
    expect(verify(secret, 'garbage', body)).toBe(false);
  });

  it('new secrets are long and distinct', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

describe('SecretBox', () => {
  it('encrypts at rest with a key (and opens it), stores as given without one', () => {
    const box = new SecretBox('k'.repeat(32));
    const sealed = box.seal('whsec_abc');
    expect(sealed).toMatch(/^gcm1:/);
    expect(sealed).not.toContain('whsec_abc');
    expect(box.seal('whsec_abc')).not.toBe(sealed); // fresh IV
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(() => new SecretBox('x'.repeat(32)).open(sealed)).toThrow();
    expect(() => new SecretBox().open(sealed)).toThrow(/SUBSCRIPTIONS_SECRET_KEY/);
    const plain = new SecretBox();
    expect(plain.open(plain.seal('whsec_abc'))).toBe('whsec_abc');
    // A key set later still opens what was stored before it.
    expect(box.open(plain.seal('whsec_abc'))).toBe('whsec_abc');
  });
});

describe('retry back-off', () => {
  it('doubles from the base, stays within [half, full] of it, and is capped', () => {
    expect(retryDelayMs(1, 1000, 600_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 600_000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, 600_000, () => 1)).toBe(4000);
    expect(retryDelayMs(50, 1000, 600_000, () => 1)).toBe(600_000);
    expect(retryDelayMs(50, 1000, 600_000, () => 0)).toBe(300_000);
  });
});

describe('webhook body', () => {
  it('is {id, type, time, organizationCode, data:{documentId, …}}', () => {
    const raw = webhookBody({
      id: 'e1',
      seq: 7,
      type: 'document.status',
      time: '2026-11-30T06:00:00.000Z',
      organizationCode: 'A',
      documentId: 'd1',
      data: { status: 'accepted', statusCode: '03' },
    });
    expect(JSON.parse(raw)).toEqual({
      id: 'e1',
      type: 'document.status',
      time: '2026-11-30T06:00:00.000Z',
      organizationCode: 'A',
      data: { documentId: 'd1', status: 'accepted', statusCode: '03' },
    });
  });
});
