import type { Tensor2D } from '@tensorflow/tfjs';
import type { Tf } from '@loupe/shared';
import type { FeatureMatrix } from '../data/feature-matrix.ts';
import { matMulTA } from './tf-matmul.ts';

/** Rows per TF.js upload: bounds activation memory whatever the training-set size. */
const CHUNK_ROWS = 8192;

/**
 * (x - mean) W^T for every row, as float32 [rows, outDim]: the bulk matrix products of training
 * run in TF.js (wasm SIMD or libtensorflow), far faster than JS loops at 1792 dims.
 * `weight` is [outDim, dim] row-major (one output per row), as linear heads store it.
 */
export function projectRows(tf: Tf, x: FeatureMatrix, mean: Float32Array, weight: Float32Array, outDim: number): Float32Array {
  const out = new Float32Array(x.rows * outDim);
  const w = tf.tidy(() => tf.transpose(tf.tensor2d(weight, [outDim, x.dim])));
  const mu = tf.tensor1d(mean);
  try {
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const y = tf.tidy(() => tf.matMul(tf.sub(tf.tensor2d(x.data.subarray(r * x.dim, (r + n) * x.dim), [n, x.dim]), mu), w));
      out.set(y.dataSync() as Float32Array, r * outDim);
      y.dispose();
    }
  } finally {
    w.dispose();
    mu.dispose();
  }
  return out;
}

/** Covariance (x - mean)^T (x - mean) / (rows - 1), [dim, dim] in float64. */
export function covariance(tf: Tf, x: FeatureMatrix, mean: Float32Array): Float64Array {
  const mu = tf.tensor1d(mean);
  let acc: Tensor2D = tf.zeros([x.dim, x.dim]);
  try {
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const next = tf.tidy(() => {
        const c = tf.sub(tf.tensor2d(x.data.subarray(r * x.dim, (r + n) * x.dim), [n, x.dim]), mu) as Tensor2D;
        return tf.add(acc, matMulTA(tf, c, c)) as Tensor2D;
      });
      acc.dispose();
      acc = next;
    }
    const data = acc.dataSync();
    const scale = 1 / Math.max(1, x.rows - 1);
    return Float64Array.from(data, (v) => v * scale);
  } finally {
    acc.dispose();
    mu.dispose();
  }
}

/** Per-column median of a [rows, cols] matrix: thresholds that split every bit 50/50. */
export function columnMedians(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  const col = new Float32Array(rows);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) col[r] = m[r * cols + c];
    col.sort();
    out[c] = rows % 2 ? col[(rows - 1) / 2] : (col[rows / 2 - 1] + col[rows / 2]) / 2;
  }
  return out;
}
