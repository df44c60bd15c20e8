import type { FusionProbe, ProbeHit } from '@loupe/shared';

/** One indexed object: its key, size and one vector per view, grouped by level. */
export interface IndexedObject<T> {
  key: string;
  width: number;
  height: number;
  /** levels[level][view] */
  levels: T[][];
}

/**
 * A brute-force stand-in for the shard searchers: per probe, the best view of every object at the
 * probe's level, sorted by (distance, key), top k — the contract ShardFanout answers with. Lets
 * the benchmark run the production fusion without Redis, and with float distances too.
 */
export class BruteForceIndex<T> {
  constructor(
    readonly objects: IndexedObject<T>[],
    private readonly distance: (a: T, b: T) => number,
  ) {}

  search(probes: FusionProbe[], queryVector: (probe: FusionProbe) => T, k = this.objects.length): ProbeHit[][] {
    return probes.map((probe) => {
      const q = queryVector(probe);
      const hits: ProbeHit[] = [];
      for (const o of this.objects) {
        const views = o.levels[probe.level];
        if (!views) continue;
        let best = Infinity;
        let bestView = 0;
        views.forEach((v, i) => {
          const d = this.distance(q, v);
          if (d < best) [best, bestView] = [d, i];
        });
        hits.push({ key: o.key, level: probe.level, view: bestView, distance: best, width: o.width, height: o.height });
      }
      hits.sort((a, b) => a.distance - b.distance || (a.key < b.key ? -1 : 1));
      return hits.slice(0, k);
    });
  }
}

/** Hamming distance of two packed codes of equal length. */
export function hamming(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT[a[i] ^ b[i]];
  return d;
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

/** Angle between two unit vectors as a fraction of pi: the expected Hamming distance / bits of SimHash. */
export function angularDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return Math.acos(Math.max(-1, Math.min(1, s))) / Math.PI;
}
