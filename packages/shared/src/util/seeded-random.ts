/**
 * mulberry32: a small, fast, seeded uniform generator. Training, the evaluation's query set and
 * the builtin models' projections are reproducible per seed; benchmarks and tests use it for
 * data that is the same in every run. The sequence is part of the builtin models' definition:
 * never change it.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Seed from a string (FNV-1a), e.g. `${image}/${transform}/${i}`. */
  static from(text: string, salt = 0): SeededRandom {
    let h = (0x811c9dc5 ^ salt) >>> 0;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return new SeededRandom(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextWord() / 4294967296;
  }

  /** Uniform in (0, 1]: never 0, so log() of it stays finite. */
  nextNonZero(): number {
    return (this.nextWord() + 1) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hiInclusive]. */
  int(lo: number, hiInclusive: number): number {
    return lo + this.below(hiInclusive - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  sign(): 1 | -1 {
    return this.next() < 0.5 ? -1 : 1;
  }

  /** n random bytes (e.g. random binary codes). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const whole = n & ~3;
    const view = new DataView(out.buffer);
    for (let i = 0; i < whole; i += 4) view.setUint32(i, this.nextWord(), true);
    for (let i = whole; i < n; i++) out[i] = this.below(256);
    return out;
  }

  /** A copy of `code` with `flips` distinct random bits flipped (bit 0 = MSB of byte 0). */
  flipBits(code: Uint8Array, flips: number): Uint8Array {
    const out = code.slice();
    const done = new Set<number>();
    while (done.size < flips) {
      const bit = this.below(code.length * 8);
      if (done.has(bit)) continue;
      done.add(bit);
      out[bit >> 3] ^= 0x80 >> (bit & 7);
    }
    return out;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  private nextWord(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
