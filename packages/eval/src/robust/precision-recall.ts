import type { ScoredHit } from '../copy-detection/copy-detection-benchmark.ts';

/** One query's ranked answers and its right answer (none for a non-copy). */
export interface RankedAnswer {
  truth?: string;
  hits: ScoredHit[];
}

export interface OperatingPoint {
  threshold: number;
  precision: number;
  recall: number;
  /** Hits at or above the threshold. */
  predictions: number;
}

/**
 * Every hit of every query as one prediction, best score first, in groups of equal score (a
 * threshold cannot split them): cumulative true predictions and count at the end of each group.
 */
function sweep(answers: readonly RankedAnswer[]): { score: number; correct: number; predicted: number }[] {
  const predictions = answers.flatMap((a) => a.hits.map((h) => ({ score: h.score, correct: h.key === a.truth ? 1 : 0 })));
  predictions.sort((a, b) => b.score - a.score);
  const out: { score: number; correct: number; predicted: number }[] = [];
  let correct = 0;
  predictions.forEach((p, i) => {
    correct += p.correct;
    if (i + 1 === predictions.length || predictions[i + 1].score !== p.score) out.push({ score: p.score, correct, predicted: i + 1 });
  });
  return out;
}

const positives = (answers: readonly RankedAnswer[]) => answers.filter((a) => a.truth !== undefined).length;

/**
 * Micro-average precision, as DISC2021 scores copy detection: the predictions of all queries in one
 * precision-recall curve, the area under it as the sum of precision x recall gained. Recall is over
 * the copy queries (each has one right answer); a non-copy's hits can only cost precision.
 */
export function microAveragePrecision(answers: readonly RankedAnswer[]): number {
  const total = positives(answers);
  if (!total) return NaN;
  let ap = 0;
  let lastCorrect = 0;
  for (const g of sweep(answers)) {
    ap += ((g.correct - lastCorrect) / total) * (g.correct / g.predicted);
    lastCorrect = g.correct;
  }
  return ap;
}

/** Precision and recall of the hits scoring at least `threshold`. */
export function operatingPoint(answers: readonly RankedAnswer[], threshold: number): OperatingPoint {
  let correct = 0;
  let predicted = 0;
  for (const a of answers) {
    for (const h of a.hits) {
      if (h.score < threshold) continue;
      predicted++;
      if (h.key === a.truth) correct++;
    }
  }
  return { threshold, precision: predicted ? correct / predicted : 1, recall: correct / Math.max(1, positives(answers)), predictions: predicted };
}

/**
 * The lowest score threshold whose hits are right at least `precision` of the time: the match
 * threshold with the most recall at that precision. Undefined when no threshold reaches it (the
 * best-scored group of hits is already less precise).
 */
export function thresholdForPrecision(answers: readonly RankedAnswer[], precision: number): OperatingPoint | undefined {
  let best: number | undefined;
  for (const g of sweep(answers)) if (g.correct / g.predicted >= precision) best = g.score;
  return best === undefined ? undefined : operatingPoint(answers, best);
}
