import type { FusedHit, ImageLimits, QueryEvidence, QueryPlan, QueryViewCode, RuntimeSettings } from '@loupe/shared';

/** What a query encoding worker is started with (workerData). */
export interface EncodingWorkerData {
  runtime: RuntimeSettings;
  limits: ImageLimits;
  logLevel: string;
}

/** A query image as the encoder takes it: its canonical JPEG (prepareImage) and its size. */
export interface CanonicalQuery {
  canonical: Uint8Array;
  width: number;
  height: number;
}

/** A task for a worker; `modelRef` is a LOUPE_MODEL-style reference the worker loads once. */
export type EncodingTask =
  /** Loads the model ahead of the first query (a generation being opened). */
  | { type: 'load'; modelRef: string }
  /**
   * Codes the model's query views of a query image — uploaded bytes, decoded here, or already
   * canonical — all of them, or those at `views` (indices in the query plan; one part of a query
   * split over threads), with the query's pixels when `pixels` is not false.
   */
  | { type: 'encode'; modelRef: string; image: Uint8Array | CanonicalQuery; views?: number[]; pixels?: boolean }
  /**
   * The candidate check (CandidateVerifier.rerank) of the model's plan, or one half of it: `pixels`
   * lowers the ranks of the hits given by their thumbnails, `cells` re-ranks them by their cells.
   */
  | { type: 'rerank'; modelRef: string; hits: FusedHit[]; evidence: QueryEvidence; cells: (Uint8Array | undefined)[]; thumbs?: (Uint8Array | undefined)[]; only?: 'pixels' | 'cells' };

/** What the main thread knows of a model the encoding threads loaded. */
export interface LoadedModel {
  id: string;
  runtime: string;
  queryPlan: QueryPlan;
}

export type TaskResult<T extends EncodingTask> = T extends { type: 'load' }
  ? LoadedModel
  : T extends { type: 'encode' }
    ? QueryViewCode[]
    : FusedHit[];

export type ToEncodingWorker = { id: number; task: EncodingTask };

/** An error crossing the thread boundary: its name, message and (ImageRejectedError) reason. */
export interface WireError {
  name: string;
  message: string;
  reason?: string;
}

export type FromEncodingWorker = { id: number; result: unknown } | { id: number; error: WireError };
