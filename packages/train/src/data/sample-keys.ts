import { SeededRandom } from '@loupe/shared';

export interface KeySampling {
  list(prefix: string): AsyncIterable<{ key: string }>;
  prefix: string;
  /** Up to this many keys, drawn uniformly (reservoir sampling). */
  sample: number;
  seed?: number;
  /** Keys worth fetching; all keys when absent. */
  accept?: (key: string) => boolean;
}

/** A uniform sample of the listed keys, sorted (one pass, memory bounded by `sample`). */
export async function sampleKeys(o: KeySampling): Promise<string[]> {
  const rnd = new SeededRandom(o.seed ?? 1);
  const reservoir: string[] = [];
  let seen = 0;
  for await (const { key } of o.list(o.prefix)) {
    if (o.accept && !o.accept(key)) continue;
    seen++;
    if (reservoir.length < o.sample) reservoir.push(key);
    else {
      const j = rnd.below(seen);
      if (j < o.sample) reservoir[j] = key;
    }
  }
  return reservoir.sort();
}
