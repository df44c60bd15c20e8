import type { Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import { LinearSignHead, MlpSignHead, SeededRandom, type HashHead, type Tf } from '@loupe/shared';
import { columnMean, columnStd, type FeatureMatrix } from '../data/feature-matrix.ts';
import { hashCenters, type HashCenters } from './hash-centers.ts';
import { denseMatMul } from './tf-matmul.ts';
import type { TrainedHead } from './trained-head.ts';
import { definedOptions } from '../util/defined-options.ts';

export interface CsqOptions {
  bits: number;
  /** Hidden layer widths (ReLU); [] trains a linear head. */
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Weight of the quantisation loss mean((|u| - 1)^2); CSQ uses 1e-4. */
  lambda?: number;
  /** Dropout rate on hidden activations while training. */
  dropout?: number;
  /**
   * Input split into this many equal parts (e.g. the cells of a grid descriptor), each with its own
   * slice of the first hidden layer (block-diagonal weights): the cost of one part's dense layer,
   * and each unit sees one part.
   */
  inputBlocks?: number;
  /** L2 penalty on the weights. */
  weightDecay?: number;
  seed?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

interface Layer {
  /** One weight matrix [in, units], or one per input block [in / blocks, units / blocks]. */
  w: Variable[];
  b: Variable;
}

/**
 * Supervised hashing with hash centres (CSQ, Yuan et al. 2020) on frozen descriptors: each class
 * gets a target code (hashCenters) and a dense head is trained so that u = tanh(f(x)) matches the
 * centre of x's class (binary cross-entropy per bit) while staying near +-1 (quantisation loss).
 * Inputs are standardised per dimension; the scaling is folded into the first layer on export, so
 * the artifact's head takes raw descriptors.
 */
export class CsqTrainer {
  constructor(
    private readonly tf: Tf,
    private readonly opts: CsqOptions,
  ) {}

  train(x: FeatureMatrix, labels: ArrayLike<number>): TrainedHead {
    const { tf } = this;
    // Defaults chosen on Fashion-MNIST descriptors (see docs/benchmarks.md): wider layers, lower rates
    // or a second hidden layer did not help; dropout 0.5 did, a little.
    const o = { hidden: [512], epochs: 30, batchSize: 256, learningRate: 1e-3, lambda: 1e-4, dropout: 0.5, weightDecay: 1e-5, inputBlocks: 1, seed: 1, ...definedOptions(this.opts), bits: this.opts.bits };
    if (labels.length !== x.rows) throw new Error(`${labels.length} labels for ${x.rows} descriptors`);
    let classes = 0;
    for (let i = 0; i < labels.length; i++) classes = Math.max(classes, labels[i] + 1);
    if (classes < 2) throw new Error('supervised training needs at least two classes');
    const centers = hashCenters(classes, o.bits, o.seed);
    const mean = columnMean(x);
    const std = columnStd(x, mean);
    const floor = 1e-3 * (std.reduce((a, b) => a + b, 0) / std.length || 1);
    const inv = Float32Array.from(std, (s) => 1 / Math.max(s, floor));
    const xs = new Float32Array(x.data.length);
    for (let r = 0; r < x.rows; r++) for (let k = 0; k < x.dim; k++) xs[r * x.dim + k] = (x.data[r * x.dim + k] - mean[k]) * inv[k];

    const rnd = new SeededRandom(o.seed);
    const widths = [x.dim, ...o.hidden, o.bits];
    const blocks = o.inputBlocks;
    if (blocks > 1 && (o.hidden.length === 0 || x.dim % blocks !== 0 || o.hidden[0] < blocks)) {
      throw new Error(`inputBlocks ${blocks} needs a hidden layer at least as wide, and must divide the input (${x.dim})`);
    }
    const layers: Layer[] = widths.slice(1).map((units, i) => {
      const parts = i === 0 ? blocks : 1;
      const inDim = widths[i] / parts;
      return {
        w: blockSplit(units, parts).map(([u0, u1]) => tf.variable(tf.tensor2d(glorot(rnd, inDim, u1 - u0), [inDim, u1 - u0]))),
        b: tf.variable(tf.zeros([units])),
      };
    });
    const targets = tf.tensor2d(Float32Array.from(centers.values, (v) => (v + 1) / 2), [classes, o.bits]);
    const optimizer = tf.train.adam(o.learningRate);
    const history: number[] = [];
    const order = Int32Array.from({ length: x.rows }, (_, i) => i);
    const steps = Math.ceil(x.rows / o.batchSize);
    let step = 0;
    try {
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        rnd.shuffle(order);
        let sum = 0;
        for (let s = 0; s < steps; s++) {
          // Cosine decay to 1% of the initial rate; AdamOptimizer reads learningRate every step.
          (optimizer as unknown as { learningRate: number }).learningRate =
            o.learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos((Math.PI * step) / (o.epochs * steps))));
          const idx = order.subarray(s * o.batchSize, Math.min(x.rows, (s + 1) * o.batchSize));
          const batch = new Float32Array(idx.length * x.dim);
          const y = new Int32Array(idx.length);
          idx.forEach((r, i) => {
            batch.set(xs.subarray(r * x.dim, (r + 1) * x.dim), i * x.dim);
            y[i] = labels[r];
          });
          const seed = o.seed * 100003 + step++;
          const loss = tf.tidy(() => {
            const xb = tf.tensor2d(batch, [idx.length, x.dim]);
            const tb = tf.gather(targets, tf.tensor1d(y, 'int32'));
            return optimizer.minimize(() => this.loss(layers, xb, tb, o, seed), true)!;
          });
          sum += loss.dataSync()[0] * idx.length;
          loss.dispose();
        }
        history.push(sum / x.rows);
        o.onEpoch?.(epoch, sum / x.rows);
      }
      const head = exportHead(x.dim, mean, inv, layers, widths);
      return {
        method: 'csq',
        head,
        history,
        meta: {
          method: 'csq',
          centers: centers.kind,
          centerMinDistance: centers.minDistance,
          classes,
          hidden: o.hidden,
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          lambda: o.lambda,
          dropout: o.dropout,
          weightDecay: o.weightDecay,
          inputBlocks: blocks,
          seed: o.seed,
          trainRows: x.rows,
          finalLoss: history[history.length - 1],
        },
      };
    } finally {
      for (const l of layers) {
        l.w.forEach((w) => w.dispose());
        l.b.dispose();
      }
      targets.dispose();
      optimizer.dispose();
    }
  }

  /** The class centres the trainer would use (for evaluation and reports). */
  centers(classes: number): HashCenters {
    return hashCenters(classes, this.opts.bits, this.opts.seed ?? 1);
  }

  private loss(layers: Layer[], xb: Tensor2D, target01: Tensor, o: Required<Omit<CsqOptions, 'onEpoch'>>, seed: number) {
    const { tf } = this;
    let h: Tensor2D = xb;
    layers.forEach((l, i) => {
      const parts = (l.w.length === 1 ? [h] : tf.split(h, l.w.length, 1)) as Tensor2D[];
      const z = parts.map((p, j) => denseMatMul(tf, p, l.w[j] as Tensor2D));
      h = tf.add(z.length === 1 ? z[0] : tf.concat(z, 1), l.b) as Tensor2D;
      if (i < layers.length - 1) {
        h = tf.relu(h);
        if (o.dropout > 0) h = tf.dropout(h, o.dropout, undefined, seed + i) as Tensor2D;
      }
    });
    // (tanh(z) + 1) / 2 = sigmoid(2z): BCE on logits 2z is the CSQ centre loss, numerically stable.
    const center = tf.losses.sigmoidCrossEntropy(target01, tf.mul(h, 2));
    const quant = tf.mean(tf.square(tf.sub(tf.abs(tf.tanh(h)), 1)));
    let total = tf.add(center, tf.mul(quant, o.lambda));
    if (o.weightDecay > 0) for (const w of layers.flatMap((l) => l.w)) total = tf.add(total, tf.mul(tf.sum(tf.square(w)), o.weightDecay));
    return total as Scalar;
  }
}

/** [from, to) unit ranges of `parts` near-equal blocks of `units`. */
function blockSplit(units: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, j) => [Math.floor((j * units) / parts), Math.floor(((j + 1) * units) / parts)]);
}

/** Glorot-uniform weights [inDim, units] from the trainer's seeded generator. */
function glorot(rnd: SeededRandom, inDim: number, units: number): Float32Array {
  const limit = Math.sqrt(6 / (inDim + units));
  return Float32Array.from({ length: inDim * units }, () => (rnd.next() * 2 - 1) * limit);
}

/**
 * TF layout [in, units] -> head layout [units, in]; block weights become one block-diagonal matrix;
 * the first layer absorbs the standardisation.
 */
function exportHead(dim: number, mean: Float32Array, inv: Float32Array, layers: Layer[], widths: number[]): HashHead {
  const dense = layers.map((l, i) => {
    const [inDim, units] = [widths[i], widths[i + 1]];
    const bin = inDim / l.w.length;
    const splits = blockSplit(units, l.w.length);
    const weight = new Float32Array(units * inDim);
    l.w.forEach((wv, j) => {
      const w = wv.dataSync() as Float32Array;
      const [u0, u1] = splits[j];
      const bout = u1 - u0;
      for (let u = 0; u < bout; u++) {
        for (let k = 0; k < bin; k++) {
          const gk = j * bin + k;
          weight[(u0 + u) * inDim + gk] = w[k * bout + u] * (i === 0 ? inv[gk] : 1);
        }
      }
    });
    return { units, inDim, weight, bias: Float32Array.from(l.b.dataSync()) };
  });
  if (dense.length === 1) return new LinearSignHead(dim, mean, dense[0].weight, dense[0].bias);
  return new MlpSignHead(
    dim,
    mean,
    dense.map((d, i) => ({ ...d, activation: i < dense.length - 1 ? ('relu' as const) : ('linear' as const) })),
  );
}
