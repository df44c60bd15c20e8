import { SeededRandom } from '@loupe/shared';

/** One target code per class, +1/-1 per bit, row-major [classes, bits]. */
export interface HashCenters {
  classes: number;
  bits: number;
  /** 'hadamard' when bits is a power of two and classes <= 2 * bits, else 'random'. */
  kind: 'hadamard' | 'random';
  values: Float32Array;
  /** Smallest Hamming distance between two centres. */
  minDistance: number;
}

/**
 * Hash centres as in CSQ (Yuan et al., CVPR 2020): rows of a Sylvester Hadamard matrix H and of -H
 * are pairwise at Hamming distance >= bits/2. The all-ones row and its negation (unbalanced bits)
 * come last, so with few classes every centre is balanced. Otherwise balanced random centres
 * (exactly bits/2 ones each), the best of a few draws by minimum pairwise distance.
 */
export function hashCenters(classes: number, bits: number, seed = 1): HashCenters {
  if (classes < 1) throw new Error('hash centres need at least one class');
  const powerOfTwo = bits >= 2 && (bits & (bits - 1)) === 0;
  const values = powerOfTwo && classes <= 2 * bits ? hadamardCenters(classes, bits) : randomCenters(classes, bits, seed);
  return { classes, bits, kind: powerOfTwo && classes <= 2 * bits ? 'hadamard' : 'random', values, minDistance: minDistance(values, classes, bits) };
}

/** Sylvester construction: H[i][j] = (-1)^popcount(i & j). */
function hadamardCenters(classes: number, bits: number): Float32Array {
  const rows: { row: number; sign: number }[] = [];
  for (let i = 1; i < bits; i++) rows.push({ row: i, sign: 1 });
  for (let i = 1; i < bits; i++) rows.push({ row: i, sign: -1 });
  rows.push({ row: 0, sign: 1 }, { row: 0, sign: -1 });
  const out = new Float32Array(classes * bits);
  for (let c = 0; c < classes; c++) {
    const { row, sign } = rows[c];
    for (let j = 0; j < bits; j++) out[c * bits + j] = sign * (popcount(row & j) % 2 === 0 ? 1 : -1);
  }
  return out;
}

function randomCenters(classes: number, bits: number, seed: number): Float32Array {
  const rnd = new SeededRandom(seed);
  let best: Float32Array | undefined;
  let bestMin = -1;
  for (let attempt = 0; attempt < 20; attempt++) {
    const out = new Float32Array(classes * bits);
    for (let c = 0; c < classes; c++) {
      const row = Array.from({ length: bits }, (_, j) => (j < bits / 2 ? 1 : -1));
      rnd.shuffle(row);
      out.set(row, c * bits);
    }
    const d = minDistance(out, classes, bits);
    if (d > bestMin) {
      best = out;
      bestMin = d;
    }
  }
  return best!;
}

function minDistance(v: Float32Array, classes: number, bits: number): number {
  let min = bits;
  for (let a = 0; a < classes; a++)
    for (let b = a + 1; b < classes; b++) {
      let d = 0;
      for (let j = 0; j < bits; j++) if (v[a * bits + j] !== v[b * bits + j]) d++;
      min = Math.min(min, d);
    }
  return classes > 1 ? min : bits;
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}
