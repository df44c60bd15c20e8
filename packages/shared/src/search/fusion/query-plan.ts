/**
 * How a query image is looked at. The index holds one code per view of the view plan (global +
 * regional pyramid); a query is encoded as several *query views* — the whole query image at one
 * or more forward sides and orientations — and each query view is matched against some index
 * levels. A crop of an indexed image matches one of its regions best when the crop is seen at the
 * scale the region was encoded at, so smaller sides serve the regional levels; a mirrored or
 * quarter-turned copy matches the index once the query is turned back.
 *
 * Query views cost only query-time forwards; the index (and the encoder's cost) is unchanged.
 */
export type QueryOrientation = 'none' | 'flip' | 'rot90' | 'rot270';

export interface QueryView {
  /** Stable name, reported with a hit (e.g. "global", "flip", "s160"). */
  name: string;
  orientation: QueryOrientation;
  /** Forward side in pixels; the whole feature map is pooled into one descriptor (unused by 'dct'). */
  side: number;
  /** The query without a uniform frame (padding, letterbox bars) before the forward. */
  trim?: boolean;
  /**
   * Degrees (clockwise) a tilted copy is taken to be rotated by and turned back before the forward
   * (untiltRaster): a copy rotated by a few degrees, its canvas grown, seen upright.
   */
  tilt?: number;
  /** 'dct': the query's perceptual code (DctHash) instead of a CNN descriptor, for dct levels. */
  kind?: 'dct';
  /**
   * Rank offset per index level, as a fraction of the code length; a level whose entry is null
   * (or missing) is not searched with this query view. Offsets order matches of different kinds:
   * the plain global-to-global match has offset 0, so an exact copy (distance 0) ranks first.
   */
  offsets: (number | null)[];
  /** Hits farther than this fraction of the code length are dropped (a far perceptual match is noise). */
  maxDistance?: number;
  /** Also code each cell of this view's feature map: the query's grid for verification (QueryPlan.verify). */
  cells?: boolean;
  /** Also code parts of the query, each cropped and forwarded at this view's side, against the whole-image level. */
  regions?: QueryRegions;
}

/**
 * Parts of the query matched against the index's global codes: a copy pasted into a larger
 * picture (a meme, a collage, a screenshot) is found as a part of the query. The parts are where
 * the query's straight edges say a pasted picture may be (pasteProposals), each cropped and
 * forwarded: a forward each. Pooled from the whole query's map, or cut on a fixed grid, a part's
 * code lands as far from its source's global code as unrelated images do (docs/benchmarks.md).
 */
export interface QueryRegions {
  /** How many proposed parts are coded at most. */
  proposals: number;
  /** Rank offset (fraction of the code length) of their hits on the global level. */
  offset: number;
}

/**
 * Re-ranking of the fused top candidates against the index's cell level (CellGridVerifier): each
 * candidate's rank (bits) drops by weight x bits x its cell agreement.
 */
export interface CellVerification {
  /** How many fused candidates are checked (at least the k asked for). */
  candidates: number;
  /** Bits of rank per unit of mean cell agreement. */
  weight: number;
  /**
   * A whole-image top hit (global or perceptual level) within this fraction of the bits is an
   * exact enough copy: the order is kept (a whole copy's cells are not at the scales queried).
   */
  keepWholeWithin: number;
  /**
   * Bits of rank per unit of the query's best correlation with each candidate's thumbnail
   * (PixelVerifier), on the same candidates: the index's pixel level, or without one the
   * candidates' images read from the bucket by the query service.
   */
  pixelWeight?: number;
}

/** views[0] is the identity view: the one a stored global code stands for (search by key). */
export interface QueryPlan {
  views: QueryView[];
  /** Set when the index has a cell level. */
  verify?: CellVerification;
  /** The match decision: a hit scoring at least minScore (1 - rank / bits) is a match. */
  match?: MatchDecision;
}

/**
 * A score threshold calibrated on the robust copy-detection benchmark's tuning split for a
 * precision of at least 0.99 over every hit (docs/benchmarks.md, "Robust copy detection").
 */
export interface MatchDecision {
  minScore: number;
}

/** The query view that reproduces the index's level-0 (global) code of the same image. */
export function isIdentityView(v: QueryView, globalSide: number): boolean {
  return v.orientation === 'none' && v.side === globalSide && !v.tilt;
}
