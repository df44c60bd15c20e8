import { describe, expect, it } from 'vitest';
import { unpackBits } from '../../code/bit-code.ts';
import { HammingScanner } from '../hamming-scanner.ts';
import { bitmapOf } from '../skip-bitmap.ts';
import { binomial, forEachAtDistance } from './bit-neighbours.ts';
import { mihLayout, mihSubstrings } from './mih-layout.ts';
import { MultiIndexHash } from './multi-index-hash.ts';
import { RecordSet } from './record-set.ts';
import { SeededRandom } from '../../util/seeded-random.ts';


/** Random codes plus, for each query, near copies at distances 0..6 planted at random records. */
function plantedSet(count: number, codeBytes: number, queries: number, rand: SeededRandom) {
  const codes = rand.bytes(count * codeBytes);
  const qs: Uint8Array[] = [];
  for (let q = 0; q < queries; q++) {
    const query = rand.bytes(codeBytes);
    qs.push(query);
    for (let d = 0; d <= 6; d++) codes.set(rand.flipBits(query, d), rand.below(count) * codeBytes);
  }
  return { codes, queries: qs };
}

describe('mihLayout / mihSubstrings', () => {
  it('splits bits most significant first into near-equal parts', () => {
    const rand = new SeededRandom(2);
    for (const [bytes, parts] of [[8, 4], [5, 3], [12, 7], [32, 16], [4, 2], [6, 5]]) {
      const layout = mihLayout(bytes * 8, parts);
      expect(layout.widths.reduce((a, b) => a + b)).toBe(bytes * 8);
      expect(Math.max(...layout.widths) - Math.min(...layout.widths)).toBeLessThanOrEqual(1);
      const code = rand.bytes(bytes);
      const bits = unpackBits(code);
      const want = layout.starts.map((s, p) => parseInt(Array.from(bits.subarray(s, s + layout.widths[p])).join(''), 2));
      expect(mihSubstrings(code, layout)).toEqual(want);
    }
    expect(mihLayout(64).widths).toEqual([16, 16, 16, 16]);
    expect(() => mihLayout(64, 2)).toThrow(RangeError);
  });

  it('enumerates every value at an exact substring distance once', () => {
    for (const [width, d] of [[16, 0], [16, 1], [16, 3], [13, 2], [5, 5]]) {
      const seen = new Set<number>();
      forEachAtDistance(0b1011, width, d, (v) => {
        let x = (v ^ 0b1011) >>> 0;
        let bits = 0;
        for (; x; x &= x - 1) bits++;
        expect(bits).toBe(d);
        expect(v).toBeLessThan(2 ** width);
        seen.add(v);
      });
      expect(seen.size).toBe(binomial(width, d));
    }
  });
});

describe('RecordSet', () => {
  it('reports each record once across growth and clears', () => {
    const set = new RecordSet();
    const rand = new SeededRandom(12);
    for (let round = 0; round < 3; round++) {
      set.clear();
      const truth = new Set<number>();
      for (let i = 0; i < 5000; i++) {
        const r = rand.below(3000) * 1024; // aligned ids must not collide into one slot chain
        expect(set.add(r)).toBe(!truth.has(r));
        truth.add(r);
      }
    }
  });
});

describe('MultiIndexHash', () => {
  for (const [codeBytes, parts] of [[8, undefined], [5, undefined], [12, 6], [32, undefined]] as const) {
    it(`equals the exact scan for radius and k-NN queries (${codeBytes}-byte codes, ${parts ?? 'default'} parts)`, () => {
      const rand = new SeededRandom(codeBytes * 31 + 1);
      const count = 20000;
      const { codes, queries } = plantedSet(count, codeBytes, 12, rand);
      const scanner = new HammingScanner(codeBytes);
      scanner.append(codes);
      const mih = MultiIndexHash.fromScanner(scanner, { parts });
      let usedMih = 0;
      for (const query of queries) {
        for (const opts of [
          { k: 100, maxDistance: 4 },
          { k: 3, maxDistance: 6 },
          { k: Infinity, maxDistance: 5 },
          { k: 10 },
          { k: 1 },
          { k: 25, maxDistance: 2 },
        ]) {
          const want = scanner.search(query, opts);
          expect(mih.search(query, { ...opts, strategy: 'mih' })).toEqual(want);
          expect(mih.lastSearch?.strategy).toBe('mih');
          expect(mih.search(query, opts)).toEqual(want);
          if (mih.lastSearch?.strategy === 'mih') usedMih++;
        }
      }
      // On small radii the cost model must prefer MIH.
      expect(usedMih).toBeGreaterThan(0);
      const near = mih.search(queries[0], { k: 100, maxDistance: 4 });
      expect(near.length).toBeGreaterThanOrEqual(5);
      if (codeBytes === 8) expect(mih.lastSearch?.candidates).toBeLessThan(count / 4);
    });
  }

  it('stays exact while records are added, removed and re-added incrementally', () => {
    const rand = new SeededRandom(77);
    const codeBytes = 8;
    const { codes, queries } = plantedSet(6000, codeBytes, 6, rand);
    const scanner = new HammingScanner(codeBytes);
    const mih = new MultiIndexHash(scanner);
    const removed = new Set<number>();
    const live = (r: number) => removed.has(r);
    const compare = () => {
      for (const query of queries) {
        for (const opts of [{ k: 20, maxDistance: 5 }, { k: 5 }]) {
          const want = scanner.search(query, { ...opts, skip: live });
          expect(mih.search(query, { ...opts, strategy: 'mih' })).toEqual(want);
          expect(mih.search(query, { ...opts, strategy: 'scan' })).toEqual(want);
        }
      }
    };
    for (let r = 0; r < 6000; r++) {
      const code = codes.subarray(r * codeBytes, (r + 1) * codeBytes);
      scanner.set(r, code);
      mih.add(r, code);
      if (r === 3000) compare();
    }
    compare();
    // Remove the nearest hits of a query, then re-add some under new (near) codes.
    const victims = scanner.search(queries[0], { k: 4 }).map((h) => h.record);
    for (const r of victims) {
      mih.remove(r);
      removed.add(r);
    }
    compare();
    for (const r of victims.slice(0, 2)) {
      const code = rand.flipBits(queries[1], 1);
      scanner.set(r, code);
      mih.add(r, code);
      removed.delete(r);
    }
    compare();
    mih.rebuild();
    compare();
    expect(mih.count).toBe(6000);
  });

  for (const parts of [4, 5]) it(`keeps inline postings (64-bit codes, ${parts} substrings) exact when records change after a build`, () => {
    const rand = new SeededRandom(91);
    const { codes, queries } = plantedSet(8000, 8, 4, rand);
    const scanner = new HammingScanner(8);
    scanner.append(codes);
    const mih = MultiIndexHash.fromScanner(scanner, { parts }); // builds the inline postings
    const compare = () => {
      for (const query of queries) {
        for (const opts of [{ k: 10 }, { k: 50, maxDistance: 6 }]) {
          expect(mih.search(query, { ...opts, strategy: 'mih' })).toEqual(scanner.search(query, opts));
          expect(mih.lastSearch?.strategy).toBe('mih');
        }
      }
    };
    compare();
    // The nearest records of each query move far away: their inline entries now hold stale codes.
    for (const query of queries) {
      for (const { record } of scanner.search(query, { k: 3 })) {
        const far = query.map((b) => b ^ 0xff);
        scanner.set(record, far);
        mih.add(record, far);
      }
    }
    // Others move next to a query; new records are appended.
    for (let i = 0; i < 8; i++) {
      const code = rand.flipBits(queries[i % 4], 1 + (i % 3));
      scanner.set(100 + i, code);
      mih.add(100 + i, code);
      scanner.append(code);
      mih.add(scanner.count - 1, code);
    }
    compare();
    mih.rebuild();
    compare();
  });

  it('applies tombstone bitmaps like the scanner, and falls back to a scan for uncovered records', () => {
    const rand = new SeededRandom(8);
    const { codes, queries } = plantedSet(4000, 8, 3, rand);
    const scanner = new HammingScanner(8);
    scanner.append(codes);
    const mih = MultiIndexHash.fromScanner(scanner);
    const nearest = scanner.search(queries[0], { k: 6 }).map((h) => Math.floor(h.record / 4));
    const skip = bitmapOf(nearest.slice(0, 3), 1000);
    const opts = { k: 10, maxDistance: 8, skip, recordsPerObject: 4 };
    expect(mih.search(queries[0], { ...opts, strategy: 'mih' })).toEqual(scanner.search(queries[0], opts));
    const fresh = rand.bytes(8);
    scanner.append(fresh); // not added to the index: MIH must not miss it
    const hits = mih.search(fresh, { k: 1 });
    expect(hits).toEqual([{ record: 4000, distance: 0 }]);
    expect(mih.lastSearch?.strategy).toBe('scan');
  });
});
