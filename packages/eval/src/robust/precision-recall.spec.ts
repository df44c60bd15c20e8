import { describe, expect, it } from 'vitest';
import { microAveragePrecision, operatingPoint, thresholdForPrecision, type RankedAnswer } from './precision-recall.ts';

const answers: RankedAnswer[] = [
  { truth: 'a', hits: [{ key: 'a', score: 0.9 }, { key: 'x', score: 0.5 }] },
  { truth: 'b', hits: [{ key: 'y', score: 0.8 }, { key: 'b', score: 0.7 }] },
  { hits: [{ key: 'z', score: 0.6 }] },
];

describe('precision-recall over all queries', () => {
  it('computes micro-average precision as the area under one curve', () => {
    // Sorted: a 0.9 (right), y 0.8, b 0.7 (right), z 0.6, x 0.5 -> 1/2 * 1 + 1/2 * 2/3.
    expect(microAveragePrecision(answers)).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(microAveragePrecision([{ truth: 'a', hits: [{ key: 'a', score: 1 }] }])).toBe(1);
  });

  it('counts a non-copy hit only against precision', () => {
    const withNoise = [...answers, { hits: [{ key: 'q', score: 0.95 }] }];
    expect(microAveragePrecision(withNoise)).toBeLessThan(microAveragePrecision(answers));
    expect(operatingPoint(withNoise, 0.85)).toMatchObject({ precision: 0.5, recall: 0.5, predictions: 2 });
  });

  it('picks the lowest threshold that keeps the precision asked for', () => {
    expect(thresholdForPrecision(answers, 0.99)).toMatchObject({ threshold: 0.9, precision: 1, recall: 0.5 });
    // A wrong hit above every right one: no threshold is that precise.
    expect(thresholdForPrecision([...answers, { hits: [{ key: 'q', score: 0.95 }] }], 0.99)).toBeUndefined();
    expect(thresholdForPrecision(answers, 0.6)).toMatchObject({ threshold: 0.7, recall: 1 });
    // Equal scores are one group: no threshold separates them.
    const tied: RankedAnswer[] = [{ truth: 'a', hits: [{ key: 'a', score: 0.5 }] }, { hits: [{ key: 'n', score: 0.5 }] }];
    expect(thresholdForPrecision(tied, 0.99)).toBeUndefined();
  });
});
