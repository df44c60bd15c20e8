import { describe, expect, it } from 'vitest';
import { SearchBatcher } from './search-batcher.ts';

describe('SearchBatcher', () => {
  it('runs what is asked while its fan-outs are busy as one batch, and answers each caller its own', async () => {
    const batches: number[][] = [];
    const release: (() => void)[] = [];
    const batcher = new SearchBatcher(async (xs: number[]) => {
      batches.push(xs);
      await new Promise<void>((r) => release.push(r));
      return xs.map((x) => x * 10);
    }, 1);
    const answers = [1, 2, 3, 4].map((x) => batcher.search(x));
    expect(batches).toEqual([[1]]);
    release.shift()!();
    await answers[0];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    release.shift()!();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40]);
  });

  it('fails every caller of a failed batch, and runs the next', async () => {
    let calls = 0;
    const batcher = new SearchBatcher(async (xs: number[]) => {
      if (calls++ === 0) throw new Error('shard down');
      return xs;
    }, 1);
    await expect(batcher.search(1)).rejects.toThrow('shard down');
    expect(await batcher.search(2)).toBe(2);
  });
});
