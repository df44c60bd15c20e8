import type { ShardAnswer } from './hit-resolver.ts';
import type { ObjectInfo } from './object-info-table.ts';
import type { MirrorHit } from './shard-mirror.ts';

/**
 * One shard's answer to a search as it crosses from its worker thread: a few typed arrays and one
 * string. Structured-cloning the same answer as objects (an image query's ~74 probes x 10 hits
 * and the hundreds of objects they name) cost ~1.5 ms a shard, on the main thread; this ~0.05.
 */
export interface PackedAnswer {
  /** Hits of each query, in query order. */
  counts: Uint32Array;
  /** id, view, distance of every hit, query after query. */
  hits: Uint32Array;
  /** id, width, height of every object the hits name. */
  objects: Uint32Array;
  /** Per object: its key's length in `keys` (UTF-16 units), -1 when it has none. */
  keyLengths: Int32Array;
  /** The objects' keys, one after another. */
  keys: string;
}

export function packAnswer(results: MirrorHit[][], describe: (id: number) => ObjectInfo): PackedAnswer {
  const counts = new Uint32Array(results.length);
  const hits = new Uint32Array(3 * results.reduce((n, r) => n + r.length, 0));
  const ids = new Set<number>();
  let at = 0;
  results.forEach((list, q) => {
    counts[q] = list.length;
    for (const h of list) {
      hits[at++] = h.id;
      hits[at++] = h.view;
      hits[at++] = h.distance;
      ids.add(h.id);
    }
  });
  const objects = new Uint32Array(3 * ids.size);
  const keyLengths = new Int32Array(ids.size);
  const keys: string[] = [];
  let i = 0;
  for (const id of ids) {
    const info = describe(id);
    objects.set([id, info.width, info.height], 3 * i);
    keyLengths[i++] = info.key === null ? -1 : info.key.length;
    if (info.key !== null) keys.push(info.key);
  }
  return { counts, hits, objects, keyLengths, keys: keys.join('') };
}

export function unpackAnswer(p: PackedAnswer): ShardAnswer {
  let at = 0;
  const results = Array.from(p.counts, (n) => {
    const list: MirrorHit[] = new Array(n);
    for (let j = 0; j < n; j++, at += 3) list[j] = { id: p.hits[at], view: p.hits[at + 1], distance: p.hits[at + 2] };
    return list;
  });
  const objects = new Map<number, ObjectInfo>();
  let from = 0;
  for (let i = 0; i < p.keyLengths.length; i++) {
    const len = p.keyLengths[i];
    const key = len < 0 ? null : p.keys.slice(from, (from += len));
    objects.set(p.objects[3 * i], { key, width: p.objects[3 * i + 1], height: p.objects[3 * i + 2] });
  }
  return { results, objects };
}
