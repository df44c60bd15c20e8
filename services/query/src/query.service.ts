import {
  codeBytes,
  hammingScore,
  hexToBytes,
  levelBoxesUnit,
  toPixels,
  type IndexLayout,
} from '@loupe/shared';
import type { IndexReaderRepository } from './repository/index-reader.repository.ts';
import type { Granularity, SearchHit, SearchParams, SearchResponse } from './search-types.ts';

export interface LevelQuery {
  level: number;
  code: Uint8Array;
  k: number;
  maxDistance?: number;
}

export interface FanoutHit {
  key: string;
  level: number;
  view: number;
  distance: number;
  width: number;
  height: number;
}

export interface FanoutResult {
  results: FanoutHit[][];
  shards: { total: number; ok: number; failed: number[] };
}

/** Searches every shard for every query (the searcher pool implements it). */
export interface ShardFanout {
  search(queries: LevelQuery[], timeoutMs: number): Promise<FanoutResult>;
}

/** Turns query bytes into the codes of the query's views, with the index's model and plan. */
export interface QueryEncoder {
  encode(bytes: Buffer): Promise<{ level: number; index: number; code: Uint8Array }[]>;
}

/** A client's mistake: mapped to a 4xx by the HTTP layer. */
export class QueryInputError extends Error {
  constructor(readonly status: 400 | 404 | 413 | 415, message: string) {
    super(message);
  }
}

/**
 * Query logic: the query's global code is matched against indexed global codes (whole-image
 * copies) and against indexed regional codes (the query is a piece of an indexed image); the
 * best view per object wins, a global match before a regional one at equal distance.
 */
export class QueryService {
  constructor(
    private readonly layout: IndexLayout,
    private readonly encoder: QueryEncoder,
    private readonly fanout: ShardFanout,
    private readonly reader: IndexReaderRepository,
    private readonly timeoutMs: number,
  ) {}

  async searchImage(bytes: Buffer, p: SearchParams): Promise<SearchResponse> {
    const views = await this.encoder.encode(bytes);
    const global = views.find((v) => v.level === 0 && v.index === 0);
    if (!global) throw new Error('query encoder produced no global view');
    return this.searchCode(global.code, p);
  }

  async searchKey(key: string, p: SearchParams): Promise<SearchResponse> {
    const codes = await this.reader.codesOf(key);
    if (!codes) throw new QueryInputError(404, `key ${JSON.stringify(key)} is not indexed`);
    return this.searchCode(codes[0].subarray(0, codeBytes(this.layout)), p);
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
    return this.searchCode(code, p);
  }

  private async searchCode(code: Uint8Array, p: SearchParams): Promise<SearchResponse> {
    const started = performance.now();
    const levels = this.layout.plan.levels.map((_, i) => i);
    const wanted = levels.filter((l) =>
      p.granularity === 'auto' ? true : p.granularity === 'global' ? l === 0 : l > 0,
    );
    const queries = wanted.map((level) => ({ level, code, k: p.k, maxDistance: p.maxDistance }));
    const { results, shards } = await this.fanout.search(queries, this.timeoutMs);
    const best = new Map<string, SearchHit>();
    for (const hits of results) {
      for (const h of hits) {
        const hit = this.toHit(h);
        const prev = best.get(h.key);
        if (!prev || rank(hit) < rank(prev)) best.set(h.key, hit);
      }
    }
    const hits = [...best.values()].sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : 1)).slice(0, p.k);
    const response: SearchResponse = {
      hits,
      tookMs: Math.round((performance.now() - started) * 10) / 10,
      shards: { total: shards.total, ok: shards.ok },
    };
    if (shards.ok < shards.total) {
      response.partial = true;
      response.shards.failed = shards.failed;
    }
    return response;
  }

  private toHit(h: FanoutHit): SearchHit {
    const granularity: Granularity = h.level === 0 ? 'global' : 'region';
    const unit = levelBoxesUnit(this.layout.plan.levels[h.level])[h.view];
    return {
      key: h.key,
      score: hammingScore(h.distance, this.layout.bits),
      distance: h.distance,
      granularity,
      region: toPixels(unit, h.width, h.height),
    };
  }
}

/** Orders by distance; a global match beats a regional one at the same distance. */
function rank(h: SearchHit): number {
  return h.distance * 2 + (h.granularity === 'region' ? 1 : 0);
}
