import { pixelLevelOf, pixelSide, type ViewPlan } from '../../view/view-plan.ts';
import type { FusedHit } from './view-fusion.ts';
import { searchThumbnail, type GreyImage } from './thumbnail-search.ts';

/** The query as the pixel check sees it: a grey thumbnail of its canonical raster and its size. */
export interface QueryPixels {
  /** QUERY_PIXELS_SIDE x QUERY_PIXELS_SIDE grey bytes (the canonical raster is squashed square). */
  grey: Uint8Array;
  /** The query image's size (after EXIF orientation): its aspect, lost in the square raster. */
  width: number;
  height: number;
}

/** Side of a query's grey thumbnail: finer than any window it is resampled to. */
export const QUERY_PIXELS_SIDE = 112;

/**
 * Side of the candidates' thumbnails when the index keeps none (they are made from the bucket's
 * images): the pixel level's side of the default model, which docs/benchmarks.md measures.
 */
export const SOURCE_THUMBNAIL_SIDE = 64;

/**
 * Correlations up to this are chance: a small window somewhere in any photo correlates 0.5-0.7 with
 * a smooth query; only the excess counts, rescaled to [0, 1] (docs/benchmarks.md, "Pixel verification").
 */
export const CHANCE_CORRELATION = 0.7;

/**
 * Checks the fused candidates against their pixels. A crop is an exact copy of part of its source's
 * pixels; another photo of the same scene (a stereo pair, the next shot of a calibration board) is
 * not, although its CNN codes and cells match as well. Each candidate's small grey thumbnail (the
 * index's pixel level, or made from the candidate's image in the bucket: sourceThumbnail) is
 * searched for the whole query (searchThumbnail: every window size and position, normalised
 * cross-correlation), and the candidate's rank drops by weight x bits x how far the best
 * correlation rises above chance (CHANCE_CORRELATION): the source correlates near 1 where a
 * look-alike does not.
 */
export class PixelVerifier {
  constructor(
    /** Bits of the searched codes (ranks are in these). */
    readonly bits: number,
    /** Side of the candidates' thumbnails (the pixel level's, or those made from the source). */
    readonly side: number,
    /** Bits of rank per unit of correlation. */
    readonly weight: number,
  ) {}

  /**
   * The verifier of an index with this plan (thumbnails of its pixel level's side, or
   * SOURCE_THUMBNAIL_SIDE without one), or undefined when the query plan gives no pixel weight.
   */
  static forPlan(bits: number, plan: ViewPlan, weight: number | undefined): PixelVerifier | undefined {
    if (!weight) return undefined;
    const level = pixelLevelOf(plan);
    return new PixelVerifier(bits, level < 0 ? SOURCE_THUMBNAIL_SIDE : pixelSide(plan.levels[level]), weight);
  }

  /**
   * The hits in the same order, each rank lowered by weight x bits x its best correlation's excess over
   * chance (none for a hit whose thumbnail is missing or matches nowhere); the cell check re-ranks them after
   * (CellGridVerifier.rerank). `thumbs[i]` is hit i's thumbnail.
   */
  adjustRanks<H extends FusedHit>(hits: H[], query: QueryPixels, thumbs: (Uint8Array | undefined)[]): H[] {
    const bonus = this.weight * this.bits;
    return hits.map((h, i) => {
      const ncc = thumbs[i] ? this.correlation(query, h, thumbs[i]!) : 0;
      const excess = (ncc - CHANCE_CORRELATION) / (1 - CHANCE_CORRELATION);
      return excess > 0 ? { ...h, rank: h.rank - bonus * excess } : h;
    });
  }

  /** The query's best correlation with a candidate's thumbnail (the query kept at its aspect relative to the candidate's). */
  correlation(query: QueryPixels, hit: { width: number; height: number }, thumb: Uint8Array): number {
    if (thumb.length !== this.side * this.side) throw new Error(`thumbnail: ${thumb.length} bytes, expected ${this.side}^2`);
    const aspect = (query.height / query.width) * (hit.width / hit.height);
    const grey: GreyImage = { width: QUERY_PIXELS_SIDE, height: QUERY_PIXELS_SIDE, data: query.grey };
    return searchThumbnail(grey, { width: this.side, height: this.side, data: thumb }, aspect)?.ncc ?? 0;
  }
}
