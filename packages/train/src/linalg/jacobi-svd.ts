import { orthonormalizeRows } from './subspace-iteration.ts';

/** A = U diag(S) V^T for a square n x n matrix; U and V orthogonal, row-major. */
export interface SquareSvd {
  n: number;
  u: Float64Array;
  s: Float64Array;
  v: Float64Array;
}

/**
 * One-sided (Hestenes) Jacobi SVD of a square matrix: rotate column pairs of A until all are
 * orthogonal, accumulating the rotations in V; then S = column norms and U = columns / S. Columns
 * of U for (near-)zero singular values are completed to an orthonormal basis. Used for the
 * bits x bits Procrustes step of ITQ, where n <= 256.
 */
export function squareSvd(a: ArrayLike<number>, n: number, maxSweeps = 60): SquareSvd {
  if (a.length !== n * n) throw new Error(`squareSvd: ${a.length} values for a ${n}x${n} matrix`);
  const w = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < n; k++) {
          const wp = w[k * n + p];
          const wq = w[k * n + q];
          alpha += wp * wp;
          beta += wq * wq;
          gamma += wp * wq;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < n; k++) {
          const wp = w[k * n + p];
          const wq = w[k * n + q];
          w[k * n + p] = c * wp - s * wq;
          w[k * n + q] = s * wp + c * wq;
          const vp = v[k * n + p];
          const vq = v[k * n + q];
          v[k * n + p] = c * vp - s * vq;
          v[k * n + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let k = 0; k < n; k++) ss += w[k * n + j] ** 2;
    s[j] = Math.sqrt(ss);
  }
  const smax = Math.max(...s, 0);
  const u = new Float64Array(n * n);
  const missing: number[] = [];
  for (let j = 0; j < n; j++) {
    if (s[j] <= 1e-12 * smax || s[j] === 0) {
      missing.push(j);
      continue;
    }
    for (let k = 0; k < n; k++) u[k * n + j] = w[k * n + j] / s[j];
  }
  if (missing.length > 0) completeBasis(u, n, missing);
  return { n, u, s, v };
}

/** Fills the listed columns of a partly orthonormal n x n matrix with unit vectors orthogonal to the rest. */
function completeBasis(u: Float64Array, n: number, missing: number[]): void {
  const have = Array.from({ length: n }, (_, j) => j).filter((j) => !missing.includes(j));
  // Rows of `t` are columns of U: the known ones first, then candidates Gram-Schmidt completes.
  const t = new Float64Array(n * n);
  have.forEach((j, r) => {
    for (let k = 0; k < n; k++) t[r * n + k] = u[k * n + j];
  });
  let e = 0;
  const unit = () => {
    const v = new Float64Array(n);
    v[e++ % n] = 1;
    return v;
  };
  for (let r = have.length; r < n; r++) t.set(unit(), r * n);
  orthonormalizeRows(t, n, n, unit);
  missing.forEach((j, i) => {
    for (let k = 0; k < n; k++) u[k * n + j] = t[(have.length + i) * n + k];
  });
}
