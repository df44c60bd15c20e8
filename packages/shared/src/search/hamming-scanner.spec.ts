import { describe, expect, it } from 'vitest';
import { fastScanTopK, HammingScanner } from './hamming-scanner.ts';
import type { KernelChoice } from './kernel/create-popcount-kernel.ts';
import { OUT_CAPACITY } from './kernel/kernel-layout.ts';
import { scanTopK, type ScanOptions } from './reference-scan.ts';
import { bitmapOf } from './skip-bitmap.ts';
import { SeededRandom } from '../util/seeded-random.ts';

const KERNELS: KernelChoice[] = ['wasm-simd', 'wasm-scalar', 'js'];


/** Seeded, so a failure names a reproducible case. Codes drawn from a few prototypes with a few flipped bits: many exact ties. */
function tiedCodes(count: number, codeBytes: number, rand: SeededRandom): Uint8Array {
  const protos = rand.bytes(3 * codeBytes);
  const out = new Uint8Array(count * codeBytes);
  for (let r = 0; r < count; r++) {
    out.set(protos.subarray((r % 3) * codeBytes, (r % 3 + 1) * codeBytes), r * codeBytes);
    const flips = rand.below(3);
    for (let f = 0; f < flips; f++) {
      const bit = rand.below(codeBytes * 8);
      out[r * codeBytes + (bit >> 3)] ^= 0x80 >> (bit & 7);
    }
  }
  return out;
}

function check(kernel: KernelChoice, codes: Uint8Array, count: number, codeBytes: number, query: Uint8Array, opts: ScanOptions) {
  const scanner = new HammingScanner(codeBytes, { kernel });
  scanner.append(codes.subarray(0, count * codeBytes));
  expect(scanner.search(query, opts)).toEqual(scanTopK(codes, count, codeBytes, query, opts));
}

describe('HammingScanner', () => {
  for (const kernel of KERNELS) {
    describe(`kernel ${kernel}`, () => {
      it('matches the reference scan on random codes of every size and odd counts', () => {
        const rand = new SeededRandom(7);
        for (const codeBytes of [4, 5, 8, 12, 16, 20, 24, 32]) {
          for (const count of [0, 1, 7, 16, 17, 33, 257, 1031]) {
            const codes = rand.bytes(count * codeBytes);
            const query = rand.bytes(codeBytes);
            for (const k of [1, 10, count + 5]) check(kernel, codes, count, codeBytes, query, { k });
            check(kernel, codes, count, codeBytes, query, { k: 5, maxDistance: codeBytes * 3 });
          }
        }
      });

      it('breaks ties by record number', () => {
        const rand = new SeededRandom(11);
        for (const codeBytes of [4, 8, 12, 32]) {
          const codes = tiedCodes(600, codeBytes, rand);
          const query = codes.slice(0, codeBytes);
          for (const k of [1, 3, 50, 599, 700]) check(kernel, codes, 600, codeBytes, query, { k });
        }
      });

      it('handles all-zero and all-one codes, including distance 256', () => {
        for (const codeBytes of [4, 5, 8, 16, 32]) {
          const zeros = new Uint8Array(40 * codeBytes);
          const ones = new Uint8Array(40 * codeBytes).fill(0xff);
          const bits = codeBytes * 8;
          for (const codes of [zeros, ones]) {
            for (const query of [zeros.subarray(0, codeBytes), ones.subarray(0, codeBytes)]) {
              check(kernel, codes, 40, codeBytes, query, { k: 10 });
              check(kernel, codes, 40, codeBytes, query, { k: 10, maxDistance: bits - 1 });
              check(kernel, codes, 40, codeBytes, query, { k: 10, maxDistance: bits });
            }
          }
        }
        const scanner = new HammingScanner(32, { kernel });
        scanner.append(new Uint8Array(32 * 20).fill(0xff));
        expect(scanner.search(new Uint8Array(32), { k: 2 })).toEqual([
          { record: 0, distance: 256 },
          { record: 1, distance: 256 },
        ]);
        expect(scanner.search(new Uint8Array(32), { k: 2, maxDistance: 255 })).toEqual([]);
      });

      it('keeps exact results when many records pass the threshold (out area refills)', () => {
        const rand = new SeededRandom(3);
        const count = 3 * OUT_CAPACITY + 40;
        const codes = tiedCodes(count, 8, rand);
        const query = codes.slice(8, 16);
        check(kernel, codes, count, 8, query, { k: OUT_CAPACITY + 7 });
        check(kernel, codes, count, 8, query, { k: Infinity, maxDistance: 3 });
      });

      it('skips tombstoned objects by bitmap (recordsPerObject) and by predicate', () => {
        const rand = new SeededRandom(5);
        const count = 300;
        const codes = tiedCodes(count, 8, rand);
        const query = codes.slice(0, 8);
        const deadObjects = [0, 3, 7, 50, 99];
        const scanner = new HammingScanner(8, { kernel });
        scanner.append(codes);
        const bitmap = bitmapOf(deadObjects, 100);
        const got = scanner.search(query, { k: 40, skip: bitmap, recordsPerObject: 3 });
        const want = scanTopK(codes, count, 8, query, { k: 40, skip: (r) => deadObjects.includes(Math.floor(r / 3)) });
        expect(got).toEqual(want);
        expect(got.some((h) => deadObjects.includes(Math.floor(h.record / 3)))).toBe(false);
        const odd = (r: number) => r % 2 === 1;
        expect(scanner.search(query, { k: 40, skip: odd })).toEqual(scanTopK(codes, count, 8, query, { k: 40, skip: odd }));
      });

      it('verifies listed records (MIH candidates) in list order, in chunks', () => {
        const rand = new SeededRandom(13);
        for (const codeBytes of [4, 6, 8, 16, 32]) {
          const count = 3000;
          const codes = rand.bytes(count * codeBytes);
          const query = rand.bytes(codeBytes);
          const scanner = new HammingScanner(codeBytes, { kernel });
          scanner.append(codes);
          const list = new Uint32Array(9000).map(() => rand.below(count)); // > 2 chunks, with repeats
          const bound = codeBytes * 4 - 2; // just under the mean distance: many pass, many do not
          const got: number[][] = [];
          scanner.verifyRecords(query, list, list.length, bound, (r, d) => got.push([r, d]));
          const want: number[][] = [];
          for (const r of list) {
            const d = scanTopK(codes.subarray(r * codeBytes, (r + 1) * codeBytes), 1, codeBytes, query, { k: 1 })[0].distance;
            if (d <= bound) want.push([r, d]);
          }
          expect(got).toEqual(want);
          expect(got.length).toBeGreaterThan(100);
          expect(got.length).toBeLessThan(list.length - 100);
        }
      });

      it('scans a record range', () => {
        const rand = new SeededRandom(9);
        const codes = rand.bytes(500 * 12);
        const query = rand.bytes(12);
        const scanner = new HammingScanner(12, { kernel });
        scanner.append(codes);
        for (const [from, to] of [[0, 500], [3, 19], [5, 9], [16, 480], [17, 500]]) {
          const want = scanTopK(codes, 500, 12, query, { k: 20, skip: (r) => r < from || r >= to });
          expect(scanner.search(query, { k: 20, from, to })).toEqual(want);
        }
      });
    });
  }

  it('gives the same results with every kernel on a larger random set', () => {
    const rand = new SeededRandom(21);
    for (const codeBytes of [8, 32]) {
      const codes = rand.bytes(20000 * codeBytes);
      const query = rand.bytes(codeBytes);
      const results = KERNELS.map((kernel) => {
        const s = new HammingScanner(codeBytes, { kernel });
        s.append(codes);
        return s.search(query, { k: 25 });
      });
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
      expect(results[0]).toEqual(scanTopK(codes, 20000, codeBytes, query, { k: 25 }));
    }
  });

  it('stores, overwrites, grows and truncates records', () => {
    const s = new HammingScanner(5);
    expect(s.stride).toBe(8);
    const a = Uint8Array.of(1, 2, 3, 4, 5);
    const b = Uint8Array.of(255, 0, 255, 0, 255);
    expect(s.append(new Uint8Array([...a, ...b]))).toBe(0);
    expect(s.count).toBe(2);
    expect(s.code(1)).toEqual(b);
    s.set(4, a); // records 2, 3 appear as zeros
    expect(s.count).toBe(5);
    expect(s.code(2)).toEqual(new Uint8Array(5));
    expect(s.code(4)).toEqual(a);
    expect(s.distance(1, a)).toBe(scanTopK(b, 1, 5, a, { k: 1 })[0].distance);
    s.truncate(1);
    expect(s.count).toBe(1);
    s.set(2, b);
    expect(s.code(1)).toEqual(new Uint8Array(5));
    expect(s.storedCodes().length).toBe(3 * 8);
    s.write(5, new Uint8Array([...b, ...a])); // bulk write past the end: record 3, 4 stay zero
    expect(s.count).toBe(7);
    expect(s.code(4)).toEqual(new Uint8Array(5));
    expect(s.code(5)).toEqual(b);
    expect(s.code(6)).toEqual(a);
    s.write(0, b);
    expect(s.code(0)).toEqual(b);
    expect(s.count).toBe(7);
    // Growing past the initial memory keeps contents.
    const big = new SeededRandom(1).bytes(100_000 * 5);
    s.load(big);
    expect(s.count).toBe(100_000);
    expect(s.code(99_999)).toEqual(big.slice(99_999 * 5));
    expect(() => s.code(100_000)).toThrow(RangeError);
    expect(() => new HammingScanner(3)).toThrow(RangeError);
    expect(() => new HammingScanner(33)).toThrow(RangeError);
    expect(() => s.search(new Uint8Array(4), { k: 1 })).toThrow();
  });

  it('fastScanTopK is a drop-in for scanTopK', () => {
    const rand = new SeededRandom(4);
    const codes = rand.bytes(777 * 16);
    const query = rand.bytes(16);
    const opts = { k: 12, maxDistance: 60, skip: (r: number) => r % 5 === 0 };
    expect(fastScanTopK(codes, 777, 16, query, opts)).toEqual(scanTopK(codes, 777, 16, query, opts));
    expect(fastScanTopK(codes, 500, 16, query, { k: 3 }, 'js')).toEqual(scanTopK(codes, 500, 16, query, { k: 3 }));
  });
});
