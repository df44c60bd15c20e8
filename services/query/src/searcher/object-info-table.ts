import { GrowableBytes } from './growable-bytes.ts';

/** What a hit names besides its codes: the object's key and its source size (0 x 0 when unknown). */
export interface ObjectInfo {
  /** Null when the id has no key (should not happen for an id the indexer wrote). */
  key: string | null;
  width: number;
  height: number;
}

/** Per id: key offset, key length + 1 (0 = no key), width, height. */
const FIELDS = 4;

/**
 * Keys and sizes of one shard's objects by id, held beside the codes so a hit is named without a
 * Redis round trip (and while Redis is unreachable). Keys are UTF-8 in one append-only arena: an
 * id's key never changes (a key that comes back after a delete gets a new id), only its size does
 * when the object is replaced.
 */
export class ObjectInfoTable {
  private readonly arena = new GrowableBytes();
  private arenaUsed = 0;
  private fields = new Uint32Array(0);

  /** Records object `id`'s key (UTF-8 bytes) and size. */
  set(id: number, key: Uint8Array | null, width: number, height: number): void {
    if (key) this.setKey(id, key);
    this.setSize(id, width, height);
  }

  setKey(id: number, key: Uint8Array): void {
    this.ensure(id + 1);
    const at = id * FIELDS;
    const f = this.fields;
    if (f[at + 1] === key.length + 1 && this.keyEquals(at, key)) return;
    this.arena.write(this.arenaUsed, key);
    f[at] = this.arenaUsed;
    f[at + 1] = key.length + 1;
    this.arenaUsed += key.length;
  }

  setSize(id: number, width: number, height: number): void {
    this.ensure(id + 1);
    this.fields[id * FIELDS + 2] = width;
    this.fields[id * FIELDS + 3] = height;
  }

  get(id: number): ObjectInfo {
    const at = id * FIELDS;
    const f = this.fields;
    if (at >= f.length) return { key: null, width: 0, height: 0 };
    const len = f[at + 1];
    const key = len === 0 ? null : Buffer.from(this.arena.bytes.buffer, this.arena.bytes.byteOffset + f[at], len - 1).toString('utf8');
    return { key, width: f[at + 2], height: f[at + 3] };
  }

  /** Bytes held (keys and per-id fields). */
  get bytes(): number {
    return this.arena.bytes.length + this.fields.byteLength;
  }

  private keyEquals(at: number, key: Uint8Array): boolean {
    const start = this.fields[at];
    for (let i = 0; i < key.length; i++) if (this.arena.bytes[start + i] !== key[i]) return false;
    return true;
  }

  private ensure(ids: number): void {
    if (ids * FIELDS <= this.fields.length) return;
    const next = new Uint32Array(Math.max(ids, (this.fields.length / FIELDS) * 2, 1024) * FIELDS);
    next.set(this.fields);
    this.fields = next;
  }
}
