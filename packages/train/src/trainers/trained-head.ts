import type { HashHead } from '@loupe/shared';

export type TrainMethod = 'lsh' | 'itq' | 'csq' | 'pairs';

/** What a trainer returns: the head, its loss curve and provenance for the artifact's meta. */
export interface TrainedHead {
  method: TrainMethod;
  head: HashHead;
  /** Objective per iteration (ITQ) or per epoch (CSQ, pairs); empty for LSH. */
  history: number[];
  meta: Record<string, unknown>;
}
