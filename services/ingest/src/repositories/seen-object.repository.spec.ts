import { describe, expect, it } from 'vitest';
import { parseSeenValue, seenValue } from './seen-object.repository.ts';

describe('seen-hash values', () => {
  it('round-trips an etag with its version', () => {
    const v = { key: 'a.jpg', etag: '9b2cf535f27731c974343645a3985328', version: 1_767_000_000_123 };
    expect(seenValue(v)).toBe('9b2cf535f27731c974343645a3985328\u00001767000000123');
    expect(parseSeenValue('a.jpg', seenValue(v))).toEqual(v);
  });

  it('reads a value written before versions existed as an etag without version', () => {
    expect(parseSeenValue('a.jpg', 'abc-3')).toEqual({ key: 'a.jpg', etag: 'abc-3' });
    expect(seenValue({ etag: 'abc-3' })).toBe('abc-3');
  });

  it('keeps a value whose tail is not a version whole, as the etag', () => {
    expect(parseSeenValue('k', 'e\u0000x1')).toEqual({ key: 'k', etag: 'e\u0000x1' });
    expect(parseSeenValue('k', 'e\u0000')).toEqual({ key: 'k', etag: 'e\u0000' });
    expect(parseSeenValue('k', 'e\u000099999999999999999')).toEqual({ key: 'k', etag: 'e\u000099999999999999999' });
  });

  it('uses the last separator, so version 0 and an etag with a NUL both survive', () => {
    expect(parseSeenValue('k', seenValue({ etag: 'e\u00007', version: 0 }))).toEqual({ key: 'k', etag: 'e\u00007', version: 0 });
  });
});
