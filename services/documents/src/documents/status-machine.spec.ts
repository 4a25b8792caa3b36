import { canTransition, statusCode } from './status-machine';

describe('receiver status machine', () => {
  it.each([
    ['arrived', 'accepted'],
    ['arrived', 'rejected'],
    ['accepted', 'assigned'],
    ['accepted', 'processing'],
    ['assigned', 'processing'],
    ['assigned', 'completed'],
    ['processing', 'completed'],
  ])('allows %s → %s', (a, b) => expect(canTransition(a, b)).toBe(true));

  it.each([
    ['arrived', 'completed'],
    ['arrived', 'processing'],
    ['rejected', 'accepted'],
    ['completed', 'processing'],
    ['recalled', 'accepted'],
    ['processing', 'accepted'],
  ])('refuses %s → %s', (a, b) => expect(canTransition(a, b)).toBe(false));

  it('maps names to national codes', () => {
    expect(statusCode('arrived')).toBe('01');
    expect(statusCode('completed')).toBe('06');
    expect(statusCode('sent')).toBeNull();
  });
});
