import type { ObjectInfo } from './object-info-table.ts';
import type { MirrorHit } from './mirror-types.ts';

/**
 * One shard's answer to a search, as it crosses from its worker thread and over the searcher RPC
 * and as the merge reads it: a few typed arrays and one string. The same answer as objects (an
 * image query's ~74 probes x 10 hits and the hundreds of objects they name) cost ~1.5 ms a shard to
 * structured-clone, and several ms a query to build from an RPC body in the router.
 */
export interface ShardAnswer {
  /** Hits of each query, in query order. */
  counts: Uint32Array;
  /** Per hit, query after query: the index of its object in `objects`, its view, its distance. */
  hits: Uint32Array;
  /** id, width, height of every object the hits name. */
  objects: Uint32Array;
  /** Per object: its key's length in `keys` (UTF-16 units), -1 when it has none. */
  keyLengths: Int32Array;
  /** The objects' keys, one after another. */
  keys: string;
}

export function packAnswer(results: MirrorHit[][], describe: (id: number) => ObjectInfo): ShardAnswer {
  const counts = new Uint32Array(results.length);
  const hits = new Uint32Array(3 * results.reduce((n, r) => n + r.length, 0));
  const objectIndex = new Map<number, number>();
  let at = 0;
  results.forEach((list, q) => {
    counts[q] = list.length;
    for (const h of list) {
      let index = objectIndex.get(h.id);
      if (index === undefined) objectIndex.set(h.id, (index = objectIndex.size));
      hits[at++] = index;
      hits[at++] = h.view;
      hits[at++] = h.distance;
    }
  });
  const objects = new Uint32Array(3 * objectIndex.size);
  const keyLengths = new Int32Array(objectIndex.size);
  const keys: string[] = [];
  for (const [id, i] of objectIndex) {
    const info = describe(id);
    objects[3 * i] = id;
    objects[3 * i + 1] = info.width;
    objects[3 * i + 2] = info.height;
    keyLengths[i] = info.key === null ? -1 : info.key.length;
    if (info.key !== null) keys.push(info.key);
  }
  return { counts, hits, objects, keyLengths, keys: keys.join('') };
}

/** Reads a packed answer: each query's hits, and the object each names. */
export class ShardAnswerReader {
  /** Hit index where each query's hits start; the last entry is the hit count. */
  private readonly starts: Uint32Array;
  /** Where each object's key starts in `keys`. */
  private readonly keyStarts: Uint32Array;

  constructor(readonly answer: ShardAnswer) {
    this.starts = prefixSums(answer.counts);
    this.keyStarts = prefixSums(Array.from(answer.keyLengths, (n) => Math.max(0, n)));
  }

  /** Hits [from, to) are query `q`'s. */
  first(q: number): number {
    return this.starts[q];
  }
  end(q: number): number {
    return this.starts[q + 1];
  }
  id(hit: number): number {
    return this.answer.objects[3 * this.answer.hits[3 * hit]];
  }
  view(hit: number): number {
    return this.answer.hits[3 * hit + 1];
  }
  distance(hit: number): number {
    return this.answer.hits[3 * hit + 2];
  }

  /** The key and source size of the object hit `hit` names. */
  objectOf(hit: number): ObjectInfo {
    const { objects, keyLengths, keys } = this.answer;
    const i = this.answer.hits[3 * hit];
    const from = this.keyStarts[i];
    return { key: keyLengths[i] < 0 ? null : keys.slice(from, from + keyLengths[i]), width: objects[3 * i + 1], height: objects[3 * i + 2] };
  }

  /** Every hit as (id, view, distance), query by query: for tests and logs. */
  results(): MirrorHit[][] {
    return Array.from(this.answer.counts, (_, q) => {
      const out: MirrorHit[] = [];
      for (let h = this.first(q); h < this.end(q); h++) out.push({ id: this.id(h), view: this.view(h), distance: this.distance(h) });
      return out;
    });
  }
}

/** [0, a0, a0 + a1, ...]: n + 1 entries. */
function prefixSums(values: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) out[i + 1] = out[i] + values[i];
  return out;
}
