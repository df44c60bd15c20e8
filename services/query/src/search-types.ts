import type { Box } from '@loupe/shared';

export type Granularity = 'global' | 'region';
export type GranularityMode = 'auto' | Granularity;

export interface SearchHit {
  /** The object's key; for a video, the video's key (the matched keyframe is at `t`). */
  key: string;
  /** For a video: the time in seconds of its best-matching keyframe. */
  t?: number;
  /** 1 - rank / bits in [0, 1], falling down the list (rank: distance + the match kind's offset, less a checked candidate's thumbnail correlation and cell agreement). */
  score: number;
  /** The match decision: score >= minScore (the request's, else the model's calibrated threshold). */
  match: boolean;
  /** Hamming distance of the matched view's code. */
  distance: number;
  granularity: Granularity;
  /** Box of the matched view in the indexed image's pixels (the whole image for global). */
  region: Box;
  /** Where in the query the match was found, in the query's pixels: a copy pasted into a larger picture. Absent when the whole query matched. */
  queryRegion?: Box;
}

export interface ShardSummary {
  total: number;
  ok: number;
  failed?: number[];
}

export interface SearchResponse {
  hits: SearchHit[];
  tookMs: number;
  shards: ShardSummary;
  partial?: boolean;
  /** Answered from the in-memory mirrors while Redis was unreachable (or just back): recent changes may be missing. */
  stale?: boolean;
  /** Milliseconds per phase (encode, search, check), sent as a Server-Timing header, not in the body. */
  timings?: Record<string, number>;
  /** Candidates left without a pixel check because the query's time for source reads ran out (Server-Timing, not the body). */
  checkSkipped?: number;
}

export interface SearchParams {
  k: number;
  granularity: GranularityMode;
  maxDistance?: number;
  /** Moves the match threshold (SearchHit.match) for this request. */
  minScore?: number;
}
