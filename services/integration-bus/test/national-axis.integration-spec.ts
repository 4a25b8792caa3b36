import { createHmac } from 'node:crypto';
import { AxisHeaders, signedAxisHeaders } from '../src/national-axis/axis-signing';
import {
  AxisRefusal,
  AxisUnavailable,
  CircuitBreaker,
  NationalAxisClient,
} from '../src/national-axis/national-axis.client';
import { NationalAxisSimulator } from '../src/national-axis-simulator/national-axis-simulator';

describe('national axis client against the simulator (HTTP)', () => {
  const sim = new NationalAxisSimulator({
    systems: { '000.00.01.H01': 'secret-a', '000.00.00.G22': 'secret-b' },
    agencies: [{ code: '000.00.00.G22', name: 'Văn phòng Chính phủ' }],
  });
  let url: string;
  beforeAll(async () => {
    url = await sim.start(0);
  });
  afterAll(() => sim.stop());

  const client = (systemId = '000.00.01.H01', secret = 'secret-a') =>
    new NationalAxisClient({ url, systemId, secret, timeoutMs: 3000, breaker: new CircuitBreaker(2, 200) });

  it('sendEdoc carries correctly signed headers and the raw package', async () => {
    const docId = await client().sendEdoc(
      'edoc',
      '000.00.01.H01',
      ['000.00.00.G22'],
      Buffer.from('<edXML/>'),
    );
    const item = sim.items.get(docId)!;
    expect(item.content.toString()).toBe('<edXML/>');
    const h = item.headers!;
    const keys = h['xroadvnpt-sign-header-key'].split(';');
    expect(keys).toEqual([
      'XroadVnpt-systemid',
      'XroadVnpt-timestamp',
      'XroadVnpt-version',
      'XroadVnpt-servicetype',
      'XroadVnpt-messagetype',
      'XroadVnpt-from',
      'XroadVnpt-to',
    ]);
    const json = h['xroadvnpt-sign-header'];
    expect(json).not.toMatch(/\s/);
    expect(JSON.parse(json)['XroadVnpt-messagetype']).toBe('edoc');
    expect(h['xroadvnpt-hash-header']).toBe(createHmac('sha256', 'secret-a').update(json).digest('hex'));
  });

  it('the receiver lists, fetches and acknowledges; done takes it off the list', async () => {
    const docId = await client().sendEdoc(
      'edoc',
      '000.00.01.H01',
      ['000.00.00.G22'],
      Buffer.from('package-2'),
    );
    const g22 = client('000.00.00.G22', 'secret-b');
    const list = await g22.getReceivedEdocList('edoc');
    expect(list.map((i) => i.docId)).toContain(docId);
    expect((await g22.getEdoc(docId)).toString()).toBe('package-2');
    await g22.updateStatus(docId, 'done');
    expect((await g22.getReceivedEdocList('edoc')).map((i) => i.docId)).not.toContain(docId);
    expect(await g22.getReceivedEdocList('status')).toEqual([]);
    expect(await g22.getAgenciesList()).toEqual([{ code: '000.00.00.G22', name: 'Văn phòng Chính phủ' }]);
  });

  it('refuses a wrong secret, a tampered header and a stale clock as FAIL answers', async () => {
    await expect(client('000.00.01.H01', 'wrong').getAgenciesList()).rejects.toMatchObject({
      errorCode: 'BAD_HASH',
    });
    const stale = signedAxisHeaders('000.00.01.H01', 'secret-a', {}, new Date(Date.now() - 6 * 60_000));
    const r1 = await fetch(`${url}/getAgenciesList`, { method: 'POST', headers: stale });
    expect(await r1.json()).toMatchObject({ status: 'FAIL', ErrorCode: 'CLOCK_SKEW' });
    const tampered = {
      ...signedAxisHeaders('000.00.01.H01', 'secret-a', { docid: 'x', status: 'done' }),
      'XroadVnpt-docid': 'y',
    };
    const r2 = await fetch(`${url}/updateStatus`, { method: 'POST', headers: tampered });
    expect(await r2.json()).toMatchObject({ status: 'FAIL', ErrorCode: 'SIGN_HEADER_MISMATCH' });
    const unsigned = signedAxisHeaders('000.00.01.H01', 'secret-a', {});
    const r3 = await fetch(`${url}/getEdoc`, {
      method: 'POST',
      headers: { ...unsigned, 'XroadVnpt-docid': 'x' },
    });
    expect(await r3.json()).toMatchObject({ status: 'FAIL', ErrorCode: 'UNSIGNED_HEADER' });
    expect(sim.refusals.length).toBeGreaterThanOrEqual(4);
    await expect(client().getEdoc('no-such')).rejects.toBeInstanceOf(AxisRefusal);
  });

  it('an outage is transient and opens the circuit; it closes again once the axis is back', async () => {
    const c = client();
    sim.setDown(true);
    await expect(c.getAgenciesList()).rejects.toBeInstanceOf(AxisUnavailable);
    await expect(c.getAgenciesList()).rejects.toBeInstanceOf(AxisUnavailable);
    expect(c.breaker.state).toBe('open');
    await expect(c.getAgenciesList()).rejects.toThrow('circuit is open');
    sim.setDown(false);
    await new Promise((r) => setTimeout(r, 250));
    expect(await c.getAgenciesList()).toHaveLength(1);
    expect(c.breaker.state).toBe('closed');
  });

  it('test hooks: inject, received, down/up over HTTP', async () => {
    const inj = await fetch(`${url}/_sim/inject`, {
      method: 'POST',
      body: JSON.stringify({
        from: '000.00.00.G22',
        to: '000.00.01.H01',
        messageType: 'status',
        content: '<status/>',
      }),
    });
    const { docId } = (await inj.json()) as { docId: string };
    const list = await client().getReceivedEdocList('status');
    expect(list.find((i) => i.docId === docId)).toMatchObject({
      from: '000.00.00.G22',
      messageType: 'status',
    });
    const rec = (await (await fetch(`${url}/_sim/received?to=000.00.00.G22`)).json()) as {
      simulated: boolean;
      items: unknown[];
    };
    expect(rec.simulated).toBe(true);
    expect(rec.items.length).toBeGreaterThanOrEqual(2);
    await fetch(`${url}/_sim/down`, { method: 'POST' });
    const down = await fetch(`${url}/getAgenciesList`, {
      method: 'POST',
      headers: signedAxisHeaders('000.00.01.H01', 'secret-a', {}),
    });
    expect(down.status).toBe(503);
    await fetch(`${url}/_sim/up`, { method: 'POST' });
    expect(AxisHeaders.hashHeader).toBe('XroadVnpt-hash-header');
  });
});
