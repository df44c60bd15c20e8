/**
 * Duplicate-group upkeep benchmark.
 *  1. What it costs a bucket's indexing (the target): `loupe start` indexes BENCH_IMAGES (600) real
 *     photos (the data set's at 1.5 MP, then resized and cropped copies: groups form) into an index
 *     already holding BENCH_N (100,000) filler images, without and with upkeep, BENCH_ROUNDS (2)
 *     times each, alternated (pipeline-ratio.ts). `ratio` = images indexed a second with upkeep /
 *     without; `ratio_until_grouped` counts until the last object is grouped too.
 *  2. The upkeep's own rate, without a CNN (upkeep-rate.ts): BENCH_N objects written straight into
 *     Redis (one in ten a near copy: ~N/10 groups), the writes alone against the writes with the
 *     upkeep keeping up; then the full report read (`report_s`).
 *
 *   npm run bench:duplicates
 *   BENCH_N=10000 BENCH_IMAGES=120 BENCH_ROUNDS=1 npm run bench:duplicates
 *   BENCH_PARTS=upkeep BENCH_N=60 npm run bench:duplicates   # the samples alone, their groups printed
 *
 * Prints every run and, last, one JSON line.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePhotoFolder } from '../support/loupe-start-run.ts';
import { measurePipelineRatio, type PipelineRatio } from './pipeline-ratio.ts';
import { measureUpkeepRate, type UpkeepRate } from './upkeep-rate.ts';

const N = Number(process.env.BENCH_N ?? 100_000);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const UPKEEP_SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const PARTS = (process.env.BENCH_PARTS ?? 'pipeline,upkeep').split(',');
const load = () => os.loadavg().map((x) => +x.toFixed(2));
const round = (x: number | undefined, d = 3) => (x === undefined ? null : +x.toFixed(d));

const loadStart = load();
console.log(`# Loupe duplicate-group upkeep benchmark — ${N.toLocaleString()} indexed objects, default model`);
console.log(`load average at start: ${loadStart.join(' ')} (${os.availableParallelism()} cores, shared with other processes)`);

let pipeline: PipelineRatio | undefined;
if (PARTS.includes('pipeline')) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-duplicates-'));
  try {
    const staged = path.join(tmp, 'photos');
    mkdirSync(staged);
    const images = await writePhotoFolder(staged, IMAGES, 1.5);
    console.log(`\n1. indexing ${images} photos with \`loupe start\` (2 encoders) into ${N.toLocaleString()} indexed filler images, upkeep off (baseline) and on, ${ROUNDS} round(s)`);
    pipeline = await measurePipelineRatio(staged, images, N, ROUNDS);
    console.log(`  => indexed ${pipeline.baselinePerS.toFixed(2)} images/s without upkeep, ${pipeline.withUpkeepPerS.toFixed(2)} with: ratio ${pipeline.ratio.toFixed(3)} (target >= 0.85); until the last object is grouped too: ${pipeline.ratioUntilGrouped.toFixed(3)} (groups at most ${pipeline.groupsLagS.toFixed(1)} s behind the index)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let upkeep: UpkeepRate | undefined;
if (PARTS.includes('upkeep')) {
  console.log(`\n2. the upkeep's own rate: ${N.toLocaleString()} objects written straight into Redis (no CNN), ${UPKEEP_SHARDS} shards, without and with upkeep`);
  upkeep = await measureUpkeepRate(N, UPKEEP_SHARDS);
  console.log(`  => upkeep ${upkeep.upkeepPerS.toFixed(0)} objects/s against ${upkeep.writesPerS.toFixed(0)} plain writes/s (${(upkeep.upkeepPerS / upkeep.writesPerS).toFixed(3)})`);
}

const withUpkeep = pipeline?.runs.filter((r) => r.groups) ?? [];
console.log(JSON.stringify({
  bench: 'duplicates',
  objects: N,
  images: pipeline?.runs[0]?.images ?? null,
  rounds: ROUNDS,
  ratio: round(pipeline?.ratio),
  target_ratio: 0.85,
  ratio_until_grouped: round(pipeline?.ratioUntilGrouped),
  groups_lag_s: round(pipeline?.groupsLagS, 1),
  baseline_images_per_s: round(pipeline?.baselinePerS, 2),
  with_upkeep_images_per_s: round(pipeline?.withUpkeepPerS, 2),
  query_cpu_ms_per_image: withUpkeep.length ? Object.fromEntries(pipeline!.runs.map((r) => [r.groups ? 'upkeep_on' : 'upkeep_off', r.cpuMsPerImage.query])) : null,
  report_s: round(upkeep?.reportS),
  report_groups: upkeep?.groups ?? null,
  upkeep_objects_per_s: round(upkeep?.upkeepPerS, 1),
  plain_writes_per_s: round(upkeep?.writesPerS, 1),
  writes_beside_upkeep: round(upkeep?.writesBesideUpkeep),
  load_avg_start: loadStart,
  load_avg_end: load(),
}));
process.exit(0);
