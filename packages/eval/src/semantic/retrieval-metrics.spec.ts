import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx } from './idx-reader.ts';
import { elevenPoint, hammingRankingMetrics, type PackedCodes } from './retrieval-metrics.ts';

const codes = (bytes: number[]): PackedCodes => ({ rows: bytes.length, bits: 8, bytes: 1, data: Uint8Array.from(bytes) });
const A = 0;
const B = 1;
const C = 2;

// Database (index: code, label): 0: 00000000 A, 1: 00000001 B, 2: 00000011 A, 3: 11111111 A, 4: 00001111 B
const db = codes([0x00, 0x01, 0x03, 0xff, 0x0f]);
const dbLabels = [A, B, A, A, B];

describe('Hamming ranking metrics (hand-computed example)', () => {
  it('query 00000000 (A): ranking 0A 1B 2A 4B 3A -> AP (1 + 2/3 + 3/5)/3, 11-pt 8.4/11, P@r2 2/3', () => {
    const m = hammingRankingMetrics(db, dbLabels, codes([0x00]), [A]);
    expect(m.map).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 3, 10);
    // recall 1/3 @ p 1, 2/3 @ p 2/3, 1 @ p 3/5: levels 0..0.3 -> 1, 0.4..0.6 -> 2/3, 0.7..1 -> 3/5
    expect(m.map11).toBeCloseTo((4 * 1 + 3 * (2 / 3) + 4 * 0.6) / 11, 10);
    expect(m.precisionAtRadius).toBeCloseTo(2 / 3, 10);
  });

  it('breaks distance ties by database index', () => {
    // query 00000011 (B): distances 2,1,0,6,2 -> 2A 1B 0A 4B 3A (0 before 4 at distance 2)
    const m = hammingRankingMetrics(db, dbLabels, codes([0x03]), [B]);
    expect(m.map).toBeCloseTo((1 / 2 + 2 / 4) / 2, 10); // 4 before 0 would give (1/2 + 2/3)/2
    expect(m.map11).toBeCloseTo(0.5, 10);
    expect(m.precisionAtRadius).toBeCloseTo(2 / 4, 10);
  });

  it('averages over queries; a query with no relevant item or nothing in radius scores 0', () => {
    const m = hammingRankingMetrics(db, dbLabels, codes([0x00, 0x01, 0x03, 0xaa]), [A, B, B, C]);
    // query 00000001 (B): 1B, then 0A 2A tied at 1, 4B, 3A -> AP (1 + 2/4)/2, 11-pt (6 + 5 * 0.5)/11, P@r2 1/3
    const ap = [(1 + 2 / 3 + 3 / 5) / 3, (1 + 2 / 4) / 2, 0.5, 0];
    const p11 = [8.4 / 11, 8.5 / 11, 0.5, 0];
    // query 10101010 (C): no relevant item; its nearest code is at distance 4 (> 2)
    const pr = [2 / 3, 1 / 3, 0.5, 0];
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(m.queries).toBe(4);
    expect(m.map).toBeCloseTo(mean(ap), 10);
    expect(m.map11).toBeCloseTo(mean(p11), 10);
    expect(m.precisionAtRadius).toBeCloseTo(mean(pr), 10);
  });

  it('handles multi-word codes (64 bits) like single bytes', () => {
    const wide = (rows: number[][]): PackedCodes => ({ rows: rows.length, bits: 64, bytes: 8, data: Uint8Array.from(rows.flat()) });
    const z = [0, 0, 0, 0, 0, 0, 0, 0];
    const dbw = wide([z, [0, 0, 0, 0, 0, 0, 0, 1], [0xff, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0xff, 0xff, 0, 0]]);
    const m = hammingRankingMetrics(dbw, [A, A, B, B], wide([[0, 0, 0, 0, 0, 0, 0, 0x80]]), [B]);
    // distances 1, 2, 9, 17 -> A A B B: AP (1/3 + 2/4)/2; nothing relevant within radius 2
    expect(m.map).toBeCloseTo((1 / 3 + 2 / 4) / 2, 10);
    expect(m.precisionAtRadius).toBe(0);
  });

  it('11-point interpolation takes the best precision at any recall >= the level', () => {
    expect(elevenPoint(Float64Array.from([0.5, 1]), 2)).toBeCloseTo(1, 10);
    expect(elevenPoint(Float64Array.from([1, 0.5]), 2)).toBeCloseTo((6 + 5 * 0.5) / 11, 10);
  });
});

describe('IDX reader', () => {
  it('parses gzip-compressed and raw IDX files and rejects bad ones', () => {
    const raw = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const bytes of [raw, gzipSync(raw)]) {
      const t = parseIdx(bytes);
      expect(t.dims).toEqual([2, 2, 3]);
      expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
    expect(() => parseIdx(raw.subarray(0, raw.length - 1))).toThrow(/header says 12/);
    expect(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/not unsigned byte/);
  });
});
