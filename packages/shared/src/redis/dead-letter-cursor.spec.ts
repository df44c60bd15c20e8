import { describe, expect, it } from 'vitest';
import {
  compareNewestFirst,
  decodeDeadLetterCursor,
  DeadLetterCursorError,
  encodeDeadLetterCursor,
  isAfterCursor,
  type DeadLetterPosition,
} from './dead-letter-cursor.ts';

describe('dead-letter cursor', () => {
  it('round-trips any key, including ones with separators and non-ASCII characters', () => {
    for (const p of [
      { at: 0, key: 'a' },
      { at: 1_760_000_000_123, key: 'photos/2024/IMG 0001.jpg' },
      { at: 42, key: 'dir/"quoted",comma\u0000nul/ünïcødé/😀.png' },
    ]) {
      const c = encodeDeadLetterCursor(p);
      expect(c).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a query string as is
      expect(decodeDeadLetterCursor(c)).toEqual(p);
    }
  });

  it('refuses cursors it did not make, with a DeadLetterCursorError', () => {
    const make = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of ['', 'not base64 at all!', make({ at: 1, key: 'k' }), make([1]), make([-1, 'k']), make([1.5, 'k']), make(['1', 'k']), make([1, '']), make([1, 2])]) {
      expect(() => decodeDeadLetterCursor(bad), bad).toThrow(DeadLetterCursorError);
    }
  });

  it('orders newest first, and equal times by key bytes descending (as ZRANGE ... REV does)', () => {
    const entries: DeadLetterPosition[] = [
      { at: 5, key: 'b' },
      { at: 9, key: 'a' },
      { at: 5, key: 'a' },
      { at: 5, key: '\uffff' }, // UTF-8 EF BF BF: below F0 (😀) in bytes, above it in UTF-16 units
      { at: 5, key: '😀' },
      { at: 1, key: 'z' },
    ];
    expect([...entries].sort(compareNewestFirst).map((p) => `${p.at}:${p.key}`)).toEqual(['9:a', '5:😀', '5:\uffff', '5:b', '5:a', '1:z']);
  });

  it('puts on a later page exactly what comes after the cursor', () => {
    const cursor = { at: 5, key: 'm' };
    expect(isAfterCursor({ at: 5, key: 'l' }, cursor)).toBe(true);
    expect(isAfterCursor({ at: 4, key: 'z' }, cursor)).toBe(true);
    expect(isAfterCursor({ at: 5, key: 'm' }, cursor)).toBe(false); // the cursor's own entry was on the page
    expect(isAfterCursor({ at: 5, key: 'n' }, cursor)).toBe(false);
    expect(isAfterCursor({ at: 6, key: 'a' }, cursor)).toBe(false); // failed after the first page was read
  });
});
