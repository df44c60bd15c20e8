/**
 * Calls fn for every `width`-bit value at Hamming distance exactly `distance` from `value`
 * (C(width, distance) values), flipping bit masks enumerated with Gosper's hack.
 */
export function forEachAtDistance(value: number, width: number, distance: number, fn: (v: number) => void): void {
  if (distance < 0 || distance > width) return;
  if (distance === 0) {
    fn(value);
    return;
  }
  const limit = 2 ** width;
  let mask = 2 ** distance - 1;
  while (mask < limit) {
    fn((value ^ mask) >>> 0);
    const low = mask & -mask;
    const ripple = mask + low;
    mask = (((ripple ^ mask) >>> 2) / low) | ripple;
  }
}

/** C(n, r) as a float (n <= 32 here, exact). */
export function binomial(n: number, r: number): number {
  if (r < 0 || r > n) return 0;
  let c = 1;
  for (let i = 1; i <= r; i++) c = (c * (n - r + i)) / i;
  return Math.round(c);
}

/** Writes every `width`-bit value at exactly `distance` from `value` into `out`; returns the count. */
export function valuesAtDistance(value: number, width: number, distance: number, out: Uint32Array): number {
  if (distance < 0 || distance > width) return 0;
  if (distance === 0) {
    out[0] = value;
    return 1;
  }
  const limit = 2 ** width;
  let mask = 2 ** distance - 1;
  let n = 0;
  while (mask < limit) {
    out[n++] = (value ^ mask) >>> 0;
    const low = mask & -mask;
    const ripple = mask + low;
    mask = (((ripple ^ mask) >>> 2) / low) | ripple;
  }
  return n;
}
