import type { Tf } from '@loupe/shared';
import { encodeRows, trainHead, type FeatureMatrix, type TrainMethod } from '@loupe/train';
import { hammingRankingMetrics, type RetrievalMetrics } from './retrieval-metrics.ts';

export interface SemanticBenchmarkOptions {
  bits: number[];
  methods: TrainMethod[];
  seed?: number;
  /** CSQ head: hidden widths ([] = linear) and epochs. */
  hidden?: number[];
  epochs?: number;
  dropout?: number;
  /** CSQ: first-layer blocks (the grid parts of layout-keeping descriptors). */
  inputBlocks?: number;
  /** More labelled rows for the supervised head only (e.g. mirrored database images). */
  extraTraining?: { x: FeatureMatrix; labels: Uint8Array | Int32Array };
  onResult?: (r: SemanticResult) => void;
  onProgress?: (line: string) => void;
}

export interface SemanticResult extends RetrievalMetrics {
  method: TrainMethod;
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
      const train = method === 'csq' && o.extraTraining ? stack(db, o.extraTraining) : db;
      const trained = trainHead(tf, train.x, {
        method,
        bits,
        labels: method === 'csq' ? train.labels : undefined,
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

/** Two labelled row sets one after the other. */
function stack(a: { x: FeatureMatrix; labels: ArrayLike<number> }, b: { x: FeatureMatrix; labels: ArrayLike<number> }) {
  const data = new Float32Array(a.x.data.length + b.x.data.length);
  data.set(a.x.data);
  data.set(b.x.data, a.x.data.length);
  return { x: { rows: a.x.rows + b.x.rows, dim: a.x.dim, data }, labels: Int32Array.from([...Array.from(a.labels), ...Array.from(b.labels)]) };
}
