import type { Tensor2D } from '@tensorflow/tfjs';
import { LinearSignHead, seededGaussian, type Tf } from '@loupe/shared';
import { columnMean, type FeatureMatrix } from '../data/feature-matrix.ts';
import { polarFactor } from '../linalg/polar-decomposition.ts';
import { orthonormalizeRows, topEigen } from '../linalg/subspace-iteration.ts';
import { columnMedians, covariance, projectRows } from './tf-projection.ts';
import { matMulTA } from './tf-matmul.ts';
import type { TrainedHead } from './trained-head.ts';

export interface ItqOptions {
  bits: number;
  /** Alternations of B = sgn(VR) and the Procrustes step (Gong & Lazebnik use 50). */
  iterations?: number;
  seed?: number;
  /** Threshold each bit at its median over the training set (exactly balanced bits) instead of 0. */
  balance?: boolean;
  /**
   * Whitening power w in [0, 1]: principal direction j is scaled by eigenvalue_j^(-w/2) before the
   * rotation (0: plain PCA as in the paper; 1: full PCA-whitening, every direction equal variance).
   */
  whiten?: number;
  onIteration?: (iteration: number, loss: number) => void;
}

/**
 * PCA + ITQ (Gong & Lazebnik, 2011): project centred descriptors on the top `bits` principal
 * directions P, then learn an orthogonal rotation R minimising the quantisation loss
 * ||sgn(VR) - VR||^2 (V = XP) by alternating the binary codes and an orthogonal Procrustes
 * problem solved with an SVD. The head is linear: bits = sgn(R^T P^T (x - mean) + bias).
 */
export class ItqTrainer {
  constructor(
    private readonly tf: Tf,
    private readonly opts: ItqOptions,
  ) {}

  train(x: FeatureMatrix): TrainedHead {
    const { tf } = this;
    const { bits, iterations = 50, seed = 1, balance = true } = this.opts;
    if (bits > x.dim) throw new Error(`ITQ needs bits <= descriptor dims (${bits} > ${x.dim})`);
    if (bits >= x.rows) throw new Error(`ITQ with ${bits} bits needs more than ${bits} training descriptors, got ${x.rows}`);
    const mean = columnMean(x);
    const pca = this.principalDirections(x, mean, bits, seed);
    const whiten = this.opts.whiten ?? 0;
    if (whiten > 0) scaleRows(pca.vectors, x.dim, pca.values, whiten);
    // V scaled to unit mean square: R and B do not depend on the scale, and the loss then reads as
    // a fraction of ||B||^2 = bits per row rather than being swamped by the tiny descriptor values.
    const projected = projectRows(tf, x, mean, Float32Array.from(pca.vectors), bits);
    let ms = 0;
    for (let i = 0; i < projected.length; i++) ms += projected[i] * projected[i];
    const scale = 1 / Math.sqrt(ms / projected.length || 1);
    for (let i = 0; i < projected.length; i++) projected[i] *= scale;
    const v = tf.tensor2d(projected, [x.rows, bits]);
    const history: number[] = [];
    let r = randomRotation(bits, seed);
    let pcaSignLoss = 0;
    try {
      pcaSignLoss = quantisationLoss(tf, v, identity(bits));
      for (let it = 0; it < iterations; it++) {
        const { loss, m } = this.step(v, r);
        history.push(loss);
        this.opts.onIteration?.(it, loss);
        // Procrustes: max tr(B^T V R) over orthogonal R. With B^T V = U S W^T, R = W U^T, the
        // transpose of the polar factor U W^T of B^T V.
        r = transpose(polarFactor(m, bits), bits);
      }
      history.push(quantisationLoss(tf, v, r));
    } finally {
      v.dispose();
    }
    // weight = (P R)^T: row b = sum_j R[j, b] * P^T[j, :]
    const weight = new Float32Array(bits * x.dim);
    for (let b = 0; b < bits; b++) {
      const acc = new Float64Array(x.dim);
      for (let j = 0; j < bits; j++) {
        const rjb = r[j * bits + b];
        const o = j * x.dim;
        for (let k = 0; k < x.dim; k++) acc[k] += rjb * pca.vectors[o + k];
      }
      weight.set(acc, b * x.dim);
    }
    const bias = new Float32Array(bits);
    if (balance) {
      const medians = columnMedians(projectRows(tf, x, mean, weight, bits), x.rows, bits);
      for (let b = 0; b < bits; b++) bias[b] = -medians[b];
    }
    const explained = pca.values.reduce((a, b) => a + b, 0) / pca.totalVariance;
    return {
      method: 'itq',
      head: new LinearSignHead(x.dim, mean, weight, bias),
      history,
      meta: {
        method: 'itq',
        iterations,
        seed,
        balance,
        whiten,
        trainRows: x.rows,
        pcaExplainedVariance: round(explained),
        pcaSignLoss: round(pcaSignLoss),
        itqLoss: round(history[history.length - 1]),
      },
    };
  }

  /** Top principal directions ([bits, dim] rows) and the share of variance they keep. */
  private principalDirections(x: FeatureMatrix, mean: Float32Array, bits: number, seed: number) {
    const { tf } = this;
    const c = covariance(tf, x, mean);
    let totalVariance = 0;
    for (let i = 0; i < x.dim; i++) totalVariance += c[i * x.dim + i];
    const ct = tf.tensor2d(Float32Array.from(c), [x.dim, x.dim]);
    try {
      const eig = topEigen(c, x.dim, bits, {
        seed,
        // C symmetric: rows of Q C are (C q_i)^T.
        multiply: (q, m) => {
          const y = tf.tidy(() => tf.matMul(tf.tensor2d(Float32Array.from(q), [m, x.dim]), ct));
          const out = Float64Array.from(y.dataSync());
          y.dispose();
          return out;
        },
      });
      return { ...eig, totalVariance };
    } finally {
      ct.dispose();
    }
  }

  /** One B-step: loss ||B - VR||^2 / rows and M = B^T V. */
  private step(v: Tensor2D, r: Float64Array): { loss: number; m: Float64Array } {
    const { tf } = this;
    const bits = v.shape[1];
    const [loss, m] = tf.tidy(() => {
      const z = tf.matMul(v, tf.tensor2d(Float32Array.from(r), [bits, bits]));
      const b = tf.where(tf.greaterEqual(z, 0), tf.onesLike(z), tf.onesLike(z).neg());
      return [tf.div(tf.sum(tf.squaredDifference(b, z)), v.shape[0]), matMulTA(tf, b as Tensor2D, v)];
    });
    const out = { loss: loss.dataSync()[0], m: Float64Array.from(m.dataSync()) };
    loss.dispose();
    m.dispose();
    return out;
  }
}

/** ||sgn(VR) - VR||^2 / rows. */
function quantisationLoss(tf: Tf, v: Tensor2D, r: Float64Array): number {
  const bits = v.shape[1];
  const t = tf.tidy(() => {
    const z = tf.matMul(v, tf.tensor2d(Float32Array.from(r), [bits, bits]));
    const b = tf.where(tf.greaterEqual(z, 0), tf.onesLike(z), tf.onesLike(z).neg());
    return tf.div(tf.sum(tf.squaredDifference(b, z)), v.shape[0]);
  });
  const loss = t.dataSync()[0];
  t.dispose();
  return loss;
}

/** Row j *= values[j]^(-power/2): directions of small variance are stretched towards unit variance. */
function scaleRows(rows: Float64Array, dim: number, values: Float64Array, power: number): void {
  values.forEach((value, j) => {
    const s = Math.max(value, values[0] * 1e-6) ** (-power / 2);
    for (let k = 0; k < dim; k++) rows[j * dim + k] *= s;
  });
}

function randomRotation(n: number, seed: number): Float64Array {
  const r = Float64Array.from(seededGaussian(seed ^ 0x5eed, n * n));
  let s = seed;
  orthonormalizeRows(r, n, n, () => Float64Array.from(seededGaussian(++s, n)));
  return r;
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = a[i * n + j];
  return out;
}

const round = (v: number) => Math.round(v * 1e5) / 1e5;
