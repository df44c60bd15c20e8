import { describe, expect, it } from 'vitest';
import { decodeVersion, encodeVersion, UNVERSIONED, versionOf } from './object-version.ts';

describe('object versions', () => {
  it('encodes as 8 big-endian bytes, so byte order matches numeric order', () => {
    expect([...encodeVersion(1)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect([...encodeVersion(2 ** 32 + 258)]).toEqual([0, 0, 0, 1, 0, 0, 1, 2]);
    const vs = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 1_767_000_000_123, Number.MAX_SAFE_INTEGER];
    for (let i = 1; i < vs.length; i++) expect(Buffer.compare(encodeVersion(vs[i - 1]), encodeVersion(vs[i]))).toBe(-1);
  });

  it('decodes what it encodes, across the whole safe-integer range', () => {
    for (const v of [0, 1, 2 ** 31, 2 ** 32 + 7, 1_767_000_000_123, Number.MAX_SAFE_INTEGER]) expect(decodeVersion(encodeVersion(v))).toBe(v);
    // A slice of a larger buffer (as a Redis reply may be) decodes from its own offset.
    const big = Buffer.concat([Buffer.from([9, 9, 9]), encodeVersion(42)]);
    expect(decodeVersion(big.subarray(3))).toBe(42);
  });

  it('reads a missing or short slot as unversioned', () => {
    expect(decodeVersion(new Uint8Array(0))).toBe(UNVERSIONED);
    expect(decodeVersion(new Uint8Array(7).fill(255))).toBe(UNVERSIONED);
  });

  it('refuses versions the Lua scripts cannot compare exactly', () => {
    expect(() => encodeVersion(-1)).toThrow(RangeError);
    expect(() => encodeVersion(1.5)).toThrow(RangeError);
    expect(() => encodeVersion(2 ** 53)).toThrow(RangeError);
    expect(() => decodeVersion(Buffer.alloc(8, 255))).toThrow(/past 2\^53/);
  });

  it('treats a job without a version as the oldest', () => {
    expect(versionOf({})).toBe(UNVERSIONED);
    expect(versionOf({ version: 5 })).toBe(5);
    expect(UNVERSIONED).toBe(0);
  });
});
