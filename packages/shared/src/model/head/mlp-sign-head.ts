import { packSigns } from '../../code/bit-code.ts';
import type { HashHead, HeadSpec, NamedTensor } from './hash-head.ts';
import { need } from './linear-sign-head.ts';

type MlpSpec = Extract<HeadSpec, { type: 'mlp-sign' }>;
type Activation = MlpSpec['layers'][number]['activation'];

interface Dense {
  units: number;
  inDim: number;
  activation: Activation;
  /** [units, inDim] */
  weight: Float32Array;
  /** [units] */
  bias: Float32Array;
}

/** x - mean through dense layers; the signs of the last layer are the code. See HeadSpecSchema. */
export class MlpSignHead implements HashHead {
  readonly type = 'mlp-sign' as const;
  readonly bits: number;

  constructor(
    readonly inDim: number,
    private readonly mean: Float32Array,
    private readonly layers: Dense[],
  ) {
    this.bits = layers[layers.length - 1].units;
    let d = inDim;
    for (const l of layers) {
      if (l.inDim !== d || l.weight.length !== l.units * d || l.bias.length !== l.units) throw new Error('mlp-sign head: layer shapes do not chain');
      d = l.units;
    }
    if (mean.length !== inDim) throw new Error('mlp-sign head: mean length differs from inDim');
  }

  static fromTensors(spec: MlpSpec, t: Map<string, Float32Array>): MlpSignHead {
    let inDim = spec.inDim;
    const layers = spec.layers.map((l, i) => {
      const dense: Dense = { units: l.units, inDim, activation: l.activation, weight: need(t, `weight${i}`), bias: need(t, `bias${i}`) };
      inDim = l.units;
      return dense;
    });
    if (inDim !== spec.bits) throw new Error(`mlp-sign head: last layer has ${inDim} units, bits is ${spec.bits}`);
    return new MlpSignHead(spec.inDim, need(t, 'mean'), layers);
  }

  hash(x: Float32Array): Uint8Array {
    if (x.length !== this.inDim) throw new Error(`descriptor has ${x.length} dims, head expects ${this.inDim}`);
    let h = new Float64Array(this.inDim);
    for (let k = 0; k < this.inDim; k++) h[k] = x[k] - this.mean[k];
    for (const l of this.layers) {
      const next = new Float64Array(l.units);
      for (let u = 0; u < l.units; u++) {
        let s = l.bias[u];
        const row = u * l.inDim;
        for (let k = 0; k < l.inDim; k++) s += l.weight[row + k] * h[k];
        next[u] = l.activation === 'relu' ? Math.max(0, s) : l.activation === 'tanh' ? Math.tanh(s) : s;
      }
      h = next;
    }
    return packSigns(h);
  }

  toSpec(): { spec: HeadSpec; tensors: NamedTensor[] } {
    return {
      spec: { type: this.type, inDim: this.inDim, bits: this.bits, layers: this.layers.map((l) => ({ units: l.units, activation: l.activation })) },
      tensors: [
        { name: 'mean', shape: [this.inDim], data: this.mean },
        ...this.layers.flatMap((l, i) => [
          { name: `weight${i}`, shape: [l.units, l.inDim], data: l.weight },
          { name: `bias${i}`, shape: [l.units], data: l.bias },
        ]),
      ],
    };
  }
}
