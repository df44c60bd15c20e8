import { describe, expect, it } from 'vitest';
import { seededGaussian } from '@loupe/shared';
import { symmetricEigen } from './jacobi-eigen.ts';
import { squareSvd } from './jacobi-svd.ts';
import { polarFactor } from './polar-decomposition.ts';
import { topEigen } from './subspace-iteration.ts';

const gauss = (seed: number, n: number) => Float64Array.from(seededGaussian(seed, n));

function mul(a: Float64Array, b: Float64Array, n: number, transB = false): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * (transB ? b[j * n + k] : b[k * n + j]);
      out[i * n + j] = s;
    }
  return out;
}
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const isOrthogonal = (q: Float64Array, n: number) => {
  const id = new Float64Array(n * n);
  for (let i = 0; i < n; i++) id[i * n + i] = 1;
  return maxAbsDiff(mul(q, q, n, true), id);
};

describe('small dense linear algebra', () => {
  it('Jacobi eigen-decomposition reconstructs a symmetric matrix, values sorted', () => {
    const n = 20;
    const g = gauss(3, n * n);
    const c = mul(g, g, n, true); // G G^T: symmetric PSD
    const { values, vectors } = symmetricEigen(c, n);
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    const scaled = new Float64Array(n * n);
    for (let r = 0; r < n; r++) for (let k = 0; k < n; k++) scaled[r * n + k] = vectors[r * n + k] * values[k];
    expect(maxAbsDiff(mul(scaled, vectors, n, true), c)).toBeLessThan(1e-9);
    expect(isOrthogonal(vectors, n)).toBeLessThan(1e-12);
  });

  it('one-sided Jacobi SVD: U S V^T = A with orthogonal U, V, also for a rank-deficient A', () => {
    const n = 16;
    for (const a of [gauss(5, n * n), Float64Array.from({ length: n * n }, (_, i) => ((i / n) | 0) * ((i % n) % 3))]) {
      const { u, s, v } = squareSvd(a, n);
      const us = Float64Array.from(u, (x, i) => x * s[i % n]);
      expect(maxAbsDiff(mul(us, v, n, true), a)).toBeLessThan(1e-10);
      expect(isOrthogonal(u, n)).toBeLessThan(1e-10);
      expect(isOrthogonal(v, n)).toBeLessThan(1e-10);
    }
  });

  it('the polar factor (Newton) is the orthogonal U V^T of the SVD', () => {
    const n = 24;
    const a = gauss(7, n * n);
    const q = polarFactor(a, n);
    const { u, v } = squareSvd(a, n);
    expect(maxAbsDiff(q, mul(u, v, n, true))).toBeLessThan(1e-9);
    expect(isOrthogonal(q, n)).toBeLessThan(1e-12);
  });

  it('subspace iteration finds the leading eigenpairs of a large covariance', () => {
    const dim = 120;
    const k = 6;
    const g = gauss(11, dim * dim);
    const c = mul(g, g, dim, true);
    const exact = symmetricEigen(c, dim);
    const top = topEigen(c, dim, k, { iterations: 30 });
    for (let j = 0; j < k; j++) {
      expect(top.values[j] / exact.values[j]).toBeCloseTo(1, 6);
      let dot = 0; // same direction up to sign
      for (let d = 0; d < dim; d++) dot += top.vectors[j * dim + d] * exact.vectors[d * dim + j];
      expect(Math.abs(dot)).toBeCloseTo(1, 5);
    }
  });
});
