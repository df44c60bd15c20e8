import type { Tf } from '@loupe/shared';
import type { FeatureMatrix } from '../data/feature-matrix.ts';
import { CsqTrainer, type CsqOptions } from './csq-trainer.ts';
import { ItqTrainer } from './itq-trainer.ts';
import { LshTrainer } from './lsh-trainer.ts';
import type { TrainedHead, TrainMethod } from './trained-head.ts';

export const TRAIN_METHODS: readonly TrainMethod[] = ['itq', 'lsh', 'csq', 'pairs'];
/** Bit lengths `loupe train` offers (codes are whole bytes; 16..256 is what the index is tuned for). */
export const TRAIN_BITS = [16, 32, 64, 128, 256] as const;

/** Methods that fit a descriptor matrix ('pairs' trains on copies: CopyPairSetService + PairTrainer). */
export type DescriptorTrainMethod = Exclude<TrainMethod, 'pairs'>;

export interface TrainHeadOptions extends Omit<CsqOptions, 'onEpoch'> {
  method: DescriptorTrainMethod;
  /** Class per row; required by 'csq'. */
  labels?: ArrayLike<number>;
  /** ITQ iterations. */
  iterations?: number;
  /** ITQ whitening power (ItqOptions.whiten). */
  whiten?: number;
  onProgress?: (step: number, loss: number) => void;
}

/** One entry point over the trainers, as the CLI and the benchmarks use them. */
export function trainHead(tf: Tf, x: FeatureMatrix, o: TrainHeadOptions): TrainedHead {
  switch (o.method) {
    case 'lsh':
      return new LshTrainer(tf, { bits: o.bits, seed: o.seed }).train(x);
    case 'itq':
      return new ItqTrainer(tf, { bits: o.bits, seed: o.seed, iterations: o.iterations, whiten: o.whiten, onIteration: o.onProgress }).train(x);
    case 'csq': {
      if (!o.labels) throw new Error('csq is supervised: give labels (--labels prefix or --labels <manifest>)');
      const { method: _m, labels, iterations: _i, whiten: _w, onProgress, ...csq } = o;
      return new CsqTrainer(tf, { ...csq, onEpoch: onProgress }).train(x, labels);
    }
  }
}
