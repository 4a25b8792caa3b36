import {
  decideDirectoryAction,
  directoryEntry,
  directoryEntryProblem,
  directoryMessageId,
} from './directory-rules';

describe('directory apply rule (replica)', () => {
  const state = (version: number) => ({ version });
  const tomb = (version: number) => ({ version, deleted: true as const });

  it('inserts an unknown organization and updates a known one with a newer version', () => {
    expect(decideDirectoryAction(state(3), null, null)).toBe('insert');
    expect(decideDirectoryAction(state(4), 3, null)).toBe('update');
  });

  it('skips a state that is not newer than the local one (redelivery, reordering)', () => {
    expect(decideDirectoryAction(state(3), 3, null)).toBe('skip');
    expect(decideDirectoryAction(state(2), 3, null)).toBe('skip');
  });

  it('replaces the local bootstrap placeholder (version 0) with any state from the centre', () => {
    expect(decideDirectoryAction(state(1), 0, null)).toBe('update');
  });

  it('deletes on a newer tombstone, and only records one when there is no row', () => {
    expect(decideDirectoryAction(tomb(5), 4, null)).toBe('delete');
    expect(decideDirectoryAction(tomb(5), null, null)).toBe('tombstone');
    expect(decideDirectoryAction(tomb(5), 6, null)).toBe('skip');
    expect(decideDirectoryAction(tomb(5), null, 5)).toBe('skip');
  });

  it('never revives a deleted organization with an older state, but applies a re-creation', () => {
    expect(decideDirectoryAction(state(4), null, 5)).toBe('skip');
    expect(decideDirectoryAction(state(5), null, 5)).toBe('skip');
    expect(decideDirectoryAction(state(6), null, 5)).toBe('insert');
    // A row kept locally (local members) after a tombstone: a newer re-creation updates it.
    expect(decideDirectoryAction(state(7), 4, 5)).toBe('update');
    expect(decideDirectoryAction(state(5), 4, 5)).toBe('skip');
  });

  it('skips versions that are not positive safe integers', () => {
    for (const v of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      expect(decideDirectoryAction(state(v), null, null)).toBe('skip');
    }
  });
});

describe('directory entries', () => {
  const view = {
    code: '001.00.00.H01',
    name: 'Tỉnh',
    parentCode: '000.00.00.G01',
    level: 'province' as const,
    sector: 'party' as const,
    zone: 'party-wan' as const,
    nodeId: 'p01',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-02T00:00:00.000Z',
  };

  it('carries the full view and the version; a tombstone is marked deleted', () => {
    expect(directoryEntry(view, 7)).toEqual({ ...view, version: 7 });
    const t = directoryEntry(view, 8, true);
    expect(t).toMatchObject({ code: view.code, version: 8, deleted: true });
    expect(t.updatedAt).not.toBe(view.updatedAt);
  });

  it('derives one deterministic UUID per code and version', () => {
    const id = directoryMessageId(view.code, 7);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(directoryMessageId(view.code, 7)).toBe(id);
    expect(directoryMessageId(view.code, 8)).not.toBe(id);
    expect(directoryMessageId('001.00.00.H02', 7)).not.toBe(id);
  });

  it('checks the structure of a received entry', () => {
    expect(directoryEntryProblem({ ...view, version: 1 })).toBeNull();
    expect(directoryEntryProblem({ code: view.code, version: 2, deleted: true })).toBeNull();
    expect(directoryEntryProblem({ ...view })).toContain('version');
    expect(directoryEntryProblem({ ...view, version: 1, name: '' })).toContain('name');
    expect(directoryEntryProblem({ ...view, version: 1, parentCode: 5 })).toContain('parentCode');
    expect(directoryEntryProblem(null)).not.toBeNull();
  });
});
