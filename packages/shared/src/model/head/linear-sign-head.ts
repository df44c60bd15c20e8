import { packBits } from '../../code/bit-code.ts';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { Tf } from '../runtime/tf-runtime.ts';
import type { HashHead, HeadSpec, NamedTensor } from './hash-head.ts';

/** bits = sign(W (x - mean) + bias). See HeadSpecSchema. */
export class LinearSignHead implements HashHead {
  readonly type = 'linear-sign' as const;
  readonly bits: number;
  // Float64 copies: mixed f32 x f64 loops run ~2x slower in V8.
  private readonly mean64: Float64Array;
  private readonly weight64: Float64Array;
  /** hashMany's weights on the TF backend, per code length kept (weightsOnBackend). */
  private readonly onBackend = new Map<number, { weightT: Tensor2D; offset: Tensor }>();

  constructor(
    readonly inDim: number,
    /** [inDim] */
    private readonly mean: Float32Array,
    /** [bits, inDim], row-major: one hyperplane per bit. */
    private readonly weight: Float32Array,
    /** [bits] */
    private readonly bias: Float32Array,
  ) {
    this.bits = bias.length;
    if (mean.length !== inDim || weight.length !== this.bits * inDim) {
      throw new Error(`linear-sign head: shapes do not match inDim ${inDim}, bits ${this.bits}`);
    }
    this.mean64 = Float64Array.from(mean);
    this.weight64 = Float64Array.from(weight);
  }

  static fromTensors(spec: Extract<HeadSpec, { type: 'linear-sign' }>, t: Map<string, Float32Array>): LinearSignHead {
    return new LinearSignHead(spec.inDim, need(t, 'mean'), need(t, 'weight'), need(t, 'bias'));
  }

  hash(x: Float32Array): Uint8Array {
    if (x.length !== this.inDim) throw new Error(`descriptor has ${x.length} dims, head expects ${this.inDim}`);
    const n = this.inDim;
    const w = this.weight64;
    const c = new Float64Array(n);
    for (let k = 0; k < n; k++) c[k] = x[k] - this.mean64[k];
    const signs = new Uint8Array(this.bits);
    const n4 = n - (n % 4);
    for (let b = 0; b < this.bits; b++) {
      // Four accumulators in a fixed order: ~2x faster, and the result is still the same every run.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const row = b * n;
      for (let k = 0; k < n4; k += 4) {
        s0 += w[row + k] * c[k];
        s1 += w[row + k + 1] * c[k + 1];
        s2 += w[row + k + 2] * c[k + 2];
        s3 += w[row + k + 3] * c[k + 3];
      }
      for (let k = n4; k < n; k++) s0 += w[row + k] * c[k];
      signs[b] = s0 + s1 + (s2 + s3) + this.bias[b] > 0 ? 1 : 0;
    }
    return packBits(signs);
  }

  hashMany(tf: Tf, descriptors: Float32Array[], bits = this.bits): Uint8Array[] {
    if (!Number.isInteger(bits) || bits < 1 || bits > this.bits) throw new Error(`cannot keep ${bits} of ${this.bits} bits`);
    const n = descriptors.length;
    if (n === 0) return [];
    const x = new Float32Array(n * this.inDim);
    descriptors.forEach((d, i) => {
      if (d.length !== this.inDim) throw new Error(`descriptor has ${d.length} dims, head expects ${this.inDim}`);
      x.set(d, i * this.inDim);
    });
    const { weightT, offset } = this.weightsOnBackend(tf, bits);
    const y = tf.tidy(() => tf.tensor2d(x, [n, this.inDim]).matMul(weightT).add(offset));
    const v = y.dataSync();
    y.dispose();
    return descriptors.map((_, i) => packBits(Array.from(v.subarray(i * bits, (i + 1) * bits), (s) => (s > 0 ? 1 : 0))));
  }

  /**
   * W^T and bias - W mean for the first `bits` hyperplanes, kept on the backend (so x - mean is never
   * formed): uploading and transposing 1792 x 256 weights costs as much as the product.
   */
  private weightsOnBackend(tf: Tf, bits: number): { weightT: Tensor2D; offset: Tensor } {
    let w = this.onBackend.get(bits);
    if (!w) {
      w = tf.tidy(() => {
        const weight = tf.tensor2d(this.weight.subarray(0, bits * this.inDim), [bits, this.inDim]);
        const meanProjection = tf.matMul(tf.tensor2d(this.mean, [1, this.inDim]), weight, false, true).reshape([bits]);
        return { weightT: tf.keep(weight.transpose()), offset: tf.keep(tf.sub(tf.tensor1d(this.bias.subarray(0, bits)), meanProjection)) };
      });
      this.onBackend.set(bits, w);
    }
    return w;
  }

  toSpec(): { spec: HeadSpec; tensors: NamedTensor[] } {
    return {
      spec: { type: this.type, inDim: this.inDim, bits: this.bits },
      tensors: [
        { name: 'mean', shape: [this.inDim], data: this.mean },
        { name: 'weight', shape: [this.bits, this.inDim], data: this.weight },
        { name: 'bias', shape: [this.bits], data: this.bias },
      ],
    };
  }
}

export function need(t: Map<string, Float32Array>, name: string): Float32Array {
  const v = t.get(name);
  if (!v) throw new Error(`model artifact lacks tensor "${name}"`);
  return v;
}
