import { describe, expect, it } from 'vitest';
import { IndexingProgress, progressLine } from './indexing-progress.ts';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, write: (s: string) => writes.push(s) } };
}

describe('indexing progress', () => {
  it('draws a bar with the share indexed, the counters and the rate', () => {
    expect(progressLine({ indexed: 30, pending: 90, failed: 2 }, 12.34)).toBe('[######------------------]  25%  30 indexed, 90 pending, 2 failed, 12.3 images/s');
    expect(progressLine({ indexed: 0, pending: 0, failed: 0 })).toBe('[------------------------]   0%  0 indexed, 0 pending, 0 failed');
  });

  it('reports a line per interval while objects are pending, then one last line, then nothing', () => {
    const { writes, out } = sink(false);
    const p = new IndexingProgress(async () => undefined, out);
    p.report({ indexed: 0, pending: 0, failed: 0 }, 0);
    p.report({ indexed: 10, pending: 50, failed: 0 }, 5000);
    p.report({ indexed: 60, pending: 0, failed: 1 }, 10000);
    p.report({ indexed: 60, pending: 0, failed: 1 }, 15000);
    expect(writes).toEqual([
      '[####--------------------]  16%  10 indexed, 50 pending, 0 failed, 2.0 images/s\n',
      'indexing done: 60 indexed, 1 failed (loupe stats for more)\n',
    ]);
  });

  it('rewrites one line in place on a terminal', () => {
    const { writes, out } = sink(true);
    const p = new IndexingProgress(async () => undefined, out);
    p.report({ indexed: 1, pending: 3, failed: 0 }, 0);
    expect(writes[0].startsWith('\r\x1b[2K[######------------------]  25%')).toBe(true);
    expect(writes[0].endsWith('\n')).toBe(false);
  });
});
