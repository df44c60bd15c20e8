import { LinearSignHead, seededGaussian, type Tf } from '@loupe/shared';
import { columnMean, type FeatureMatrix } from '../data/feature-matrix.ts';
import { columnMedians, projectRows } from './tf-projection.ts';
import type { TrainedHead } from './trained-head.ts';

export interface LshOptions {
  bits: number;
  seed?: number;
  /** Threshold each hyperplane at the median projection (balanced bits) instead of 0. */
  balance?: boolean;
}

/**
 * Random-hyperplane LSH (SimHash) on mean-centred descriptors: the data-independent baseline.
 * Only the mean (and with `balance` the per-bit medians) come from the data.
 */
export class LshTrainer {
  constructor(
    private readonly tf: Tf,
    private readonly opts: LshOptions,
  ) {}

  train(x: FeatureMatrix): TrainedHead {
    const { bits, seed = 1, balance = true } = this.opts;
    const mean = columnMean(x);
    const weight = seededGaussian(seed, bits * x.dim);
    const bias = new Float32Array(bits);
    if (balance) {
      const medians = columnMedians(projectRows(this.tf, x, mean, weight, bits), x.rows, bits);
      for (let b = 0; b < bits; b++) bias[b] = -medians[b];
    }
    return {
      method: 'lsh',
      head: new LinearSignHead(x.dim, mean, weight, bias),
      history: [],
      meta: { method: 'lsh', seed, balance, trainRows: x.rows },
    };
  }
}
