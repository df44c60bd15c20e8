import type { CodeMatrix } from './head-codes.ts';

export interface BitBalance {
  /** Fraction of codes with bit b set, per bit. */
  ones: Float64Array;
  /** Extremes of `ones`: 0.5 / 0.5 is perfectly balanced. */
  min: number;
  max: number;
  /** Mean |ones - 0.5|. */
  meanSkew: number;
  /** Distinct codes among the rows. */
  distinct: number;
}

/** How evenly each bit splits a set of codes; dead (constant) bits waste index capacity. */
export function bitBalance(codes: CodeMatrix): BitBalance {
  const counts = new Float64Array(codes.bits);
  const seen = new Set<string>();
  for (let r = 0; r < codes.rows; r++) {
    const o = r * codes.bytes;
    for (let b = 0; b < codes.bits; b++) if (codes.data[o + (b >> 3)] & (0x80 >> (b & 7))) counts[b]++;
    seen.add(Buffer.from(codes.data.subarray(o, o + codes.bytes)).toString('hex'));
  }
  const ones = counts.map((c) => c / Math.max(1, codes.rows));
  return {
    ones,
    min: Math.min(...ones),
    max: Math.max(...ones),
    meanSkew: ones.reduce((s, p) => s + Math.abs(p - 0.5), 0) / codes.bits,
    distinct: seen.size,
  };
}
