import { POPCOUNT8 } from '../../code/bit-code.ts';
import { cellLevelOf, isWholeImageLevel, levelBits, type ViewPlan } from '../../view/view-plan.ts';
import type { CellVerification } from './query-plan.ts';
import type { FusedHit } from './view-fusion.ts';

/** A query view's feature map, one code per cell (row-major, `side` x `side` codes). */
export interface QueryCellGrid {
  side: number;
  codes: Uint8Array;
}

/** Where the query's cells agreed best with a candidate's: the agreement and the cells it covers. */
export interface CellGridMatch {
  /** Mean per-cell agreement (1 - 2 x Hamming / bits) at the best translation, in [-1, 1]. */
  score: number;
  /** The candidate's cells the matched query cells cover: columns c0..c1-1, rows r0..r1-1. */
  cells: { c0: number; r0: number; c1: number; r1: number };
}

/**
 * Checks the fused candidates of a query cell by cell. A pooled region code keeps what a region
 * holds but not where: another photo of the same scene (a stereo pair, a sequence) or a region of
 * similar texture can match a crop as well as its source does. The index's cell level keeps one
 * code per cell of the regional forward's map; the query's own maps (the query seen at the sides
 * of its upright views) are slid over that grid, and a candidate scores the best mean agreement of
 * the query's cells at one translation: the source agrees cell by cell, look-alikes only on average.
 *
 * A query map's outer ring of cells sees the forward's zero padding, which the candidate's inner
 * cells never saw: it is left out once MIN_INNER x MIN_INNER cells remain.
 */
export class CellGridVerifier {
  static readonly MIN_INNER = 4;

  constructor(
    /** Bits of the searched codes (ranks are in these). */
    readonly bits: number,
    /** Bits of each cell code. */
    readonly cellBits: number,
    /** Cells per side of the index's cell level. */
    readonly gridSide: number,
    readonly settings: CellVerification,
    /** Levels whose view is the whole image (see QueryPlan.verify.keepWholeWithin). */
    private readonly wholeLevels: readonly number[] = [0],
  ) {}

  /** The verifier of an index with this plan, or undefined when it has no cell level or the query plan no verification. */
  static forPlan(bits: number, plan: ViewPlan, settings: CellVerification | undefined): CellGridVerifier | undefined {
    const level = cellLevelOf(plan);
    if (level < 0 || !settings) return undefined;
    const whole = plan.levels.map((_, l) => l).filter((l) => isWholeImageLevel(plan, l));
    return new CellGridVerifier(bits, levelBits(plan, level, bits), plan.levels[level].grid, settings, whole);
  }

  /** False when there is nothing to check, or the top hit is a close whole-image copy. */
  needsCheck(hits: FusedHit[]): boolean {
    const top = hits[0];
    if (!top) return false;
    return !(this.wholeLevels.includes(top.level) && top.distance <= this.settings.keepWholeWithin * this.bits);
  }

  /**
   * The hits re-ranked: each rank lowered by weight x bits x its cell agreement (hits whose cells
   * are missing keep their rank), best first. `cells[i]` are hit i's cell codes.
   */
  rerank<H extends FusedHit>(hits: H[], query: QueryCellGrid[], cells: (Uint8Array | undefined)[]): H[] {
    const bonus = this.settings.weight * this.bits;
    const ranked = hits.map((h, i) => {
      const m = cells[i] && this.match(query, cells[i]!);
      return { hit: m ? { ...h, rank: h.rank - bonus * m.score } : h, order: i };
    });
    return ranked.sort((a, b) => a.hit.rank - b.hit.rank || a.order - b.order).map((r) => r.hit);
  }

  /** The best match of any query grid on a candidate's cell codes (gridSide^2 codes of cellBits), or null when no grid fits. */
  match(query: QueryCellGrid[], candidate: Uint8Array): CellGridMatch | null {
    const bytes = this.cellBits / 8;
    const f = this.gridSide;
    if (candidate.length !== f * f * bytes) throw new Error(`cell grid: ${candidate.length} bytes, expected ${f * f * bytes}`);
    let best: CellGridMatch | null = null;
    for (const q of query) {
      const m = q.side;
      if (q.codes.length !== m * m * bytes) throw new Error(`query cell grid: ${q.codes.length} bytes for ${m} x ${m} cells`);
      const border = m - 2 >= CellGridVerifier.MIN_INNER ? 1 : 0;
      const n = m - 2 * border;
      if (n > f) continue;
      // Agreement of every inner query cell with every candidate cell, then each placement summed.
      const agree = new Float64Array(n * n * f * f);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const qo = ((i + border) * m + j + border) * bytes;
          for (let c = 0; c < f * f; c++) {
            let d = 0;
            for (let b = 0; b < bytes; b++) d += POPCOUNT8[q.codes[qo + b] ^ candidate[c * bytes + b]];
            agree[(i * n + j) * f * f + c] = 1 - (2 * d) / this.cellBits;
          }
        }
      for (let r0 = 0; r0 + n <= f; r0++)
        for (let c0 = 0; c0 + n <= f; c0++) {
          let sum = 0;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += agree[(i * n + j) * f * f + (r0 + i) * f + c0 + j];
          const score = sum / (n * n);
          if (!best || score > best.score) best = { score, cells: { c0, r0, c1: c0 + n, r1: r0 + n } };
        }
    }
    return best;
  }
}
