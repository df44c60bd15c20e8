import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adviseHugePages, nativeAddonLoaded, useHugePages } from './index.ts';

const MIB = 1 << 20;

/** The kernel's THP mode ('always', 'madvise' or 'never'): the bracketed word of the sysfs file. */
function thpMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** This process's anonymous memory backed by huge pages, in bytes. */
function anonHugeBytes(): number {
  return Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))![1]) * 1024;
}

/** A 64 MiB wasm memory with every page written, advised first or not. */
function touchedMemory(advise: boolean): { memory: WebAssembly.Memory; advised: number } {
  const memory = new WebAssembly.Memory({ initial: 1 });
  memory.grow((64 * MIB) / 65536);
  const advised = advise ? adviseHugePages(memory.buffer) : 0;
  new Uint8Array(memory.buffer).fill(1);
  return { memory, advised };
}

describe.runIf(process.platform === 'linux')('adviseHugePages', () => {
  it('is built on this machine (node-gyp at npm ci)', () => {
    expect(nativeAddonLoaded).toBe(true);
  });

  it('refuses what is not an ArrayBuffer', () => {
    expect(() => adviseHugePages(new Uint8Array(8) as unknown as ArrayBuffer)).toThrow(/ArrayBuffer/);
  });

  it('advises nothing once turned off (LOUPE_HUGE_PAGES=false), and again once turned on', () => {
    const memory = new WebAssembly.Memory({ initial: (8 * MIB) / 65536 });
    useHugePages(false);
    try {
      expect(adviseHugePages(memory.buffer)).toBe(0);
    } finally {
      useHugePages(true);
    }
    expect(adviseHugePages(memory.buffer)).toBeGreaterThanOrEqual(6 * MIB);
  });

  it('advises only whole huge pages: nothing for a buffer smaller than 2 MiB', () => {
    expect(adviseHugePages(new WebAssembly.Memory({ initial: 16 }).buffer)).toBe(0);
  });

  it.runIf(thpMode() === 'madvise')('backs an advised wasm memory with huge pages, and an unadvised one not', () => {
    const before = anonHugeBytes();
    const plain = touchedMemory(false);
    const afterPlain = anonHugeBytes();
    const advised = touchedMemory(true);
    const afterAdvised = anonHugeBytes();
    expect(advised.advised).toBeGreaterThanOrEqual(62 * MIB);
    expect(afterPlain - before).toBeLessThan(2 * MIB);
    // At least half the 64 MiB: the kernel may lack free huge pages for the rest.
    expect(afterAdvised - afterPlain).toBeGreaterThanOrEqual(32 * MIB);
    // Both still alive here, so neither was unmapped before its count was read.
    expect(plain.memory.buffer.byteLength).toBe(advised.memory.buffer.byteLength);
  });
});
