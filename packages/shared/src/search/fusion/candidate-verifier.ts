import { cellLevelOf, pixelLevelOf, type ViewPlan } from '../../view/view-plan.ts';
import { CellGridVerifier, type QueryCellGrid } from './cell-grid-verifier.ts';
import { PixelVerifier, type QueryPixels } from './pixel-verifier.ts';
import type { CellVerification } from './query-plan.ts';
import type { FusedHit, QueryViewCode } from './view-fusion.ts';

/** What an image query brings to the check: its cell grids and, when the plan checks pixels, its pixels. */
export interface QueryEvidence {
  grids: QueryCellGrid[];
  pixels?: QueryPixels;
}

/**
 * The check of an image query's fused top candidates against what is kept of each but never
 * searched: their thumbnails (PixelVerifier; the index's pixel level, or made from the bucket's
 * images) lower the ranks first, then their cells (CellGridVerifier) lower them again and re-rank.
 * One place for that order, for the query service and `loupe eval` alike.
 */
export class CandidateVerifier {
  private constructor(
    readonly cells: CellGridVerifier,
    readonly cellLevel: number,
    readonly pixels: PixelVerifier | undefined,
    /** The index's pixel level; -1 when thumbnails are made from the source images. */
    readonly pixelLevel: number,
  ) {}

  /** The verifier of an index with this plan, or undefined when it has no cell level or the query plan no verification. */
  static forPlan(bits: number, plan: ViewPlan, settings: CellVerification | undefined): CandidateVerifier | undefined {
    const cells = CellGridVerifier.forPlan(bits, plan, settings);
    return cells && new CandidateVerifier(cells, cellLevelOf(plan), PixelVerifier.forPlan(bits, plan, settings?.pixelWeight), pixelLevelOf(plan));
  }

  get settings(): CellVerification {
    return this.cells.settings;
  }

  /** The evidence in a query's view codes; undefined when they carry none (a search by key or code). */
  evidence(codes: QueryViewCode[]): QueryEvidence | undefined {
    const grids = codes.flatMap((c) => (c.cells ? [c.cells] : []));
    if (!grids.length) return undefined;
    const pixels = this.pixels && codes.find((c) => c.pixels)?.pixels;
    return pixels ? { grids, pixels } : { grids };
  }

  /** False when there is nothing to check, or the top hit is a close whole-image copy. */
  needsCheck(hits: FusedHit[]): boolean {
    return this.cells.needsCheck(hits);
  }

  /** The hits re-ranked; `cells[i]` and `thumbs[i]` are hit i's stored cell codes and thumbnail. */
  rerank<H extends FusedHit>(hits: H[], query: QueryEvidence, cells: (Uint8Array | undefined)[], thumbs?: (Uint8Array | undefined)[]): H[] {
    return this.rerankByCells(this.adjustByPixels(hits, query, thumbs), query, cells);
  }

  /**
   * The first step of rerank: each hit's rank lowered by its thumbnail's correlation with the query
   * (hits in the same order; unchanged without pixels). Hit by hit, so hits may be split over threads.
   */
  adjustByPixels<H extends FusedHit>(hits: H[], query: QueryEvidence, thumbs?: (Uint8Array | undefined)[]): H[] {
    return this.pixels && query.pixels && thumbs ? this.pixels.adjustRanks(hits, query.pixels, thumbs) : hits;
  }

  /** The second step of rerank: ranks lowered by cell agreement, best first. */
  rerankByCells<H extends FusedHit>(hits: H[], query: QueryEvidence, cells: (Uint8Array | undefined)[]): H[] {
    return this.cells.rerank(hits, query.grids, cells);
  }
}
