/**
 * Latency of crop queries with the pixel check reading the bucket (issue 3): the whole pipeline
 * (default model) indexes samples/ from an S3 server over HTTP (fauxqs), then crop queries (10% and
 * 25% of the area, two positions each) go to two query services on the same index — one that reads
 * the 10 best candidates' images from the bucket to check their pixels (LOUPE_VERIFY_FROM_SOURCE,
 * the default), one that does not (the baseline) — in alternation: the search (tookMs: fan-out,
 * fusion, the check) and the whole request (+ decoding and the query's CNN forwards). Also times the thumbnails alone:
 * 10 candidates read from S3 and made into thumbnails by a SourceThumbnailService with nothing cached.
 *
 *   npm run bench:query
 *
 * Prints a table and, last, one JSON line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createLogger, imageLimits, loadConfig, REPO_ROOT, S3ObjectSource, SOURCE_THUMBNAIL_SIDE } from '../packages/shared/src/index.ts';
import { startQuery } from '../services/query/src/index.ts';
import { SourceThumbnailService } from '../services/query/src/source-thumbnail.service.ts';
import { startPipeline, searchBytes, waitFor } from '../test/support/pipeline.ts';
import { freePort, startRedis } from '../test/support/redis-server.ts';
import { startS3 } from '../test/support/s3-server.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const photos = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort();
const BUCKET = 'bench';

async function crop(file: string, area: number, fx: number, fy: number): Promise<Buffer> {
  const { width, height } = await sharp(file).metadata();
  const w = Math.round(width! * Math.sqrt(area));
  const h = Math.round(height! * Math.sqrt(area));
  return sharp(file)
    .extract({ left: Math.round((width! - w) * fx), top: Math.round((height! - h) * fy), width: w, height: h })
    .jpeg({ quality: 85 })
    .toBuffer();
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const redis = await startRedis();
const s3 = await startS3();
s3.createBucket(BUCKET);
for (const f of photos) await s3.put(BUCKET, f, readFileSync(path.join(SAMPLES, f)));
const env = { ...s3.env, REDIS_URL: redis.url, LOUPE_SOURCE: `s3://${BUCKET}/`, LOUPE_SHARDS: '2' };
const pipeline = await startPipeline(env);
const baselinePort = await freePort();
const baseline = await startQuery(loadConfig({ ...env, LOUPE_LOG_LEVEL: 'warn', LOUPE_QUERY_PORT: String(baselinePort), LOUPE_VERIFY_FROM_SOURCE: 'false' }));
try {
  await waitFor('every sample indexed', async () => {
    const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
    return s.indexed === photos.length && s.pending === 0;
  });
  const queries: { name: string; kind: string; bytes: Buffer }[] = [];
  for (const name of photos)
    for (const [area, kind] of [[0.1, 'crop-10'], [0.25, 'crop-25']] as const)
      for (const [fx, fy] of [[0.3, 0.4], [0.8, 0.2]]) queries.push({ name, kind, bytes: await crop(path.join(SAMPLES, name), area, fx, fy) });

  const services = { source: pipeline.base, none: `http://127.0.0.1:${baselinePort}` };
  const timings: Record<string, { first?: number; took: number[]; wall: number[]; found: number }> = {
    source: { took: [], wall: [], found: 0 },
    none: { took: [], wall: [], found: 0 },
  };
  // Two passes, the second counted: the first query of each service loads its searchers and
  // the source's thumbnails of these 20 images are cached after the first few queries.
  for (const pass of [0, 1])
    for (const q of queries)
      for (const [mode, base] of Object.entries(services)) {
        const t0 = performance.now();
        const r = await searchBytes(base, q.bytes);
        const wall = performance.now() - t0;
        if (r.status !== 200) throw new Error(`${mode}: status ${r.status} for ${q.name}`);
        const t = timings[mode];
        t.first ??= r.tookMs;
        if (pass === 1) {
          t.took.push(r.tookMs);
          t.wall.push(wall);
          if (r.hits[0]?.key === q.name) t.found++;
        }
      }

  // Thumbnails alone, nothing cached: 10 candidates read from S3 and decoded, as one query's check.
  const source = new S3ObjectSource(BUCKET, pipeline.config);
  const cold: number[] = [];
  for (let round = 0; round < 6; round++) {
    const keys = photos.slice((round * 3) % 10, ((round * 3) % 10) + 10);
    const service = new SourceThumbnailService(source, imageLimits(pipeline.config), createLogger('bench', 'silent'));
    const t0 = performance.now();
    const thumbs = await service.thumbnailsOf(keys, SOURCE_THUMBNAIL_SIDE);
    cold.push(performance.now() - t0);
    if (thumbs.some((t) => !t)) throw new Error('a thumbnail could not be made');
  }
  await source.close();

  const meanKb = photos.reduce((n, f) => n + readFileSync(path.join(SAMPLES, f)).length, 0) / photos.length / 1024;
  console.log(`# crop queries, ${queries.length} (10% and 25% crops of the ${photos.length} samples, ${meanKb.toFixed(0)} kB JPEGs on S3 over HTTP), default model, second pass`);
  console.log(`load average at start of report: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores)\n`);
  console.log('pixel check                         search: median ms   p90 ms   first query ms   request (+ encoding): median ms   source found first');
  for (const [mode, label] of [['none', 'none (baseline)'], ['source', 'candidates read from the bucket']] as const) {
    const t = timings[mode];
    console.log(`${label.padEnd(35)} ${quantile(t.took, 0.5).toFixed(0).padStart(17)} ${quantile(t.took, 0.9).toFixed(0).padStart(8)} ${String(Math.round(t.first!)).padStart(16)} ${quantile(t.wall, 0.5).toFixed(0).padStart(35)} ${`${t.found}/${queries.length}`.padStart(20)}`);
  }
  const ratio = quantile(timings.source.took, 0.5) / quantile(timings.none.took, 0.5);
  console.log(`\nmedian ratio, checked / baseline: ${ratio.toFixed(2)}x`);
  console.log(`10 thumbnails from S3, nothing cached: median ${quantile(cold, 0.5).toFixed(0)} ms (${cold.map((c) => c.toFixed(0)).join(', ')})`);
  console.log(
    JSON.stringify({
      bench: 'query',
      queries: queries.length,
      median_ms: { none: quantile(timings.none.took, 0.5), source: quantile(timings.source.took, 0.5) },
      p90_ms: { none: quantile(timings.none.took, 0.9), source: quantile(timings.source.took, 0.9) },
      request_median_ms: { none: Math.round(quantile(timings.none.wall, 0.5)), source: Math.round(quantile(timings.source.wall, 0.5)) },
      found_first: { none: timings.none.found, source: timings.source.found },
      ratio_median: +ratio.toFixed(3),
      cold_thumbnails_ms: quantile(cold, 0.5),
      load_avg_end: loadavg().map((x) => +x.toFixed(2)),
    }),
  );
} finally {
  await baseline.close();
  await pipeline.close();
  await s3.stop();
  await redis.stop();
}
