import type { MirrorHit } from './mirror-types.ts';
import type { RecordHit } from './scan-kernel.ts';

/** The best view of each object among records sorted by (distance, record): at most k objects. */
export function bestViews(records: RecordHit[], views: number, k: number): MirrorHit[] {
  const hits: MirrorHit[] = [];
  let lastId = -1;
  const seen = views === 1 ? null : new Set<number>();
  for (const r of records) {
    const id = Math.floor(r.record / views);
    if (seen) {
      if (seen.has(id)) continue;
      seen.add(id);
    } else if (id === lastId) continue;
    lastId = id;
    hits.push({ id, view: r.record - id * views, distance: r.distance });
    if (hits.length === k) break;
  }
  return hits;
}
