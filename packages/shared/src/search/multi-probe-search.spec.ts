import { describe, expect, it } from 'vitest';
import { HammingScanner } from './hamming-scanner.ts';
import { MULTI_PROBES, OUT_CAPACITY } from './kernel/kernel-layout.ts';
import type { ProbeQuery, SharedScanOptions } from './multi-probe-search.ts';
import { scanTopK, type ScanHit } from './reference-scan.ts';
import { WasmPopcountKernel } from './kernel/wasm-popcount-kernel.ts';
import { bitmapOf } from './skip-bitmap.ts';
import { SeededRandom } from '../util/seeded-random.ts';

/** searchMany against search() per probe and against the reference scan. */
function check(scanner: HammingScanner, codes: Uint8Array, probes: ProbeQuery[], opts: SharedScanOptions = {}) {
  const many = scanner.searchMany(probes, opts);
  const single = probes.map((p) => scanner.search(p.code, { ...opts, k: p.k, maxDistance: p.maxDistance }));
  expect(many).toEqual(single);
  const from = opts.from ?? 0;
  const to = Math.min(opts.to ?? scanner.count, scanner.count);
  const skip = (r: number) => r < from || (opts.skip instanceof Uint8Array && ((opts.skip[Math.floor(r / (opts.recordsPerObject ?? 1)) >> 3] >> (7 - (Math.floor(r / (opts.recordsPerObject ?? 1)) & 7))) & 1) === 1);
  probes.forEach((p, i) => expect(many[i]).toEqual(scanTopK(codes, Math.max(0, to), scanner.codeBytes, p.code, { k: p.k, maxDistance: p.maxDistance, skip })));
  return many;
}

function scannerOf(codes: Uint8Array, codeBytes: number): HammingScanner {
  const scanner = new HammingScanner(codeBytes, { kernel: 'wasm', multiProbeMinBytes: 0 });
  scanner.append(codes);
  return scanner;
}

describe('HammingScanner.searchMany (multi-probe scan)', () => {
  it('scans small ranges one query at a time and large ones together, with the same hits', () => {
    const rand = new SeededRandom(20);
    const codes = rand.bytes(3000 * 32);
    const probes = Array.from({ length: 3 }, () => ({ code: rand.bytes(32), k: 7 }));
    const hits: ScanHit[][][] = [];
    const passes: number[] = [];
    for (const minBytes of [3000 * 32, 3000 * 32 + 1]) {
      // A real wasm kernel whose shared passes are counted.
      const kernel = new WasmPopcountKernel();
      const scanBlocksMulti = kernel.scanBlocksMulti.bind(kernel);
      let n = 0;
      kernel.scanBlocksMulti = (...args) => (n++, scanBlocksMulti(...args));
      const scanner = new HammingScanner(32, { kernel, multiProbeMinBytes: minBytes });
      scanner.append(codes);
      hits.push(scanner.searchMany(probes));
      passes.push(n);
    }
    expect(passes[0]).toBeGreaterThan(0);
    expect(passes[1]).toBe(0);
    expect(hits[0]).toEqual(hits[1]);
    expect(hits[0]).toEqual(probes.map((p) => scanTopK(codes, 3000, 32, p.code, { k: 7 })));
  });

  it('gives every probe the same hits as its own scan, for every code size, probe count and record count', () => {
    const rand = new SeededRandom(21);
    for (const codeBytes of [4, 8, 12, 16, 24, 32]) {
      for (const count of [0, 5, 16, 33, 1000, 5003]) {
        const codes = rand.bytes(count * codeBytes);
        const scanner = scannerOf(codes, codeBytes);
        for (const n of [1, 2, 3, MULTI_PROBES, MULTI_PROBES + 1, 13]) {
          const probes = Array.from({ length: n }, (_, i) => ({ code: rand.bytes(codeBytes), k: [1, 10, 160, count + 3][i % 4] }));
          check(scanner, codes, probes);
        }
      }
    }
  });

  it('keeps each probe its own k and radius', () => {
    const rand = new SeededRandom(22);
    const codes = rand.bytes(4000 * 32);
    const scanner = scannerOf(codes, 32);
    const probes = [
      { code: rand.bytes(32), k: 10 },
      { code: codes.slice(32 * 77, 32 * 78), k: 5, maxDistance: 0 },
      { code: rand.bytes(32), k: Infinity, maxDistance: 112 },
      { code: rand.bytes(32), k: 3, maxDistance: 1 },
    ];
    const hits = check(scanner, codes, probes);
    expect(hits[1]).toEqual([{ record: 77, distance: 0 }]);
    expect(hits[2].length).toBeGreaterThan(0);
    expect(hits[3]).toEqual([]);
  });

  it('honours the record range and the skip bitmap by object', () => {
    const rand = new SeededRandom(23);
    const views = 16;
    const codes = rand.bytes(700 * views * 32);
    const scanner = scannerOf(codes, 32);
    const skip = bitmapOf([0, 3, 5, 100, 250, 699], 700);
    const probes = Array.from({ length: 6 }, (_, i) => ({ code: rand.bytes(32), k: 10 * views + i }));
    for (const opts of [{ skip, recordsPerObject: views }, { skip, recordsPerObject: views, from: 37, to: 700 * views - 9 }, { from: 5, to: 20 }]) check(scanner, codes, probes, opts);
  });

  it('resumes where the out area filled up: many ties at distance 0 for several probes', () => {
    // Every record equals one of the probes: a probe with k = Infinity and radius 0 gets thousands of hits.
    const rand = new SeededRandom(24);
    const protos = [rand.bytes(32), rand.bytes(32)];
    const count = 3 * OUT_CAPACITY + 7;
    const codes = new Uint8Array(count * 32);
    for (let r = 0; r < count; r++) codes.set(protos[r % 2], 32 * r);
    const scanner = scannerOf(codes, 32);
    const probes = [
      { code: protos[0], k: Infinity, maxDistance: 0 },
      { code: protos[1], k: Infinity, maxDistance: 0 },
      { code: protos[0], k: 1000 },
    ];
    const hits = check(scanner, codes, probes);
    expect(hits[0].length).toBe(Math.ceil(count / 2));
    expect(hits[1].length).toBe(Math.floor(count / 2));
    expect(hits[2].map((h) => h.record).slice(0, 3)).toEqual([0, 2, 4]);
  });

  it('falls back to one probe at a time on the JS kernel, with the same hits', () => {
    const rand = new SeededRandom(25);
    const codes = rand.bytes(2000 * 32);
    const js = new HammingScanner(32, { kernel: 'js', multiProbeMinBytes: 0 });
    js.append(codes);
    const probes = Array.from({ length: 5 }, () => ({ code: rand.bytes(32), k: 20 }));
    expect(js.searchMany(probes)).toEqual(scannerOf(codes, 32).searchMany(probes));
  });
});
