import type { ChangeEvent, StreamPosition } from './shard-reader.repository.ts';

/**
 * Why entries between `lastId` (the `seq`-th entry ever added, null when the server cannot tell)
 * and `events` may be missing — trimmed away, or the stream was recreated (a Redis that came back
 * empty) — or null when none are. Exact with Redis >= 7 (entries-added); on older servers it
 * reports a gap whenever the stream's first entry is past lastId.
 */
export function streamGap(pos: StreamPosition, seq: number | null, lastId: string, events: ChangeEvent[]): string | null {
  if (pos.entriesAdded !== null && seq !== null) {
    if (pos.entriesAdded < seq + events.length) return 'stream was recreated';
    // Entries numbered <= entriesAdded - length are trimmed; the next one we need is seq + 1.
    if (seq < pos.entriesAdded - pos.length) return 'stream trimmed past the last applied entry';
    return null;
  }
  if (pos.firstId !== null && compareStreamIds(pos.firstId, lastId) > 0 && pos.firstId !== events[0].streamId) {
    return 'stream trimmed past the last applied entry';
  }
  return null;
}

export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}
