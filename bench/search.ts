/**
 * Search benchmark: linear Hamming scan (wasm / JS fallback / native C), exact k=10 vs
 * USearch HNSW, and multi-index hashing vs the linear scan. One core (single-threaded JS).
 *
 *   npm run bench:search                 # full size (~10M codes), a few minutes
 *   BENCH_SCALE=0.05 npm run bench:search  # quick run
 *
 * Prints a table per section and, last, one JSON line with the headline figures.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../packages/shared/src/util/seeded-random.ts';
import { HammingScanner, MultiIndexHash, wasmScanModule, type KernelChoice, type ScanHit } from '../packages/shared/src/search/index.ts';
import { NativeScan } from './native/native-scan.ts';
import { SplitKnn } from './knn/split-knn.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const N64 = Math.round(10_000_000 * SCALE);
const N256 = Math.round(4_000_000 * SCALE);
const N_KNN = Math.round(1_000_000 * SCALE);
const SCAN_QUERIES = 20;
const MIH_QUERIES = 200;
const KNN_QUERIES = 100;
const K = 10;
const MIH_RADIUS = 4;

const started = performance.now();
const summary: Record<string, unknown> = { scale: SCALE, load_avg_start: loadavg().map((x) => +x.toFixed(2)) };
const log = (...parts: unknown[]) => console.log(...parts);
const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** Reproducible codes, positions and flips. */
const rand = new SeededRandom(42);
const randomCodes = (count: number, codeBytes: number) => rand.bytes(count * codeBytes);

/** Copies of each query at distances 0..maxFlips written over random records (near-duplicates). */
function plant(codes: Uint8Array, count: number, codeBytes: number, queries: Uint8Array, copies: number[]): void {
  for (let q = 0; q < queries.length / codeBytes; q++) {
    for (const flips of copies) {
      codes.set(rand.flipBits(query(queries, codeBytes, q), flips), rand.below(count) * codeBytes);
    }
  }
}

const query = (queries: Uint8Array, codeBytes: number, i: number) => queries.subarray(i * codeBytes, (i + 1) * codeBytes);

/** Per-query wall times in ms of fn over the first n queries (after `warm` untimed ones). */
function time(n: number, fn: (i: number) => void, warm = 2): number[] {
  for (let i = 0; i < warm; i++) fn(i % n);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    out.push(performance.now() - t);
  }
  return out;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function scanSection(label: string, codeBytes: number, count: number, codes: Uint8Array, native: NativeScan | null) {
  log(`\n## Linear scan: ${count.toLocaleString()} x ${codeBytes * 8}-bit codes, k=${K}, one core`);
  const queries = randomCodes(SCAN_QUERIES, codeBytes);
  const kernels = [
    ['loupe wasm (auto)', 'wasm', SCAN_QUERIES],
    ['loupe wasm i8x16.popcnt', 'wasm-simd', SCAN_QUERIES],
    ['loupe wasm i64.popcnt', 'wasm-scalar', SCAN_QUERIES],
    ['loupe JS fallback', 'js', 4],
  ] as [string, KernelChoice, number][];
  const scanners = kernels.map(([, kernel]) => {
    const scanner = new HammingScanner(codeBytes, { kernel, capacity: count });
    scanner.append(codes.subarray(0, count * codeBytes));
    for (let i = 0; i < 3; i++) scanner.search(query(queries, codeBytes, i), { k: K });
    return scanner;
  });
  // Round-robin over the kernels per query, so load from other processes spreads evenly.
  const times: number[][] = kernels.map(() => []);
  for (let i = 0; i < SCAN_QUERIES; i++) {
    kernels.forEach(([, , n], j) => {
      if (i >= n) return;
      const t = performance.now();
      scanners[j].search(query(queries, codeBytes, i), { k: K });
      times[j].push(performance.now() - t);
    });
  }
  const rows: [string, number][] = kernels.map(([name], j) => [name, count / median(times[j]) / 1000]);
  const reference = scanners[0].search(query(queries, codeBytes, 0), { k: K });
  let nativeMcodes = NaN;
  let nativeNote = 'not run';
  if (native) {
    const res = native.run(codes, count, codeBytes, queries, K, 1);
    nativeMcodes = res.mcodes_per_s;
    const same = JSON.stringify(res.first) === JSON.stringify(reference.map((h) => [h.record, h.distance]));
    nativeNote = `${res.variant} loop, top-${K} ${same ? 'identical to Loupe' : 'DIFFERS from Loupe'}`;
    rows.push([`native C gcc -O3 -march=native (${nativeNote})`, nativeMcodes]);
  }
  for (const [name, mcodes] of rows) log(`${name.padEnd(64)} ${fmt(mcodes, 0).padStart(6)} Mcodes/s`);
  const loupe = rows[0][1];
  log(`ratio loupe wasm / native: ${fmt(loupe / nativeMcodes)}`);
  summary[`${label}_mcodes_per_s`] = +fmt(loupe, 1);
  summary[`${label}_simd_mcodes_per_s`] = +fmt(rows[1][1], 1);
  summary[`${label}_scalar_mcodes_per_s`] = +fmt(rows[2][1], 1);
  summary[`${label}_js_mcodes_per_s`] = +fmt(rows[3][1], 1);
  summary[`${label}_native_mcodes_per_s`] = +fmt(nativeMcodes, 1);
  summary[`${label}_ratio`] = +fmt(loupe / nativeMcodes, 3);
}

function loadUsearch(): any {
  try {
    return createRequire(import.meta.url)('usearch');
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] };
  }
}

/** Seeded codes, so the USearch index built from them can be cached across runs. */
const seededCodes = (count: number, codeBytes: number, seed: number) => new SeededRandom(seed).bytes(count * codeBytes);

async function knnSection() {
  const codeBytes = 8;
  log(`\n## Exact k=${K} over ${N_KNN.toLocaleString()} x 64-bit codes: Loupe vs USearch (HNSW, b1 hamming)`);
  const codes = seededCodes(N_KNN, codeBytes, 1234);
  const queries = seededCodes(KNN_QUERIES, codeBytes, 5678);
  const plantRand = new SeededRandom(99);
  for (let q = 0; q < KNN_QUERIES; q++) {
    for (const flips of [0, 2, 4, 6, 8]) {
      const at = plantRand.below(N_KNN) * codeBytes;
      codes.set(query(queries, codeBytes, q), at);
      for (let f = 0; f < flips; f++) codes[at + f] ^= 1 << plantRand.below(8); // one bit in each of `flips` bytes
    }
  }
  const scanner = new HammingScanner(codeBytes, { capacity: N_KNN });
  scanner.append(codes);
  const exact: ScanHit[][] = [];
  const scanMs = median(time(KNN_QUERIES, (i) => (exact[i] = scanner.search(query(queries, codeBytes, i), { k: K }))));
  log(`loupe exact scan (wasm, 1 thread)                         median ${fmt(scanMs, 3)} ms/query`);
  summary.loupe_exact_scan_ms = +fmt(scanMs, 3);

  // Exact k-NN through multi-index hashing (grows the radius until k records are within it);
  // the cost model falls back to the scan when MIH would be slower.
  const mih = MultiIndexHash.fromScanner(scanner);
  const same = (got: ScanHit[][]) => got.every((hits, i) => JSON.stringify(hits) === JSON.stringify(exact[i]));
  let mihUsed = 0;
  const mihHits: ScanHit[][] = [];
  const mihMs = median(time(KNN_QUERIES, (i) => {
    mihHits[i] = mih.search(query(queries, codeBytes, i), { k: K });
    if (mih.lastSearch?.strategy === 'mih') mihUsed++;
  }));
  const mihSame = same(mihHits);
  log(`loupe exact MIH k-NN (1 thread, cost model)                median ${fmt(mihMs, 3)} ms/query (MIH on ${mihUsed}/${KNN_QUERIES + 2}; exact: ${mihSame})`);
  summary.loupe_exact_mih_ms = +fmt(mihMs, 3);

  // The same index split in two halves over the 2 cores (main thread + 1 worker thread), merged:
  // what 2 shards on 2 searcher threads do. Each half scanned, or MIH-or-scan by cost.
  const split = new SplitKnn(codes, codeBytes);
  await split.ready();
  const splitRuns = (['scan', 'auto'] as const).map((strategy) => {
    let mihHalves = 0;
    const hits: ScanHit[][] = [];
    const ms = median(time(KNN_QUERIES, (i) => {
      hits[i] = split.search(query(queries, codeBytes, i), K, strategy);
      mihHalves += split.lastMihHalves;
    }));
    const exactSame = same(hits);
    log(`loupe exact, 2 threads (main + 1 worker, half each, ${strategy === 'scan' ? 'scan' : 'MIH/scan by cost'}) median ${fmt(ms, 3)} ms/query (MIH on ${mihHalves}/${2 * (KNN_QUERIES + 2)} halves; exact: ${exactSame})`);
    return { strategy, ms, exactSame };
  });
  await split.close();
  const splitBest = splitRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
  summary.loupe_exact_2threads_ms = +fmt(splitBest.ms, 3);
  summary.loupe_exact_identical = mihSame && splitRuns.every((r) => r.exactSame);
  const best = Math.min(scanMs, mihMs, splitBest.ms);
  summary.loupe_exact_ms = +fmt(best, 3);
  summary.loupe_exact_mode = best === splitBest.ms ? `2 threads (${splitBest.strategy} per half)` : best === mihMs ? '1 thread MIH k-NN' : '1 thread scan';

  usearchSection(codes, queries, exact, scanner);
}

/** USearch HNSW over the same codes: build (or cached index), latency, recall vs the exact scan. */
function usearchSection(codes: Uint8Array, queries: Uint8Array, exact: ScanHit[][], scanner: HammingScanner) {
  const codeBytes = 8;
  const usearch = loadUsearch();
  if (usearch.error) {
    log(`usearch did not load: ${usearch.error}`);
    summary.usearch_error = usearch.error;
    return;
  }
  // USearch's JS add/search take one byte (0/1) per dimension and pack the bits themselves.
  const bits = (c: Uint8Array, n: number) => {
    const out = new Uint8Array(n * 64);
    for (let i = 0; i < out.length; i++) out[i] = (c[i >> 3] >> (7 - (i & 7))) & 1;
    return out;
  };
  const makeIndex = () => new usearch.Index({ metric: 'hamming', dimensions: 64, quantization: 'b1', connectivity: 16 });
  // The HNSW build takes minutes at 1M on this machine, so the seeded data set's index is cached.
  const cache = join(tmpdir(), `loupe-bench-usearch-${N_KNN}-v2.usearch`);
  let index = makeIndex();
  let buildS: number | 'cached' = 'cached';
  if (existsSync(cache)) index.load(cache);
  if (index.size() === N_KNN) log(`usearch index loaded from ${cache} (built by an earlier run; delete it to rebuild)`);
  else {
    index = makeIndex();
    const keys = new BigUint64Array(N_KNN).map((_, i) => BigInt(i));
    const t = performance.now();
    index.add(keys, bits(codes, N_KNN), 0);
    buildS = +fmt((performance.now() - t) / 1000, 1);
    index.save(cache);
    log(`usearch build (add ${N_KNN.toLocaleString()}, threads=0 i.e. both cores)  ${buildS} s`);
  }
  const found: bigint[][] = [];
  const usearchMs = median(
    time(KNN_QUERIES, (i) => {
      found[i] = Array.from(index.search(bits(query(queries, codeBytes, i), 1), K, 1).keys as BigUint64Array);
    }),
  );
  // Recall@10 by id, and tie-aware (a returned record as near as the exact 10th counts).
  let byId = 0;
  let byDistance = 0;
  for (let i = 0; i < KNN_QUERIES; i++) {
    const truth = new Set(exact[i].map((h) => h.record));
    const kth = exact[i][K - 1].distance;
    const q = query(queries, codeBytes, i);
    for (const key of found[i]) {
      const r = Number(key);
      if (truth.has(r)) byId++;
      if (scanner.distance(r, q) <= kth) byDistance++;
    }
  }
  const recallId = byId / (KNN_QUERIES * K);
  const recallTie = byDistance / (KNN_QUERIES * K);
  log(`usearch search (1 thread)    median ${fmt(usearchMs, 3)} ms/query, recall@${K} ${fmt(recallId, 3)} by id, ${fmt(recallTie, 3)} tie-aware`);
  summary.usearch_ms = +fmt(usearchMs, 3);
  summary.usearch_build_s = buildS;
  summary.usearch_recall_at_10 = +fmt(recallId, 3);
  summary.usearch_recall_at_10_tie_aware = +fmt(recallTie, 3);
}

function mihSection(codes64: Uint8Array, queries: Uint8Array) {
  const codeBytes = 8;
  log(`\n## MIH vs linear scan: ${N64.toLocaleString()} x 64-bit codes, radius <= ${MIH_RADIUS}, ${MIH_QUERIES} queries with planted near-duplicates`);
  const scanner = new HammingScanner(codeBytes, { capacity: N64 });
  scanner.append(codes64);
  let t = performance.now();
  const mih = MultiIndexHash.fromScanner(scanner);
  const buildS = (performance.now() - t) / 1000;
  log(`MIH build (${mih.layout.parts} x ${mih.layout.widths[0]}-bit substrings, CSR postings)  ${fmt(buildS, 2)} s`);
  const opts = { k: 100, maxDistance: MIH_RADIUS };
  const scanHits: ScanHit[][] = [];
  const mihHits: ScanHit[][] = [];
  const strategies = new Map<string, number>();
  let candidates = 0;
  const scanMs = time(MIH_QUERIES, (i) => (scanHits[i] = scanner.search(query(queries, codeBytes, i), opts)));
  const mihMs = time(MIH_QUERIES, (i) => {
    mihHits[i] = mih.search(query(queries, codeBytes, i), opts);
    const s = mih.lastSearch!;
    strategies.set(s.strategy, (strategies.get(s.strategy) ?? 0) + 1);
    candidates += s.candidates;
  }, 0);
  const same = scanHits.every((h, i) => JSON.stringify(h) === JSON.stringify(mihHits[i]));
  const hitsPerQuery = scanHits.reduce((n, h) => n + h.length, 0) / MIH_QUERIES;
  const speedup = median(scanMs) / median(mihMs);
  log(`linear scan  median ${fmt(median(scanMs), 3)} ms/query`);
  log(`MIH          median ${fmt(median(mihMs), 3)} ms/query (${[...strategies].map(([k, v]) => `${k}:${v}`).join(' ')}; ${fmt(candidates / MIH_QUERIES, 0)} candidates/query; ${fmt(hitsPerQuery, 1)} hits/query)`);
  log(`speedup ${fmt(speedup, 1)}x, results identical: ${same}`);
  // k-NN through MIH: k=5 is answered by the planted copies; k=10 needs far random codes.
  for (const k of [5, 10]) {
    const used = new Map<string, number>();
    const ms = median(time(50, (i) => {
      mih.search(query(queries, codeBytes, i), { k });
      used.set(mih.lastSearch!.strategy, (used.get(mih.lastSearch!.strategy) ?? 0) + 1);
    }, 0));
    log(`MIH k-NN k=${k} (auto)  median ${fmt(ms, 3)} ms/query (${[...used].map(([s, v]) => `${s}:${v}`).join(' ')})`);
    summary[`mih_knn${k}_ms`] = +fmt(ms, 3);
  }
  summary.mih_build_s = +fmt(buildS, 2);
  summary.mih_scan_ms = +fmt(median(scanMs), 3);
  summary.mih_ms = +fmt(median(mihMs), 4);
  summary.mih_speedup = +fmt(speedup, 1);
  summary.mih_identical = same;
}

log(`# Loupe search benchmark — BENCH_SCALE=${SCALE}, node ${process.version}, ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other processes on the 2 cores make figures noisy)`);

// Compile (and warm) the wasm module first: V8 re-compiles it with TurboFan in the background
// while the data sets are generated, as a searcher's would while it loads its shard.
wasmScanModule();
const native = new NativeScan();
const compileError = native.compile();
if (compileError) log(`native baseline unavailable: ${compileError}`);

// 64-bit data set: random codes plus near-duplicates of the MIH queries (used by every 64-bit section).
const codes64 = randomCodes(N64, 8);
const mihQueries = randomCodes(MIH_QUERIES, 8);
plant(codes64, N64, 8, mihQueries, [0, 1, 2, 3, 4]);
scanSection('scan64', 8, N64, codes64, compileError ? null : native);
{
  const codes256 = randomCodes(N256, 32);
  scanSection('scan256', 32, N256, codes256, compileError ? null : native);
}
native.dispose();
mihSection(codes64, mihQueries);
await knnSection();

summary.scan_mcodes_per_s = summary.scan64_mcodes_per_s;
summary.native_mcodes_per_s = summary.scan64_native_mcodes_per_s;
summary.ratio = summary.scan64_ratio;
summary.load_avg_end = loadavg().map((x) => +x.toFixed(2));
summary.total_s = +fmt((performance.now() - started) / 1000, 1);
log(`\ntotal ${summary.total_s} s`);
const ordered = Object.fromEntries(
  ['scan_mcodes_per_s', 'native_mcodes_per_s', 'ratio', 'mih_speedup', 'usearch_ms', 'loupe_exact_ms'].filter((k) => k in summary).map((k) => [k, summary[k]]),
);
console.log(JSON.stringify({ ...ordered, ...summary }));
