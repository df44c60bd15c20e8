/**
 * One shard of a large index, level by level: the time an image query's probes take on each searched
 * level of the default model (the same LevelCodes the shard mirrors use, random codes, one thread),
 * as the searchers run by default (the native AVX-512 scan where the CPU has it, the codes on
 * transparent huge pages) and with the WebAssembly scan, then also on ordinary pages (the
 * baselines), each in a child process of its own, alternated.
 *
 *   npm run bench:shard-levels                      # --images 62500 (a 16th of 1M), --queries 20
 *
 * Prints a table and, last, one JSON line.
 */
import { randomFillSync } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { nativePopcountScan, useHugePages, useNativeScan } from '@loupe/native';
import { DEFAULT_MODEL, defaultQueryPlan, levelSizes, shippedArtifact } from '../packages/shared/src/index.ts';
import { createLevelCodes } from '../services/query/src/searcher/scan-kernel.ts';
import { answerAsChild, resultOfChild } from './support/child-result.ts';
import { probesPerLevel } from './support/probe-plan.ts';

const CODE_BYTES = 32;
const ROUNDS = 2;

interface LevelTimes {
  /** Per searched level: views an image, probes of an image query, ms a query, ns a record and probe. */
  levels: { level: number; views: number; probes: number; ms: number; nsPerRecord: number }[];
  totalMs: number;
}

/** Searched levels of the default model and how many probes of an image query each gets. */
async function probePlan(): Promise<{ level: number; views: number; probes: number }[]> {
  const header = (await shippedArtifact(DEFAULT_MODEL)).header;
  const sizes = levelSizes(header);
  const probes = probesPerLevel(header.plan, defaultQueryPlan(header.descriptor, header.plan).views);
  return sizes.flatMap((views, level) => (probes[level] > 0 ? [{ level, views, probes: probes[level] }] : []));
}

/** In a child: fills the levels (as a mirror's load does: reserve, then chunks) and times the queries. */
async function timeLevels(images: number, queries: number): Promise<LevelTimes> {
  const levels = await probePlan();
  const codes = levels.map(({ views }) => {
    const lc = createLevelCodes(CODE_BYTES);
    lc.reserve(images * views);
    for (let r = 0; r < images * views; r += 4096 * views) lc.write(r, randomFillSync(new Uint8Array(Math.min(4096 * views, images * views - r) * CODE_BYTES)));
    return lc;
  });
  const tombstones = new Uint8Array(Math.ceil(images / 8));
  const ms = levels.map(() => 0);
  for (let q = -3; q < queries; q++) {
    levels.forEach(({ views, probes }, i) => {
      const probeCodes = Array.from({ length: probes }, () => ({ code: randomFillSync(new Uint8Array(CODE_BYTES)), k: 10 * views }));
      const t = performance.now();
      codes[i].nearestMany(probeCodes, { tombstones, recordsPerObject: views, count: images * views });
      if (q >= 0) ms[i] += performance.now() - t;
    });
  }
  const out = levels.map((l, i) => ({ ...l, ms: ms[i] / queries, nsPerRecord: (ms[i] * 1e6) / queries / (images * l.views * l.probes) }));
  return { levels: out, totalMs: out.reduce((n, l) => n + l.ms, 0) };
}

/** The searchers' default, then the baselines: each drops one part of it. */
const VARIANTS = [
  { name: 'default', label: 'default', nativeScan: true, hugePages: true },
  { name: 'wasm_scan', label: 'WebAssembly scan', nativeScan: false, hugePages: true },
  { name: 'wasm_ordinary_pages', label: '... ordinary pages', nativeScan: false, hugePages: false },
] as const;

await answerAsChild(import.meta.url, ([images, queries, variant]) => {
  const v = VARIANTS.find((x) => x.name === variant)!;
  useNativeScan(v.nativeScan);
  useHugePages(v.hugePages);
  return timeLevels(Number(images), Number(queries));
});

if (!process.send) {
  const { values: args } = parseArgs({ options: { images: { type: 'string', default: '62500' }, queries: { type: 'string', default: '20' } } });
  const images = Number(args.images);
  const loadStart = loadavg().map((x) => +x.toFixed(2));
  console.log(`# One shard, level by level: ${images.toLocaleString()} images of the default model (${DEFAULT_MODEL}), random codes, the probes of an image query, one thread`);
  console.log(`load average at start: ${loadStart.join(' ')} (2 cores shared with other processes)\n`);
  const runs = new Map<string, LevelTimes[]>(VARIANTS.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of VARIANTS) runs.get(v.name)!.push(await resultOfChild<LevelTimes>(import.meta.url, [String(images), args.queries!, v.name]));
  }
  const best = VARIANTS.map((v) => runs.get(v.name)!.reduce((a, b) => (b.totalMs < a.totalMs ? b : a)));
  const cell = (ms: number, ns?: number) => `${ms.toFixed(2)} ms${ns === undefined ? '' : ` ${ns.toFixed(2)} ns`}`.padStart(22);
  console.log(`${'level (views an image, probes)'.padEnd(34)} ${VARIANTS.map((v) => v.label.padStart(22)).join(' ')}`);
  best[0].levels.forEach((l, i) => {
    console.log(`${`level ${l.level} (${l.views}, ${l.probes})`.padEnd(34)} ${best.map((b) => cell(b.levels[i].ms, b.levels[i].nsPerRecord)).join(' ')}`);
  });
  console.log(`${'a query on this shard'.padEnd(34)} ${best.map((b) => cell(b.totalMs)).join(' ')}`);
  console.log(`(default: native AVX-512 scan where the CPU has it, huge pages; ns: a record and probe; the better of ${ROUNDS} rounds each, alternated; load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'shard-levels',
      images,
      queries: Number(args.queries),
      native_scan: nativePopcountScan() !== null,
      ...Object.fromEntries(VARIANTS.map((v, i) => [`${v.name}_ms`, round2(best[i].totalMs)])),
      levels: best[0].levels.map((l, i) => ({ level: l.level, views: l.views, probes: l.probes, ...Object.fromEntries(VARIANTS.map((v, j) => [`${v.name}_ms`, round2(best[j].levels[i].ms)])) })),
      load_avg_start: loadStart,
      load_avg_end: loadavg().map((x) => +x.toFixed(2)),
    }),
  );
}
