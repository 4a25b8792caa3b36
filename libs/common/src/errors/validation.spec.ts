import { IsOptional, IsString } from 'class-validator';
import { createValidationPipe, withoutEmptyQueryValues } from './validation';

class Filter {
  @IsOptional() @IsString() action?: string;
  @IsOptional() @IsString() actor?: string;
}

describe('empty query parameters mean absent (API.md 2026-11-30)', () => {
  it('drops empty values, also from repeated parameters', () => {
    expect(withoutEmptyQueryValues({ action: '', actor: 'u', tags: ['', 'a', ''], none: ['', ''] })).toEqual({
      actor: 'u',
      tags: ['a'],
    });
    expect(withoutEmptyQueryValues('')).toBeUndefined();
    expect(withoutEmptyQueryValues('x')).toBe('x');
  });

  it('the global pipe applies it to queries only', async () => {
    const pipe = createValidationPipe();
    const q = await pipe.transform({ action: '', actor: 'u' }, { type: 'query', metatype: Filter });
    expect(q).toBeInstanceOf(Filter);
    expect(q).toEqual(Object.assign(new Filter(), { actor: 'u' }));
    expect(await pipe.transform('', { type: 'query', metatype: String, data: 'action' })).toBeUndefined();
    const body = await pipe.transform({ action: '' }, { type: 'body', metatype: Filter });
    expect(body.action).toBe('');
  });
});
