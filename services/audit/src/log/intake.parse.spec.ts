import { PoisonMessageError } from '@lienthong/common';
import { AuditEventPayload } from '@lienthong/contracts';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { parseAuditEvent, storedEvent, TRUNCATION_MARKER, truncateTo } from './intake.parse';

const valid = () => ({
  id: '3F2504E0-4F89-41D3-9A0C-0305E82C3301',
  time: '2026-11-29T10:00:00.000Z',
  service: 'documents',
  action: 'document.read',
  actor: { sub: 'user-1', organizationCode: 'ORG-A', type: 'user' },
  resource: { type: 'document', id: 'doc-1' },
  outcome: 'success',
  correlationId: 'c-1',
  details: { note: 'tiếng Việt ✓', n: 1.5, nested: { list: [1, 'a', null, true] } },
});

/**
 * What the intake accepted before the hand-written validator: the contract class through class-validator,
 * then storedEvent (which threw on a missing actor or resource: dead-lettered as unparseable).
 */
function classValidatorAccepts(data: unknown): boolean {
  if (!data || typeof data !== 'object') return false;
  const instance = plainToInstance(AuditEventPayload, data);
  if (validateSync(instance, { forbidUnknownValues: false }).length > 0) return false;
  if (instance.service.length > 64 || Number.isNaN(Date.parse(instance.time))) return false;
  try {
    storedEvent(data as AuditEventPayload);
    return true;
  } catch {
    return false;
  }
}

const reason = (data: unknown): string => {
  try {
    parseAuditEvent(data);
  } catch (e) {
    expect(e).toBeInstanceOf(PoisonMessageError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

const mutate = (f: (e: Record<string, any>) => void) => {
  const e: Record<string, any> = valid();
  f(e);
  return e;
};

describe('parseAuditEvent (hand-written validator of the intake)', () => {
  it('returns the stored shape: contract fields only, id lower-cased, organizationCode null when absent', () => {
    const e = parseAuditEvent({
      ...valid(),
      extra: 'dropped',
      actor: { sub: 'u', type: 'system', extra: 1 },
    });
    expect(e).toEqual({
      id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      time: '2026-11-29T10:00:00.000Z',
      service: 'documents',
      action: 'document.read',
      actor: { sub: 'u', organizationCode: null, type: 'system' },
      resource: { type: 'document', id: 'doc-1' },
      outcome: 'success',
      correlationId: 'c-1',
      details: valid().details,
    });
    expect(Object.keys(e)).toEqual([
      'id',
      'time',
      'service',
      'action',
      'actor',
      'resource',
      'outcome',
      'correlationId',
      'details',
    ]);
  });

  it('stores exactly what the former class-validator path stored', () => {
    for (const data of [
      valid(),
      mutate((e) => delete e.details),
      mutate((e) => (e.correlationId = null)),
      mutate((e) => (e.details = null)),
    ]) {
      expect(parseAuditEvent(data)).toEqual(storedEvent(data as AuditEventPayload));
      expect(JSON.stringify(parseAuditEvent(data))).toBe(
        JSON.stringify(storedEvent(data as AuditEventPayload)),
      );
    }
  });

  it('normalizes details through JSON (what jsonb gives back)', () => {
    const e = parseAuditEvent(
      mutate((x) => (x.details = { skip: undefined, inf: Infinity, d: new Date(0) })),
    );
    expect(e.details).toEqual({ inf: null, d: '1970-01-01T00:00:00.000Z' });
  });

  it.each([
    ['not an object', null, /not an object/],
    ['an array', [valid()], /not an object/],
    ['a string', 'event', /not an object/],
  ])('rejects a payload that is %s', (_, data, re) => {
    expect(reason(data)).toMatch(re);
  });

  it.each([
    ['id', (e: Record<string, any>) => delete e.id, /id must be a UUID/],
    ['time', (e: Record<string, any>) => delete e.time, /time must be an ISO 8601 instant/],
    ['service', (e: Record<string, any>) => delete e.service, /service must be a string/],
    ['action', (e: Record<string, any>) => delete e.action, /action must be a string/],
    ['actor', (e: Record<string, any>) => delete e.actor, /actor must be an object/],
    ['actor.sub', (e: Record<string, any>) => delete e.actor.sub, /actor\.sub must be a string/],
    [
      'actor.type',
      (e: Record<string, any>) => delete e.actor.type,
      /actor\.type must be one of user, client, system, anonymous/,
    ],
    ['resource', (e: Record<string, any>) => delete e.resource, /resource must be an object/],
    ['resource.type', (e: Record<string, any>) => delete e.resource.type, /resource\.type must be a string/],
    ['resource.id', (e: Record<string, any>) => delete e.resource.id, /resource\.id must be a string/],
    [
      'outcome',
      (e: Record<string, any>) => delete e.outcome,
      /outcome must be one of success, failure, denied/,
    ],
  ])('rejects a missing %s', (_, f, re) => {
    const data = mutate(f);
    expect(reason(data)).toMatch(re);
    expect(classValidatorAccepts(data)).toBe(false);
  });

  it.each([
    ['id not a UUID', (e: Record<string, any>) => (e.id = 'not-a-uuid'), /id must be a UUID/],
    ['id a number', (e: Record<string, any>) => (e.id = 42), /id must be a UUID/],
    ['time not ISO 8601', (e: Record<string, any>) => (e.time = 'yesterday'), /time/],
    ['time a number', (e: Record<string, any>) => (e.time = Date.now()), /time/],
    ['time an impossible date', (e: Record<string, any>) => (e.time = '2026-13-45T10:00:00Z'), /time/],
    ['service a number', (e: Record<string, any>) => (e.service = 7), /service must be a string/],
    [
      'action an array',
      (e: Record<string, any>) => (e.action = ['document.read']),
      /action must be a string/,
    ],
    ['actor a string', (e: Record<string, any>) => (e.actor = 'user-1'), /actor must be an object/],
    ['actor.sub a number', (e: Record<string, any>) => (e.actor.sub = 1), /actor\.sub must be a string/],
    [
      'actor.organizationCode a number',
      (e: Record<string, any>) => (e.actor.organizationCode = 5),
      /actor\.organizationCode must be a string/,
    ],
    ['actor.type unknown', (e: Record<string, any>) => (e.actor.type = 'robot'), /actor\.type/],
    ['resource null', (e: Record<string, any>) => (e.resource = null), /resource must be an object/],
    [
      'resource.id an object',
      (e: Record<string, any>) => (e.resource.id = { id: 1 }),
      /resource\.id must be a string/,
    ],
    ['outcome unknown', (e: Record<string, any>) => (e.outcome = 'ok'), /outcome/],
    [
      'correlationId a number',
      (e: Record<string, any>) => (e.correlationId = 12),
      /correlationId must be a string/,
    ],
    ['details an array', (e: Record<string, any>) => (e.details = [1, 2]), /details must be an object/],
    ['details a string', (e: Record<string, any>) => (e.details = 'x'), /details must be an object/],
  ])('rejects %s, as class-validator did', (_, f, re) => {
    const data = mutate(f);
    expect(reason(data)).toMatch(re);
    expect(classValidatorAccepts(data)).toBe(false);
  });

  it('rejects an actor given as an array (class-validator let it through; the insert then failed on NOT NULL)', () => {
    expect(reason(mutate((e) => (e.actor = [valid().actor])))).toMatch(/actor must be an object/);
    expect(reason(mutate((e) => (e.resource = [valid().resource])))).toMatch(/resource must be an object/);
  });

  it.each([
    ['service', (e: Record<string, any>, s: string) => (e.service = s), 64],
    ['action', (e: Record<string, any>, s: string) => (e.action = s), 100],
    ['actor.sub', (e: Record<string, any>, s: string) => (e.actor.sub = s), 200],
    ['actor.organizationCode', (e: Record<string, any>, s: string) => (e.actor.organizationCode = s), 35],
    ['resource.type', (e: Record<string, any>, s: string) => (e.resource.type = s), 64],
    ['resource.id', (e: Record<string, any>, s: string) => (e.resource.id = s), 200],
  ])(
    'cuts an oversized %s to its column limit (in characters) with a marker, names it, and keeps it at the limit',
    (field, f, max) => {
      const over = mutate((e) => f(e, 'x'.repeat(max + 1)));
      const get = (e: Record<string, any>): string => field.split('.').reduce((o: any, k) => o[k], e);
      const stored = parseAuditEvent(over) as unknown as Record<string, any>;
      expect([...get(stored)].length).toBe(max);
      expect(get(stored).endsWith(TRUNCATION_MARKER)).toBe(true);
      expect(get(stored).startsWith('x'.repeat(max - [...TRUNCATION_MARKER].length))).toBe(true);
      expect(stored.details.truncated).toEqual([field]);
      // The producer's details are kept beside the marker.
      expect(stored.details.note).toBe(valid().details.note);
      const atLimit = parseAuditEvent(mutate((e) => f(e, 'x'.repeat(max)))) as unknown as Record<string, any>;
      expect(get(atLimit)).toBe('x'.repeat(max));
      expect(atLimit.details.truncated).toBeUndefined();
      // A surrogate pair is one character for PostgreSQL's varchar(n): max emoji fit, one more is cut whole.
      const emoji = parseAuditEvent(mutate((e) => f(e, '😀'.repeat(max)))) as unknown as Record<string, any>;
      expect(get(emoji)).toBe('😀'.repeat(max));
      const cut = get(
        parseAuditEvent(mutate((e) => f(e, '😀'.repeat(max + 1)))) as unknown as Record<string, any>,
      );
      expect([...cut].length).toBe(max);
      expect(cut).toBe('😀'.repeat(max - [...TRUNCATION_MARKER].length) + TRUNCATION_MARKER);
    },
  );

  it('adds the marker list to an event that had no details', () => {
    const stored = parseAuditEvent(
      mutate((e) => {
        delete e.details;
        e.resource.id = 'y'.repeat(300);
      }),
    );
    expect(stored.details).toEqual({ truncated: ['resource.id'] });
    expect(truncateTo('abcdefghijklmnop', 13)).toBe(`a${TRUNCATION_MARKER}`);
  });

  it('names every bad field in one reason', () => {
    const data = mutate((e) => {
      e.id = 'x';
      e.outcome = 'maybe';
      e.resource.id = 5;
    });
    expect(reason(data)).toBe(
      'invalid audit event: id must be a UUID; resource.id must be a string; outcome must be one of success, failure, denied',
    );
  });

  it('accepts what the contract leaves optional', () => {
    for (const data of [
      mutate((e) => delete e.correlationId),
      mutate((e) => delete e.details),
      mutate((e) => delete e.actor.organizationCode),
      mutate((e) => (e.actor.organizationCode = null)),
      mutate((e) => (e.time = '2026-11-29')),
      mutate((e) => (e.time = '2026-11-29T10:00:00+07:00')),
    ]) {
      expect(classValidatorAccepts(data)).toBe(true);
      expect(() => parseAuditEvent(data)).not.toThrow();
    }
  });

  it('refuses what PostgreSQL cannot store: NUL characters and unpaired surrogates, anywhere', () => {
    expect(reason(mutate((e) => (e.action = 'a\u0000b')))).toMatch(/NUL character/);
    expect(reason(mutate((e) => (e.details = { deep: ['ok', { v: 'x\u0000' }] })))).toMatch(/NUL character/);
    expect(reason(mutate((e) => (e.details = { 'k\u0000': 1 })))).toMatch(/NUL character/);
    expect(reason(mutate((e) => (e.actor.sub = 'a\ud800')))).toMatch(/unpaired UTF-16 surrogate/);
    expect(reason(mutate((e) => (e.details = { v: '\udc00x' })))).toMatch(/unpaired UTF-16 surrogate/);
    // Text that merely looks like those escapes is fine, and so is a real pair.
    expect(() =>
      parseAuditEvent(mutate((e) => (e.details = { v: '\\u0000 \\ud800 \\\\u0000' }))),
    ).not.toThrow();
    expect(() => parseAuditEvent(mutate((e) => (e.details = { v: '😀 \u0001' })))).not.toThrow();
  });

  it('accepts and rejects exactly what class-validator does on random events (column limits aside)', () => {
    const str = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constant(''),
      fc.integer(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const arb = fc.record(
      {
        id: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constant(undefined)),
        time: fc.oneof(
          fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constantFrom('2026-11-29', '2026-02-30T00:00:00Z', 'now', '2026-11-29T10:00:00+07:00'),
          fc.constant(undefined),
        ),
        service: str,
        action: str,
        actor: fc.oneof(
          fc.record(
            {
              sub: str,
              organizationCode: str,
              type: fc.constantFrom('user', 'client', 'system', 'anonymous', 'robot', undefined),
            },
            { requiredKeys: [] },
          ),
          fc.constant('actor'),
          fc.constant(null),
        ),
        resource: fc.oneof(fc.record({ type: str, id: str }, { requiredKeys: [] }), fc.constant(7)),
        outcome: fc.constantFrom('success', 'failure', 'denied', 'other', undefined),
        correlationId: str,
        details: fc.oneof(
          fc.constant(undefined),
          fc.constant(null),
          fc.dictionary(fc.string(), fc.jsonValue()),
          fc.array(fc.integer()),
          fc.string(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (data) => {
        const json = JSON.parse(JSON.stringify(data)) as unknown; // what arrives: parsed JSON
        let ours = true;
        try {
          parseAuditEvent(json);
        } catch (e) {
          if (!(e instanceof PoisonMessageError)) throw e;
          if (/NUL character|unpaired/.test(e.message)) return; // class-validator let these through to the insert
          ours = false;
        }
        expect(ours).toBe(classValidatorAccepts(json));
      }),
      { numRuns: 3000 },
    );
  });
});
