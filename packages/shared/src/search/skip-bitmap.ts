/**
 * Skip bitmaps (tombstones) by object id, in Redis SETBIT bit order — bit i is the most
 * significant-first bit (7 - i % 8) of byte i >> 3 — so the tombstone string read from Redis
 * (GET / GETRANGE) can be used as-is. Ids past the end of the bitmap are not skipped.
 */
export function isBitSet(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >> 3] >> (7 - (i & 7))) & 1) === 1;
}

/** Sets or clears bit i in place; the bitmap must already be long enough. */
export function writeBit(bitmap: Uint8Array, i: number, on: boolean): void {
  const mask = 0x80 >> (i & 7);
  if (on) bitmap[i >> 3] |= mask;
  else bitmap[i >> 3] &= ~mask;
}

/** A bitmap holding `ids`, sized for `size` ids. */
export function bitmapOf(ids: Iterable<number>, size: number): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(size / 8));
  for (const id of ids) writeBit(bitmap, id, true);
  return bitmap;
}

/** What a search skips: a bitmap by object id, or a predicate by record number. */
export type SkipOption = Uint8Array | ((record: number) => boolean);

/** A predicate by record number, or null when nothing is skipped. */
export function skipPredicate(skip: SkipOption | undefined, recordsPerObject = 1): ((record: number) => boolean) | null {
  if (!skip) return null;
  if (typeof skip === 'function') return skip;
  const bitmap = skip;
  if (recordsPerObject === 1) return (r) => ((bitmap[r >> 3] >> (7 - (r & 7))) & 1) === 1;
  return (r) => {
    const id = Math.floor(r / recordsPerObject);
    return ((bitmap[id >> 3] >> (7 - (id & 7))) & 1) === 1;
  };
}
