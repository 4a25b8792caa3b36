import { IntegrationBusConfig } from '../config/integration-bus.config';
import { EdxmlMemoryBudget } from './edxml-memory-budget';

const budget = (total: number) =>
  new EdxmlMemoryBudget(Object.assign(new IntegrationBusConfig(), { EDXML_INFLIGHT_BYTES: total }));

describe('EdxmlMemoryBudget', () => {
  it('defaults to 96 MiB of bodies (about 350 MiB while parsing: fits a 512 MiB pod)', () => {
    expect(new EdxmlMemoryBudget(new IntegrationBusConfig()).total).toBe(96 * 1024 * 1024);
  });

  it('holds a reservation that does not fit until enough is released, in order', async () => {
    const b = budget(100);
    const r1 = await b.reserve(60);
    const order: string[] = [];
    const second = b.reserve(60).then((r) => (order.push('second'), r));
    const third = b.reserve(10).then((r) => (order.push('third'), r));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    expect(b.inUse).toBe(60);
    r1();
    r1(); // releasing twice changes nothing
    const [r2, r3] = await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(b.inUse).toBe(70);
    r2();
    r3();
    expect(b.inUse).toBe(0);
  });

  it('caps a reservation at the whole budget so it can always run alone', async () => {
    const b = budget(100);
    const r = await b.reserve(1_000);
    expect(b.inUse).toBe(100);
    r();
    expect(b.inUse).toBe(0);
  });
});
