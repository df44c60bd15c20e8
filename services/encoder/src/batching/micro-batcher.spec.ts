import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './micro-batcher.ts';

describe('MicroBatcher', () => {
  it('groups items submitted together into one batch, up to maxSize', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(async (xs) => (batches.push(xs), xs.map((x) => x * 2)), 3, 20);
    const out = await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
    expect(out).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('runs a lone item after maxWaitMs', async () => {
    const b = new MicroBatcher<number, number>(async (xs) => xs, 8, 30);
    const t0 = performance.now();
    expect(await b.submit(7)).toBe(7);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it('runs one batch at a time; items arriving meanwhile form the next batch', async () => {
    let active = 0;
    let maxActive = 0;
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(async (xs) => {
      active++;
      maxActive = Math.max(maxActive, active);
      batches.push(xs);
      await new Promise((r) => setTimeout(r, 40));
      active--;
      return xs;
    }, 4, 5);
    const first = b.submit(1);
    await new Promise((r) => setTimeout(r, 15)); // first batch is running now
    const rest = [2, 3].map((x) => b.submit(x));
    await Promise.all([first, ...rest]);
    expect(maxActive).toBe(1);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('isolates a failing item: the others of its batch still succeed', async () => {
    const b = new MicroBatcher<number, number>(async (xs) => {
      if (xs.includes(13)) throw new Error('unlucky');
      return xs;
    }, 4, 5);
    const results = await Promise.allSettled([1, 13, 2].map((x) => b.submit(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('unlucky');
    await b.drain();
  });
});
