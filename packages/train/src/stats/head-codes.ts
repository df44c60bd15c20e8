import type { Tensor2D } from '@tensorflow/tfjs';
import type { HashHead, Tf } from '@loupe/shared';
import type { FeatureMatrix } from '../data/feature-matrix.ts';

/** Packed codes of many descriptors: `rows` codes of `bytes` bytes each, MSB first like packBits. */
export interface CodeMatrix {
  rows: number;
  bits: number;
  bytes: number;
  data: Uint8Array;
}

const CHUNK_ROWS = 8192;

/**
 * Codes of every row through TF.js, from the head's own tensors (linear-sign or mlp-sign). For
 * evaluation at data-set scale: float32 TF maths can flip a bit whose pre-activation is ~1e-6 from
 * zero, so codes served by Loupe always come from HashHead.hash (fixed-order float64).
 */
export function encodeRows(tf: Tf, head: HashHead, x: FeatureMatrix): CodeMatrix {
  const { spec, tensors } = head.toSpec();
  const t = new Map(tensors.map((n) => [n.name, n]));
  const get = (name: string) => {
    const v = t.get(name);
    if (!v) throw new Error(`head lacks tensor ${name}`);
    return tf.tensor(v.data, v.shape);
  };
  // Weights [units, in] transposed once to [in, units]: matMul's transposeB flag is slow on wasm.
  const getT = (name: string) => tf.tidy(() => tf.transpose(get(name) as Tensor2D));
  const layers =
    spec.type === 'linear-sign'
      ? [{ w: getT('weight'), b: get('bias'), activation: 'linear' as const }]
      : spec.layers.map((l, i) => ({ w: getT(`weight${i}`), b: get(`bias${i}`), activation: l.activation }));
  const mean = get('mean');
  const bytes = Math.ceil(head.bits / 8);
  const out = new Uint8Array(x.rows * bytes);
  try {
    for (let r = 0; r < x.rows; r += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, x.rows - r);
      const y = tf.tidy(() => {
        let h = tf.sub(tf.tensor2d(x.data.subarray(r * x.dim, (r + n) * x.dim), [n, x.dim]), mean) as Tensor2D;
        for (const l of layers) {
          h = tf.add(tf.matMul(h, l.w as Tensor2D), l.b) as Tensor2D;
          if (l.activation === 'relu') h = tf.relu(h);
          else if (l.activation === 'tanh') h = tf.tanh(h);
        }
        return h;
      });
      const v = y.dataSync();
      y.dispose();
      for (let i = 0; i < n; i++)
        for (let b = 0; b < head.bits; b++) if (v[i * head.bits + b] > 0) out[(r + i) * bytes + (b >> 3)] |= 0x80 >> (b & 7);
    }
  } finally {
    for (const l of layers) {
      l.w.dispose();
      l.b.dispose();
    }
    mean.dispose();
  }
  return { rows: x.rows, bits: head.bits, bytes, data: out };
}

/** Codes through HashHead.hash (exactly what Loupe serves); slower, for small sets. */
export function hashRows(head: HashHead, x: FeatureMatrix): CodeMatrix {
  const bytes = Math.ceil(head.bits / 8);
  const out = new Uint8Array(x.rows * bytes);
  for (let r = 0; r < x.rows; r++) out.set(head.hash(x.data.subarray(r * x.dim, (r + 1) * x.dim)), r * bytes);
  return { rows: x.rows, bits: head.bits, bytes, data: out };
}
