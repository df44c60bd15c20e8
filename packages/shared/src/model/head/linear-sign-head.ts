import { packBits } from '../../code/bit-code.ts';
import type { HashHead, HeadSpec, NamedTensor } from './hash-head.ts';

/** bits = sign(W (x - mean) + bias). See HeadSpecSchema. */
export class LinearSignHead implements HashHead {
  readonly type = 'linear-sign' as const;
  readonly bits: number;

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
  }

  static fromTensors(spec: Extract<HeadSpec, { type: 'linear-sign' }>, t: Map<string, Float32Array>): LinearSignHead {
    return new LinearSignHead(spec.inDim, need(t, 'mean'), need(t, 'weight'), need(t, 'bias'));
  }

  hash(x: Float32Array): Uint8Array {
    if (x.length !== this.inDim) throw new Error(`descriptor has ${x.length} dims, head expects ${this.inDim}`);
    const centred = new Float64Array(this.inDim);
    for (let k = 0; k < this.inDim; k++) centred[k] = x[k] - this.mean[k];
    const signs = new Uint8Array(this.bits);
    for (let b = 0; b < this.bits; b++) {
      let s = this.bias[b];
      const row = b * this.inDim;
      for (let k = 0; k < this.inDim; k++) s += this.weight[row + k] * centred[k];
      signs[b] = s > 0 ? 1 : 0;
    }
    return packBits(signs);
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
