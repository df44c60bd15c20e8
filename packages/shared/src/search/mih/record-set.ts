/**
 * A small open-addressing set of record numbers, reused across queries. MIH dedupes its hits
 * here (a record sits in one bucket per part) instead of marking a per-record array, whose random
 * writes miss the cache on large indexes.
 */
export class RecordSet {
  private slots = new Int32Array(1024).fill(-1);
  private shift = 32 - 10; // slots.length = 2^(32 - shift)
  private size = 0;

  clear(): void {
    if (this.size) this.slots.fill(-1);
    this.size = 0;
  }

  /** Adds `record`; false when it was already there. */
  add(record: number): boolean {
    if (2 * (this.size + 1) > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    // Fibonacci hashing: the product's top bits mix every bit of the record number.
    let i = Math.imul(record, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const at = this.slots[i];
      if (at === record) return false;
      if (at === -1) break;
      i = (i + 1) & mask;
    }
    this.slots[i] = record;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    this.shift--;
    this.size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== -1) this.add(old[i]);
  }
}
