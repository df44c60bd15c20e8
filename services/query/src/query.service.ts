import {
  CandidateVerifier,
  codeBytes,
  DEFAULT_MATCH_SCORE,
  isRedisConnectionError,
  RedisUnavailableError,
  hammingScore,
  hexToBytes,
  isWholeImageLevel,
  levelBoxesUnit,
  parseFrameKey,
  toPixels,
  ViewFusion,
  type FusedHit,
  type FusionProbe,
  type IndexLayout,
  type QueryView,
  type CellVerification,
  type MatchDecision,
  type QueryViewCode,
  type QueryEvidence,
} from '@loupe/shared';
import type { IndexReaderRepository } from './repository/index-reader.repository.ts';
import { ObjectSearchService } from './object-search.service.ts';
import type { Granularity, SearchHit, SearchParams, SearchResponse } from './search-types.ts';
import type { FanoutResult, SearchQuery } from './searcher/searcher-types.ts';

/** Searches every shard for every query (the searcher pool implements it). */
export interface ShardFanout {
  search(queries: SearchQuery[], timeoutMs: number): Promise<FanoutResult>;
}

/**
 * Turns query bytes into the codes of the query's views (the model's query plan), and runs the
 * candidate check (CandidateVerifier.rerank) — both off the event loop (QueryEncoderPool).
 * `codeView` is the query view a stored global code stands for (searches by key or by hex code).
 */
export interface QueryEncoder {
  encode(bytes: Buffer): Promise<QueryViewCode[]>;
  rerank<H extends FusedHit>(hits: H[], evidence: QueryEvidence, cells: (Uint8Array | undefined)[], thumbs?: (Uint8Array | undefined)[]): Promise<H[]>;
  readonly codeView: QueryView;
  /** The model's cell verification (QueryPlan.verify), for an index with a cell level. */
  readonly verify?: CellVerification;
  /** The model's match decision (QueryPlan.match): hits scoring at least its minScore are matches. */
  readonly match?: MatchDecision;
}

/** Thumbnails of candidates, undefined where none is to be had; `skipped` of them were given up because the query's time for them ran out. */
export interface ThumbnailBatch {
  thumbs: (Uint8Array | undefined)[];
  skipped: number;
}

/** Candidates' thumbnails from outside the index, for an index without a pixel level (SourceThumbnailService). */
export interface CandidateThumbnails {
  thumbnailsOf(keys: string[], side: number): Promise<ThumbnailBatch>;
}

/** Whether Redis answers now (RedisHealth): searches by key need it, image and code searches do without. */
export interface RedisStatus {
  readonly up: boolean;
  require(what: string): void;
}

/** Error codes of a client's mistakes, by HTTP status (the `error` field of the body). */
export const INPUT_ERROR_CODES = { 400: 'BadRequest', 404: 'NotFound', 413: 'TooLarge', 415: 'UnsupportedMediaType' } as const;

/** A client's mistake: mapped to a 4xx by the HTTP layer, `name` is its error code. */
export class QueryInputError extends Error {
  constructor(readonly status: 400 | 404 | 413 | 415, message: string) {
    super(message);
    this.name = INPUT_ERROR_CODES[status];
  }
}

/**
 * Query logic: each of the query's view codes (the whole query at a few scales and orientations)
 * is matched against the index levels its view names — global codes for whole-image copies,
 * regional codes for a query that is a piece of an indexed image — and ViewFusion keeps the best
 * pair per object (distance + a per-kind offset; a global match first at equal rank). With a cell
 * level, an image query's top candidates are then checked against their thumbnails (the index's
 * pixel level, or made from the source's images) and cell by cell (CandidateVerifier).
 */
export class QueryService {
  private readonly fusion: ViewFusion;
  private readonly verifier: CandidateVerifier | undefined;
  /** Searches by an indexed object's own codes (the duplicate groups'). */
  readonly objects: ObjectSearchService;

  constructor(
    private readonly layout: IndexLayout,
    private readonly encoder: QueryEncoder,
    private readonly fanout: ShardFanout,
    private readonly reader: IndexReaderRepository,
    private readonly redis: RedisStatus,
    private readonly timeoutMs: number,
    private readonly thumbnails?: CandidateThumbnails,
  ) {
    this.fusion = ViewFusion.forPlan(layout.bits, layout.plan);
    this.verifier = CandidateVerifier.forPlan(layout.bits, layout.plan, encoder.verify);
    this.objects = new ObjectSearchService(layout, encoder.codeView, fanout, reader, timeoutMs, (h, minScore, size) => this.toHit(h, minScore, size));
  }

  async searchImage(bytes: Buffer, p: SearchParams): Promise<SearchResponse> {
    const started = performance.now();
    const codes = await this.encoder.encode(bytes);
    if (codes.length === 0) throw new Error('query encoder produced no view codes');
    const encode = performance.now() - started;
    const response = await this.searchCodes(codes, p);
    response.timings = { encode, ...response.timings };
    return response;
  }

  /** Needs Redis (the key -> id map): RedisUnavailableError while it is unreachable. */
  async searchKey(key: string, p: SearchParams): Promise<SearchResponse> {
    const code = await this.fromRedis('search by key', () => this.reader.globalCodeOf(key));
    if (!code) throw new QueryInputError(404, `key ${JSON.stringify(key)} is not indexed`);
    return this.searchCodes([{ view: this.encoder.codeView, code }], p);
  }

  /** Whether the key is indexed; needs Redis (the key map), like a search by key. */
  isIndexed(key: string): Promise<boolean> {
    return this.fromRedis('thumbnail', () => this.reader.has(key));
  }

  /** A read that needs Redis: RedisUnavailableError at once while it is unreachable, or when the read loses it. */
  private async fromRedis<T>(what: string, read: () => Promise<T>): Promise<T> {
    this.redis.require(what);
    try {
      return await read();
    } catch (e) {
      if (isRedisConnectionError(e)) throw new RedisUnavailableError(what);
      throw e;
    }
  }

  async searchHex(hex: string, p: SearchParams): Promise<SearchResponse> {
    let code: Uint8Array;
    try {
      code = hexToBytes(hex);
    } catch (e) {
      throw new QueryInputError(400, (e as Error).message);
    }
    if (code.length !== codeBytes(this.layout)) {
      throw new QueryInputError(400, `code has ${code.length * 8} bits, the index uses ${this.layout.bits}`);
    }
    return this.searchCodes([{ view: this.encoder.codeView, code }], p);
  }

  private async searchCodes(codes: QueryViewCode[], p: SearchParams): Promise<SearchResponse> {
    const started = performance.now();
    const probes = this.fusion.probes(codes, p.granularity);
    // Only whole-image answers wanted, or a query by code (no evidence): nothing to check.
    const evidence = p.granularity !== 'global' ? this.verifier?.evidence(codes) : undefined;
    const verifier = evidence && this.verifier;
    const k = Math.max(p.k, verifier ? verifier.settings.candidates : 0);
    const { fused: distinct, shards, stale } = await this.searchDistinct(probes, p, k);
    let fused = distinct;
    const timings: Record<string, number> = { search: performance.now() - started };
    let checkSkipped = 0;
    if (verifier && evidence && verifier.needsCheck(fused)) {
      const checked = await this.verify(verifier, fused, evidence);
      fused = checked.hits;
      checkSkipped = checked.skipped;
      timings.check = performance.now() - started - timings.search;
    }
    const minScore = p.minScore ?? this.encoder.match?.minScore ?? DEFAULT_MATCH_SCORE;
    const querySize = codes.find((c) => c.querySize)?.querySize;
    const hits = fused.slice(0, p.k).map((h) => this.toHit(h, minScore, querySize));
    const response: SearchResponse = {
      hits,
      tookMs: Math.round((performance.now() - started) * 10) / 10,
      shards: { total: shards.total, ok: shards.ok },
      timings,
    };
    if (checkSkipped) response.checkSkipped = checkSkipped;
    if (shards.ok < shards.total) {
      response.partial = true;
      response.shards.failed = shards.failed;
    }
    // Checked again after the search: an outage that began meanwhile makes the answer stale too.
    if (stale || !this.redis.up) response.stale = true;
    return response;
  }

  /**
   * The k best objects, a video counted once: its keyframes are objects of their own in the index
   * (`<key>#t=<seconds>`), and only a video's best-ranked frame is kept. When frames of a few videos
   * filled the fused top k, the shards are asked once more for FRAME_WIDEN x k.
   */
  private async searchDistinct(probes: FusionProbe[], p: SearchParams, k: number) {
    const first = await this.fanoutFused(probes, p, k);
    const fused = onePerVideo(first.all);
    // Fewer than k left after the collapse, and the shards may hold more: only then search wider.
    if (fused.length >= k || fused.length === first.all.length || first.all.length < k) return { ...first, fused };
    const wide = await this.fanoutFused(probes, p, k * FRAME_WIDEN);
    return { ...wide, fused: onePerVideo(wide.all).slice(0, k) };
  }

  private async fanoutFused(probes: FusionProbe[], p: SearchParams, k: number) {
    const queries = probes.map((probe) => ({ level: probe.level, code: probe.code, k, maxDistance: minDefined(p.maxDistance, probe.maxDistance) }));
    const { results, shards, stale } = await this.fanout.search(queries, this.timeoutMs);
    return { all: this.fusion.fuse(probes, results, k), shards, stale };
  }

  /**
   * The candidates re-ranked by their cells and, when the query brings pixels, their thumbnails;
   * `skipped`: candidates whose source image was given up for lack of time (left unchecked).
   * Without Redis the stored cells and thumbnails are not to be had: those candidates keep their rank.
   */
  private async verify<H extends FusedHit & { shard: number; id: number }>(verifier: CandidateVerifier, fused: H[], evidence: QueryEvidence): Promise<{ hits: H[]; skipped: number }> {
    const [cells, thumbs] = await Promise.all([this.storedCodes(fused, verifier.cellLevel), evidence.pixels && this.thumbnailsOf(verifier, fused)]);
    return { hits: await this.encoder.rerank(fused, evidence, cells, thumbs?.thumbs), skipped: thumbs?.skipped ?? 0 };
  }

  /** The index's thumbnails (pixel level), else ones made from the source's images, else none. */
  private async thumbnailsOf(verifier: CandidateVerifier, fused: (FusedHit & { shard: number; id: number })[]): Promise<ThumbnailBatch | undefined> {
    if (!verifier.pixels) return undefined;
    if (verifier.pixelLevel >= 0) return { thumbs: await this.storedCodes(fused, verifier.pixelLevel), skipped: 0 };
    return this.thumbnails?.thumbnailsOf(
      fused.map((h) => h.key),
      verifier.pixels.side,
    );
  }

  /** Candidates' codes at a level read per candidate (cells, thumbnails); none while Redis is unreachable. */
  private async storedCodes(objects: { shard: number; id: number }[], level: number): Promise<(Uint8Array | undefined)[]> {
    if (!this.redis.up) return objects.map(() => undefined);
    try {
      return await this.reader.levelCodesOf(objects, level);
    } catch (e) {
      if (!isRedisConnectionError(e)) throw e;
      return objects.map(() => undefined);
    }
  }

  private toHit(h: FusedHit, minScore: number, querySize?: { width: number; height: number }): SearchHit {
    const granularity: Granularity = isWholeImageLevel(this.layout.plan, h.level) ? 'global' : 'region';
    const unit = levelBoxesUnit(this.layout.plan.levels[h.level])[h.view];
    // From the rank, so scores fall as hits go down the list.
    const score = Math.min(1, Math.max(0, hammingScore(h.rank, this.layout.bits)));
    const frame = parseFrameKey(h.key);
    return {
      key: frame ? frame.key : h.key,
      ...(frame ? { t: frame.t } : {}),
      score,
      match: score >= minScore,
      distance: h.distance,
      granularity,
      region: toPixels(unit, h.width, h.height),
      ...(h.queryBox && querySize ? { queryRegion: toPixels(h.queryBox, querySize.width, querySize.height) } : {}),
    };
  }
}

/** How much wider a search goes when keyframes of the same videos filled its top k (searchDistinct). */
const FRAME_WIDEN = 4;

/** Hits best first, each video's first (best) keyframe kept and its others dropped. */
function onePerVideo<H extends { key: string }>(hits: H[]): H[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const video = parseFrameKey(h.key)?.key;
    return video === undefined || (!seen.has(video) && seen.add(video));
  });
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
