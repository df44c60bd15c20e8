import type { Tensor2D } from '@tensorflow/tfjs';
import { LinearSignHead, seededGaussian, SeededRandom, type Tf } from '@loupe/shared';
import type { CopyPairSet } from '../data/copy-pair-set.service.ts';
import { columnMean, columnStd, selectRows, type FeatureMatrix } from '../data/feature-matrix.ts';
import { columnMedians, projectRows } from './tf-projection.ts';
import { denseMatMul } from './tf-matmul.ts';
import type { TrainedHead } from './trained-head.ts';
import { definedOptions } from '../util/defined-options.ts';

export type PairTrainingSet = Pick<CopyPairSet, 'database' | 'databaseImage' | 'queries' | 'queryImage' | 'positives'>;

export interface PairOptions {
  bits: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Softmax temperature on code similarity (1 - 2 d / bits). */
  temperature?: number;
  /** Weight of the quantisation loss mean((|u| - 1)^2). */
  lambda?: number;
  /** Share of the images whose copies are held out to measure recall (0: none). */
  validation?: number;
  /**
   * Return the weights of the epoch with the best held-out recall (early stopping; needs validation > 0).
   * Held-out copies are searched among every sampled image's views, most of them trained on: the
   * case of images added to a bucket after its head was trained. Off by default: a head trained on
   * other images than the ones it indexes (the shipped default) gains on crops although this recall falls.
   */
  keepBest?: boolean;
  seed?: number;
  onEpoch?: (epoch: number, loss: number, valRecall: number) => void;
}

/** Logit added where a database row must not count (another view of the query's own image). */
const MASKED = -1e4;

/**
 * A linear hash head trained on augmented pairs so that copies land close (contrastive, InfoNCE):
 * for each query row (an augmented copy seen through one query view) the relaxed codes
 * u = tanh(W (x - mean)) are compared with every database view's, and the softmax over
 * similarities / temperature is pushed onto the views the copy should find — its crop's region, or
 * the global view of a whole copy — against every other image's views. Other views of the copy's
 * own image are left out of the softmax: finding them is not wrong, only less precise.
 * Starts from the random projection (SimHash) that builtin models use, so it learns what to change.
 */
export class PairTrainer {
  constructor(
    private readonly tf: Tf,
    private readonly opts: PairOptions,
  ) {}

  train(set: PairTrainingSet): TrainedHead {
    const { tf } = this;
    const o = { epochs: 30, batchSize: 128, learningRate: 3e-4, temperature: 0.05, lambda: 0.1, validation: 0.1, keepBest: false, seed: 1, ...definedOptions(this.opts), bits: this.opts.bits };
    const { database, queries } = set;
    if (queries.rows !== set.positives.length || queries.rows !== set.queryImage.length) throw new Error('pair set: one image and positive list per query row');
    if (database.rows !== set.databaseImage.length) throw new Error('pair set: one image per database row');
    const dim = database.dim;
    const mean = columnMean(database);
    // One scale for all dims (not per-dim standardisation): it keeps the descriptor's geometry,
    // which is what the starting random projection preserves.
    const variance = columnStd(database, mean).reduce((a, sd) => a + sd * sd, 0) / dim;
    const scale = 1 / Math.sqrt(variance || 1);
    const rnd = new SeededRandom(o.seed);
    const images = set.databaseImage.reduce((n, i) => Math.max(n, i + 1), 0);
    const heldOut = new Set(Array.from({ length: images }, (_, i) => i).filter(() => rnd.next() < o.validation));
    const trainRows = range(queries.rows).filter((r) => !heldOut.has(set.queryImage[r]));
    const valRows = range(queries.rows).filter((r) => heldOut.has(set.queryImage[r]));
    if (trainRows.length === 0) throw new Error('pair set: no query rows left to train on');

    const centred = (x: FeatureMatrix) => tf.tidy(() => tf.mul(tf.sub(tf.tensor2d(x.data, [x.rows, dim]), tf.tensor1d(mean)), scale) as Tensor2D);
    const xd = centred(database);
    const g = seededGaussian(o.seed, o.bits * dim);
    const w = tf.variable(tf.tidy(() => tf.div(tf.transpose(tf.tensor2d(g, [o.bits, dim])), Math.sqrt(dim))) as Tensor2D);
    const optimizer = tf.train.adam(o.learningRate);
    const history: number[] = [];
    // Held-out rows are centred once; their recall is measured after every epoch.
    const xv = valRows.length ? centred(selectRows(queries, valRows)) : undefined;
    const valImages = valRows.map((r) => set.queryImage[r]);
    const recall = () => (xv ? this.recallAt1(xv, valImages, xd, w, set.databaseImage) : NaN);
    const valRecallStart = recall();
    const keep = o.keepBest && xv !== undefined;
    let best = keep ? { recall: valRecallStart, epoch: 0, w: tf.clone(w) } : undefined;
    let valRecallLast = valRecallStart;
    try {
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        const order = [...trainRows];
        rnd.shuffle(order);
        let sum = 0;
        let batches = 0;
        for (let b = 0; b < order.length; b += o.batchSize) {
          const rows = order.slice(b, b + o.batchSize);
          const xq = centred(selectRows(queries, rows));
          const { positive, allowed } = this.masks(rows, set);
          const loss = optimizer.minimize(
            () =>
              tf.tidy(() => {
                const uq = tf.tanh(denseMatMul(tf, xq, w));
                const ud = tf.tanh(denseMatMul(tf, xd, w));
                const logits = tf.div(denseMatMul(tf, uq, tf.transpose(ud) as Tensor2D), o.bits * o.temperature);
                const all = tf.logSumExp(tf.add(logits, allowed), 1);
                const pos = tf.logSumExp(tf.add(logits, positive), 1);
                const quant = tf.add(tf.mean(tf.square(tf.sub(tf.abs(uq), 1))), tf.mean(tf.square(tf.sub(tf.abs(ud), 1))));
                return tf.add(tf.mean(tf.sub(all, pos)), tf.mul(quant, o.lambda / 2));
              }),
            true,
            [w],
          );
          sum += loss!.dataSync()[0];
          batches++;
          loss!.dispose();
          xq.dispose();
          positive.dispose();
          allowed.dispose();
        }
        history.push(sum / batches);
        valRecallLast = recall();
        if (best && valRecallLast > best.recall) {
          best.w.dispose();
          best = { recall: valRecallLast, epoch: epoch + 1, w: tf.clone(w) };
        }
        o.onEpoch?.(epoch, sum / batches, valRecallLast);
      }
      if (best) w.assign(best.w);
      const weight = tf.tidy(() => tf.mul(tf.transpose(w), scale)).dataSync() as Float32Array;
      const medians = columnMedians(projectRows(tf, database, mean, weight, o.bits), database.rows, o.bits);
      const bias = Float32Array.from(medians, (m) => -m);
      return {
        method: 'pairs',
        head: new LinearSignHead(dim, mean, Float32Array.from(weight), bias),
        history,
        meta: {
          method: 'pairs',
          ...o,
          onEpoch: undefined,
          trainQueries: trainRows.length,
          validationQueries: valRows.length,
          databaseViews: database.rows,
          valRecallStart: round(valRecallStart),
          valRecallLast: round(valRecallLast),
          // Epochs trained into the returned weights (0: the starting projection).
          keptEpoch: best ? best.epoch : o.epochs,
          valRecallEnd: round(best ? best.recall : valRecallLast),
        },
      };
    } finally {
      xd.dispose();
      xv?.dispose();
      w.dispose();
      best?.w.dispose();
      optimizer.dispose();
    }
  }

  /** Per batch row: 0 on its positives (else MASKED), and 0 wherever the softmax may look (else MASKED). */
  private masks(rows: number[], set: PairTrainingSet) {
    const m = set.database.rows;
    const positive = new Float32Array(rows.length * m).fill(MASKED);
    const allowed = new Float32Array(rows.length * m);
    rows.forEach((r, i) => {
      const image = set.queryImage[r];
      for (let j = 0; j < m; j++) if (set.databaseImage[j] === image) allowed[i * m + j] = MASKED;
      for (const j of set.positives[r]) {
        positive[i * m + j] = 0;
        allowed[i * m + j] = 0;
      }
    });
    return { positive: this.tf.tensor2d(positive, [rows.length, m]), allowed: this.tf.tensor2d(allowed, [rows.length, m]) };
  }

  /** Share of queries (`xq`: centred rows) whose nearest database code (Hamming) is of their own image. */
  private recallAt1(xq: Tensor2D, truth: number[], xd: Tensor2D, w: Tensor2D, dbImage: Int32Array): number {
    const { tf } = this;
    const best = tf.tidy(() => {
      const bq = tf.sign(tf.matMul(xq, w)) as Tensor2D;
      const bd = tf.sign(tf.matMul(xd, w)) as Tensor2D;
      return tf.argMax(tf.matMul(bq, tf.transpose(bd)), 1);
    });
    const idx = best.dataSync();
    best.dispose();
    let hits = 0;
    truth.forEach((t, i) => (hits += dbImage[idx[i]] === t ? 1 : 0));
    return hits / truth.length;
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const round = (v: number) => Math.round(v * 1e4) / 1e4;
