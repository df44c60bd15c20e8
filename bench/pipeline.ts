/**
 * The whole pipeline's throughput through `loupe start` (real processes: Redis, ingest, N
 * encoders, indexer, query), on a folder of real photos: the data sets' photos at ~1.5 MP, and
 * resized and cropped copies of them to reach LOUPE_BENCH_IMAGES (300). Each run gets a fresh
 * private Redis. The photos are moved into the watched folder once every service is up (models
 * loaded, searchers ready), so start-up is not counted: the time is from the first object
 * discovered (the first ingest job's creation) to the last one indexed (the last index job's
 * completion), read from the queues' own records. CPU seconds per service over that time come from
 * /proc (Linux).
 * Runs with 1 and 2 encoder processes (LOUPE_ENCODERS); the encoder-only rate is what the encoders
 * reported (their heartbeats: images and time spent in the model) in the same run — what the
 * pipeline would do if the encoders never waited or shared their cores.
 *
 *   npm run bench:pipeline
 *   env: LOUPE_DATASETS, LOUPE_BENCH_IMAGES (300), LOUPE_BENCH_MEGAPIXELS (1.5), LOUPE_BENCH_ENCODERS ("1,2")
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedis } from '../test/support/redis-server.ts';
import { runLoupeStart, writePhotoFolder, type LoupeStartRun } from './support/loupe-start-run.ts';

const wanted = Number(process.env.LOUPE_BENCH_IMAGES ?? 300);
const megapixels = Number(process.env.LOUPE_BENCH_MEGAPIXELS ?? 1.5);
const encoderCounts = (process.env.LOUPE_BENCH_ENCODERS ?? '1,2').split(',').map(Number);

interface RunResult extends Omit<LoupeStartRun, 'encoders'> {
  encoders: number;
  /** Sum over encoders of (images / time in the model): the rate if they never waited. */
  encoderOnlyImagesPerSecond: number;
}

async function run(staged: string, images: number, encoders: number, dataDir: string): Promise<RunResult> {
  const redis = await startRedis();
  try {
    const r = await runLoupeStart({ redis, staged, images, encoders, dataDir, encoderReports: true });
    if (r.encoders.length !== encoders) throw new Error(`${r.encoders.length} encoders reported, ${encoders} expected`);
    return { ...r, encoders, encoderOnlyImagesPerSecond: r.encoders.reduce((sum, e) => sum + (1000 * e.images) / e.encodeMs, 0) };
  } finally {
    await redis.stop();
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-pipeline-'));
try {
  const folder = path.join(tmp, 'photos');
  const dataDir = path.join(tmp, 'data');
  mkdirSync(folder);
  const images = await writePhotoFolder(folder, wanted, megapixels);
  console.log(`# pipeline: ${images} photos at ~${megapixels} MP (data set photos, resized and cropped copies) from a folder, \`loupe start\` on a private Redis, default model and runtime`);
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (${os.availableParallelism()} cores)\n`);
  const results: RunResult[] = [];
  for (const n of encoderCounts) {
    const r = await run(folder, images, n, dataDir);
    results.push(r);
    console.log(`${n} encoder${n === 1 ? ' ' : 's'}: ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(2)} images/s end to end; encoders alone ${r.encoderOnlyImagesPerSecond.toFixed(2)} images/s (pipeline ${(r.imagesPerSecond / r.encoderOnlyImagesPerSecond).toFixed(2)} of it); load average ${r.loadAvg.toFixed(2)}`);
    console.log(`  CPU ms an image: ${Object.entries(r.cpuMsPerImage).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const one = results.find((r) => r.encoders === 1);
  const two = results.find((r) => r.encoders === 2);
  const scaling = one && two ? two.imagesPerSecond / one.imagesPerSecond : undefined;
  if (scaling) console.log(`\nscaling 1 -> 2 encoders: ${scaling.toFixed(2)}x (target >= 1.7); pipeline / encoders alone with 2: ${(two!.imagesPerSecond / two!.encoderOnlyImagesPerSecond).toFixed(2)} (target >= 0.8)`);
  const round = (v: number | undefined) => (v === undefined ? undefined : Number(v.toFixed(2)));
  console.log(
    JSON.stringify({
      bench: 'pipeline',
      images,
      images_per_s_1_encoder: round(one?.imagesPerSecond),
      images_per_s_2_encoders: round(two?.imagesPerSecond),
      scaling: round(scaling),
      encoder_only_images_per_s: round(two?.encoderOnlyImagesPerSecond ?? one?.encoderOnlyImagesPerSecond),
      pipeline_vs_encoder_only: round(two ? two.imagesPerSecond / two.encoderOnlyImagesPerSecond : undefined),
      runs: results.map((r) => ({ ...r, seconds: round(r.seconds), startS: round(r.startS), imagesPerSecond: round(r.imagesPerSecond), encoderOnlyImagesPerSecond: round(r.encoderOnlyImagesPerSecond) })),
    }),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
