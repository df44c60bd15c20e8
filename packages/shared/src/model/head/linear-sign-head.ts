import { packBits, packSigns } from '../../code/bit-code.ts';
import type { AffineMap, InferenceRuntime } from '../runtime/inference-runtime.ts';
import type { HashHead, HeadSpec, NamedTensor } from './hash-head.ts';

/** bits = sign(W (x - mean) + bias). See HeadSpecSchema. */
export class LinearSignHead implements HashHead {
  readonly type = 'linear-sign' as const;
  readonly bits: number;
  // Float64 copies: mixed f32 x f64 loops run ~2x slower in V8.
  private readonly mean64: Float64Array;
  private readonly weight64: Float64Array;
  /** hashMany's products on each runtime, per code length kept. */
  private readonly projections = new WeakMap<InferenceRuntime, Map<number, AffineMap>>();

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

  async hashMany(runtime: InferenceRuntime, descriptors: Float32Array[], bits = this.bits): Promise<Uint8Array[]> {
    if (!Number.isInteger(bits) || bits < 1 || bits > this.bits) throw new Error(`cannot keep ${bits} of ${this.bits} bits`);
    const n = descriptors.length;
    if (n === 0) return [];
    const x = new Float32Array(n * this.inDim);
    descriptors.forEach((d, i) => {
      if (d.length !== this.inDim) throw new Error(`descriptor has ${d.length} dims, head expects ${this.inDim}`);
      x.set(d, i * this.inDim);
    });
    const v = await this.projection(runtime, bits).apply(x, n);
    return descriptors.map((_, i) => packSigns(v.subarray(i * bits, (i + 1) * bits)));
  }

  /**
   * The first `bits` hyperplanes as an affine map on the runtime, x W^T + (bias - W mean), so
   * x - mean is never formed; made once per runtime and code length.
   */
  private projection(runtime: InferenceRuntime, bits: number): AffineMap {
    let byBits = this.projections.get(runtime);
    if (!byBits) this.projections.set(runtime, (byBits = new Map()));
    let map = byBits.get(bits);
    if (!map) {
      const offset = new Float32Array(bits);
      for (let b = 0; b < bits; b++) {
        let s = 0;
        for (let k = 0; k < this.inDim; k++) s += this.weight64[b * this.inDim + k] * this.mean64[k];
        offset[b] = this.bias[b] - s;
      }
      map = runtime.affine(this.weight.subarray(0, bits * this.inDim), offset);
      byBits.set(bits, map);
    }
    return map;
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
