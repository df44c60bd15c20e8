import type { Tf } from '@loupe/shared';
import { encodeRows, trainHead, type FeatureMatrix, type DescriptorTrainMethod } from '@loupe/train';
import { hammingRankingMetrics, type RetrievalMetrics } from './retrieval-metrics.ts';

export interface SemanticBenchmarkOptions {
  bits: number[];
  methods: DescriptorTrainMethod[];
  seed?: number;
  /** CSQ head: hidden widths ([] = linear) and epochs. */
  hidden?: number[];
  epochs?: number;
  dropout?: number;
  /** CSQ: first-layer blocks (the grid parts of layout-keeping descriptors). */
  inputBlocks?: number;
  onResult?: (r: SemanticResult) => void;
  onProgress?: (line: string) => void;
}

export interface SemanticResult extends RetrievalMetrics {
  method: DescriptorTrainMethod;
  bits: number;
  trainS: number;
  /** Last training loss (ITQ quantisation loss, CSQ epoch loss). */
  loss?: number;
}

/**
 * Semantic retrieval with hash heads on frozen descriptors: each head is trained on the database
 * descriptors (with their labels for CSQ), both sides are hashed, and the database is ranked by
 * Hamming distance for every query (relevant = same class).
 */
export function runSemanticBenchmark(
  tf: Tf,
  db: { x: FeatureMatrix; labels: Uint8Array | Int32Array },
  queries: { x: FeatureMatrix; labels: Uint8Array | Int32Array },
  o: SemanticBenchmarkOptions,
): SemanticResult[] {
  const results: SemanticResult[] = [];
  for (const bits of o.bits) {
    for (const method of o.methods) {
      const t0 = performance.now();
      const trained = trainHead(tf, db.x, {
        method,
        bits,
        labels: method === 'csq' ? db.labels : undefined,
        seed: o.seed ?? 1,
        hidden: o.hidden,
        epochs: o.epochs,
        dropout: o.dropout,
        inputBlocks: o.inputBlocks,
        onProgress: (step, loss) => o.onProgress?.(`${method} ${bits}b step ${step} loss ${loss.toFixed(4)}`),
      });
      const trainS = (performance.now() - t0) / 1000;
      const dbCodes = encodeRows(tf, trained.head, db.x);
      const qCodes = encodeRows(tf, trained.head, queries.x);
      const metrics = hammingRankingMetrics(dbCodes, db.labels, qCodes, queries.labels, 2);
      const r: SemanticResult = { method, bits, trainS, loss: trained.history.at(-1), ...metrics };
      results.push(r);
      o.onResult?.(r);
    }
  }
  return results;
}

