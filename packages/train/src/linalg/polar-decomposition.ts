import { squareSvd } from './jacobi-svd.ts';

/**
 * Orthogonal polar factor Q of a square matrix M = Q H (H symmetric PSD): the orthogonal matrix
 * nearest to M, i.e. U V^T for M = U S V^T. Scaled Newton iteration X <- (mu X + X^-T / mu) / 2
 * (Higham 1986): quadratic convergence, ~6-10 iterations of an O(n^3) inverse — much cheaper than
 * a Jacobi SVD at n = 256. Falls back to the SVD when M is (numerically) singular.
 */
export function polarFactor(m: ArrayLike<number>, n: number, maxIterations = 50): Float64Array {
  if (m.length !== n * n) throw new Error(`polarFactor: ${m.length} values for a ${n}x${n} matrix`);
  let x = Float64Array.from(m);
  for (let it = 0; it < maxIterations; it++) {
    const inv = invert(x, n);
    if (!inv) return viaSvd(m, n);
    const mu = Math.sqrt(frobenius(inv) / frobenius(x));
    const next = new Float64Array(n * n);
    // X^-T: element (i, j) of the inverse's transpose is inv[j, i].
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[i * n + j] = 0.5 * (mu * x[i * n + j] + inv[j * n + i] / mu);
    let delta = 0;
    for (let k = 0; k < n * n; k++) delta += (next[k] - x[k]) ** 2;
    x = next;
    if (Math.sqrt(delta) <= 1e-12 * Math.sqrt(n)) return x;
  }
  return x;
}

function viaSvd(m: ArrayLike<number>, n: number): Float64Array {
  const { u, v } = squareSvd(m, n);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += u[i * n + k] * v[j * n + k];
      q[i * n + j] = s;
    }
  return q;
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Gauss-Jordan inverse with partial pivoting; undefined when a pivot vanishes. */
export function invert(a: Float64Array, n: number): Float64Array | undefined {
  const w = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(w[r * n + c]) > Math.abs(w[p * n + c])) p = r;
    const pivot = w[p * n + c];
    if (!(Math.abs(pivot) > 1e-13 * scale)) return undefined;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = w[p * n + k];
        w[p * n + k] = w[c * n + k];
        w[c * n + k] = t;
        const u = inv[p * n + k];
        inv[p * n + k] = inv[c * n + k];
        inv[c * n + k] = u;
      }
    }
    const f = 1 / pivot;
    const pc = c * n;
    // Columns left of c are already reduced (zero in the pivot row): only k >= c of w changes.
    for (let k = c; k < n; k++) w[pc + k] *= f;
    for (let k = 0; k < n; k++) inv[pc + k] *= f;
    for (let r = 0; r < n; r++) {
      const g = w[r * n + c];
      if (r === c || g === 0) continue;
      const pr = r * n;
      for (let k = c; k < n; k++) w[pr + k] -= g * w[pc + k];
      for (let k = 0; k < n; k++) inv[pr + k] -= g * inv[pc + k];
    }
  }
  return inv;
}
