/** A byte array that grows by doubling, so appending objects one by one stays amortised O(1). */
export class GrowableBytes {
  bytes: Uint8Array;

  constructor(capacity = 0) {
    this.bytes = new Uint8Array(capacity);
  }

  ensure(size: number): void {
    if (size <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(size, this.bytes.length * 2, 4096));
    next.set(this.bytes);
    this.bytes = next;
  }

  write(offset: number, src: Uint8Array): void {
    this.ensure(offset + src.length);
    this.bytes.set(src, offset);
  }
}

const POPCOUNT8 = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT8[i] = (i & 1) + POPCOUNT8[i >> 1];

/**
 * In-memory copy of one shard: per level the packed records of objects 0..objects-1 (object i's
 * views at i*recordBytes[level]), and the tombstone bitmap in Redis bit order (bit 0 = MSB of
 * byte 0, as SETBIT writes it).
 */
export class ShardCodes {
  readonly levels: GrowableBytes[];
  readonly tombstones = new GrowableBytes();
  /** Objects held (ids 0..objects-1), deleted ones included. */
  objects = 0;

  constructor(
    /** Bytes of one object's records at each level: viewsAtLevel * codeBytes. */
    readonly recordBytes: number[],
  ) {
    this.levels = recordBytes.map(() => new GrowableBytes());
  }

  /** Writes object `id`'s records of every level (a missing or short level is left as it was). */
  setObject(id: number, levels: Uint8Array[]): boolean {
    if (levels.some((b, l) => b.length !== this.recordBytes[l])) return false;
    levels.forEach((b, l) => this.levels[l].write(id * this.recordBytes[l], b));
    if (id >= this.objects) this.objects = id + 1;
    return true;
  }

  markDeleted(id: number): void {
    this.tombstones.ensure((id >> 3) + 1);
    this.tombstones.bytes[id >> 3] |= 0x80 >> (id & 7);
  }

  isDeleted(id: number): boolean {
    const byte = this.tombstones.bytes[id >> 3];
    return byte !== undefined && (byte & (0x80 >> (id & 7))) !== 0;
  }

  /** Deleted ids among 0..objects-1. */
  deletedCount(): number {
    const t = this.tombstones.bytes;
    const full = this.objects >> 3;
    let n = 0;
    for (let i = 0; i < full && i < t.length; i++) n += POPCOUNT8[t[i]];
    for (let id = full << 3; id < this.objects; id++) if (this.isDeleted(id)) n++;
    return n;
  }

  /** The packed records of a level for objects 0..objects-1. */
  levelRecords(level: number): Uint8Array {
    return this.levels[level].bytes.subarray(0, this.objects * this.recordBytes[level]);
  }
}
