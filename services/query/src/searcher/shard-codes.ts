import { POPCOUNT8 } from '@loupe/shared/searcher-core';
import { GrowableBytes } from './growable-bytes.ts';
import { ObjectInfoTable } from './object-info-table.ts';
import { createLevelCodes, type LevelCodes, type LevelCodesOptions } from './scan-kernel.ts';

/**
 * In-memory copy of one shard: per level the records of objects 0..objects-1 (object i's views
 * are records i*views .. i*views+views-1), the tombstone bitmap in Redis bit order (bit 0 =
 * MSB of byte 0, as SETBIT writes it), and each object's key and size.
 */
export class ShardCodes {
  readonly levels: LevelCodes[];
  readonly tombstones = new GrowableBytes();
  readonly infos = new ObjectInfoTable();
  /** Objects held (ids 0..objects-1), deleted ones included. */
  objects = 0;

  constructor(
    readonly codeBytes: number,
    /** Views per object at each level. */
    readonly views: number[],
    opts: LevelCodesOptions = {},
  ) {
    this.levels = views.map(() => createLevelCodes(codeBytes, opts));
  }

  /** After a bulk load: builds each large enough level's multi-index hash. */
  finishLoad(): void {
    for (const level of this.levels) level.ensureIndex();
  }

  /** Bytes of one object's records at `level`. */
  objectBytes(level: number): number {
    return this.views[level] * this.codeBytes;
  }

  /** Writes object `id`'s records of every level; false (nothing written) if any level is incomplete. */
  setObject(id: number, levels: Uint8Array[]): boolean {
    if (levels.length !== this.views.length || levels.some((b, l) => b.length !== this.objectBytes(l))) return false;
    levels.forEach((b, l) => {
      this.levels[l].write(id * this.views[l], b);
      this.levels[l].ensureIndex();
    });
    if (id >= this.objects) this.objects = id + 1;
    return true;
  }

  markDeleted(id: number): void {
    this.views.forEach((n, l) => this.levels[l].remove(id * n, n));
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
}
