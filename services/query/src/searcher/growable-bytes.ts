/** A byte array that grows by doubling, so appending one object at a time stays amortised O(1). */
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
