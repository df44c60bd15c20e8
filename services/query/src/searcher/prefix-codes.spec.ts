import { describe, expect, it } from 'vitest';
import { HammingScanner, SeededRandom, bitmapOf } from '@loupe/shared';
import { PrefixCodes, rerankPool } from './prefix-codes.ts';

const CODE_BYTES = 32;

function level(records: number, seed: number): { codes: Uint8Array; full: HammingScanner; prefix: PrefixCodes } {
  const codes = new SeededRandom(seed).bytes(records * CODE_BYTES);
  const full = new HammingScanner(CODE_BYTES);
  full.append(codes);
  const prefix = new PrefixCodes(CODE_BYTES);
  // Written in two parts, the second past a gap of all-zero records, as live writes may do.
  prefix.write(0, codes.subarray(0, 1000 * CODE_BYTES));
  prefix.write(1000, codes.subarray(1000 * CODE_BYTES));
  return { codes, full, prefix };
}

describe('PrefixCodes (64-bit prefix scan + full re-rank)', () => {
  const records = 6000;
  const { codes, full, prefix } = level(records, 3);
  const tombstones = bitmapOf([1, 7, 300, 555], records / 3);

  it('gives the exact top k when the re-rank pool holds every record', () => {
    const rand = new SeededRandom(9);
    for (let i = 0; i < 20; i++) {
      const query = rand.bytes(CODE_BYTES);
      const k = 1 + rand.below(60);
      const exact = full.search(query, { k, skip: tombstones, recordsPerObject: 3 });
      const r = prefix.search(query, full, { k, pool: records, maxDistance: 256, tombstones, recordsPerObject: 3, count: records });
      expect(r.hits).toEqual(exact);
      expect(r.exact).toBe(true);
    }
  });

  it('is exact within a radius that fewer records than the pool fall in, and says so', () => {
    const rand = new SeededRandom(10);
    for (let i = 0; i < 20; i++) {
      const r0 = rand.below(records);
      const query = rand.flipBits(codes.subarray(r0 * CODE_BYTES, (r0 + 1) * CODE_BYTES), rand.below(12));
      const exact = full.search(query, { k: 50, maxDistance: 20, skip: tombstones, recordsPerObject: 3 });
      const r = prefix.search(query, full, { k: 50, pool: 64, maxDistance: 20, tombstones, recordsPerObject: 3, count: records });
      expect(r.hits).toEqual(exact);
      expect(r.exact).toBe(true);
    }
  });

  it('finds a near copy through a small pool, and flags an answer it cannot prove exact', () => {
    const rand = new SeededRandom(11);
    const r0 = 4321;
    const near = rand.flipBits(codes.subarray(r0 * CODE_BYTES, (r0 + 1) * CODE_BYTES), 8);
    const found = prefix.search(near, full, { k: 1, pool: 16, maxDistance: 256, tombstones, recordsPerObject: 3, count: records });
    expect(found.hits).toEqual([{ record: r0, distance: 8 }]);
    expect(found.exact).toBe(true);
    // A random query's nearest records are ~100 bits away: 16 prefixes cannot vouch for them.
    const far = prefix.search(rand.bytes(CODE_BYTES), full, { k: 10, pool: 16, maxDistance: 256, tombstones, recordsPerObject: 3, count: records });
    expect(far.hits).toHaveLength(10);
    expect(far.exact).toBe(false);
  });

  it('sizes the pool by the records asked for and the level size', () => {
    expect(rerankPool(10, 500)).toBe(500);
    expect(rerankPool(10, 100_000)).toBe(1024);
    expect(rerankPool(250, 100_000)).toBe(4000);
    expect(rerankPool(10, 10_000_000)).toBe(Math.ceil(10_000_000 / 1024));
  });
});
