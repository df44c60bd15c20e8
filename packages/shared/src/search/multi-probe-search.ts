import { BLOCK_RECORDS, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET, OUT_OFFSET, RESUME_OFFSET, type Stride } from './kernel/kernel-layout.ts';
import type { PopcountKernel } from './kernel/popcount-kernel.ts';
import type { ScanHit } from './reference-scan.ts';
import { skipPredicate, type SkipOption } from './skip-bitmap.ts';
import { TopKCollector } from './top-k-collector.ts';

/** One query of a multi-probe search: its own k and radius, so its own collector and threshold. */
export interface ProbeQuery {
  code: Uint8Array;
  k: number;
  /** Inclusive radius; default: the code's bit count. */
  maxDistance?: number;
}

/** What the probes of one multi-probe search share: the records scanned and skipped. */
export interface SharedScanOptions {
  skip?: SkipOption;
  recordsPerObject?: number;
  from?: number;
  to?: number;
}

/** The parts of a HammingScanner a multi-probe search reads (the scanner keeps them private). */
export interface MultiScanStore {
  kernel: PopcountKernel;
  stride: Stride;
  bits: number;
  count: number;
  distanceTo(query: Uint8Array): (record: number) => number;
}

/**
 * Exact k nearest records of each probe (up to the kernel's multiProbes of them), the same as
 * HammingScanner.search per probe, in one pass over the records: each kernel call scores a window
 * of blocks against every probe still able to improve, each probe with its own collector and
 * threshold. Windows double from `firstWindow` blocks as in the single-probe scan.
 */
export function multiProbeSearch(store: MultiScanStore, probes: ProbeQuery[], opts: SharedScanOptions, firstWindowBlocks: number): ScanHit[][] {
  const { kernel, stride, bits } = store;
  const from = Math.max(0, opts.from ?? 0);
  const to = Math.min(store.count, opts.to ?? store.count);
  const tops = probes.map((p) => new TopKCollector(p.k, p.maxDistance ?? bits, bits));
  if (from >= to) return probes.map(() => []);
  const skip = skipPredicate(opts.skip, opts.recordsPerObject);
  const offer = (top: TopKCollector, r: number, d: number) => {
    if (d <= top.threshold && !(skip && skip(r))) top.add(r, d);
  };
  const live = () => tops.some((t) => t.threshold >= 0);
  const firstBlock = Math.ceil(from / BLOCK_RECORDS);
  const endBlock = Math.floor(to / BLOCK_RECORDS);
  const headEnd = Math.min(to, firstBlock * BLOCK_RECORDS);
  const tailStart = Math.max(headEnd, endBlock * BLOCK_RECORDS);
  // Records outside whole blocks are scored in JS, as in the single-probe scan.
  const edges = (start: number, end: number) => {
    probes.forEach((p, i) => {
      const distance = store.distanceTo(p.code);
      for (let r = start; r < end && tops[i].threshold >= 0; r++) offer(tops[i], r, distance(r));
      tops[i].settle();
    });
  };
  edges(from, headEnd);
  if (firstBlock < endBlock && live()) {
    const bytes = kernel.bytes;
    bytes.fill(0, MULTI_QUERY_OFFSET, MULTI_QUERY_OFFSET + 32 * probes.length);
    probes.forEach((p, i) => bytes.set(p.code, MULTI_QUERY_OFFSET + 32 * i));
    const maxK = Math.max(...probes.map((p) => p.k));
    let window = Number.isFinite(maxK) ? Math.max(1, Math.min(firstWindowBlocks, Math.ceil((2 * maxK) / BLOCK_RECORDS))) : firstWindowBlocks;
    let block = firstBlock;
    while (block < endBlock && live()) {
      const w = kernel.words;
      tops.forEach((t, i) => (w[(MULTI_THRESHOLDS_OFFSET >> 2) + i] = t.threshold));
      const stop = Math.min(endBlock, block + window);
      const n = kernel.scanBlocksMulti(stride, probes.length, block, stop);
      const out = OUT_OFFSET >> 2;
      for (let i = 0; i < n; i++) {
        const dp = w[out + 2 * i + 1];
        offer(tops[dp >>> 16], w[out + 2 * i], dp & 0xffff);
      }
      for (const t of tops) t.settle();
      block = w[RESUME_OFFSET >> 2];
      if (block >= stop) window *= 2;
    }
  }
  edges(tailStart, to);
  return tops.map((t) => t.results());
}
