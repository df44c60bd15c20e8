/**
 * The upkeep's own rate: N objects written straight into a fresh redis-server beside a running
 * query service (its mirrors follow every write), twice: without group upkeep, and with it (a
 * loupe-groups job per object, as the indexer queues them, run by the query service's worker: one
 * search per object). Objects: the bundled samples, a resized copy and a crop of each, encoded with
 * the default model and written through the indexer's IndexerService; the rest synthetic codes
 * written through its ShardRepository, one in ten a near copy (2% of its bits flipped) of the one
 * before it, so groups form there too. With upkeep the time runs until the last object is grouped
 * (the groups queue drained). No CNN: the baseline is Redis writes alone. Then the whole report
 * (every page of GET /v1/duplicates) is read.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import {
  bytesToHex, createQueue, createLogger, DEFAULT_MODEL, ensureIndexLayout, levelCodeBytes, levelSizes, loadConfig, loadHashModel, pendingJobs,
  prepareImage, QueueNames, REPO_ROOT, shardOf, ShardKeys, type GroupJob, type IndexJob, type IndexLayout,
} from '../../packages/shared/src/index.ts';
import { IndexerService } from '../../services/indexer/src/indexer.service.ts';
import { ShardRepository } from '../../services/indexer/src/repository/shard.repository.ts';
import { startQuery } from '../../services/query/src/index.ts';
import type { DuplicateGroup } from '../../services/query/src/groups/group-builder.ts';
import { freePort, startRedis } from '../../test/support/redis-server.ts';

const IN_FLIGHT = 64;
const log = createLogger('bench', 'warn');

/** The samples, a 60% copy and a middle crop of each, as index jobs of the default model. */
export async function realJobs(): Promise<{ layout: Omit<IndexLayout, 'shards'>; jobs: IndexJob[] }> {
  const model = await loadHashModel(DEFAULT_MODEL);
  const dir = path.join(REPO_ROOT, 'samples');
  const jobs: IndexJob[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.jpg'))) {
    const file = path.join(dir, f);
    const { width: w, height: h } = await sharp(file).metadata();
    const variants: [string, Buffer][] = [
      [f, await sharp(file).toBuffer()],
      [`copies/${f}`, await sharp(file).resize(Math.round(w! * 0.6)).jpeg().toBuffer()],
      [`crops/${f}`, await sharp(file).extract({ left: Math.round(w! * 0.25), top: Math.round(h! * 0.25), width: Math.round(w! / 2), height: Math.round(h! / 2) }).jpeg().toBuffer()],
    ];
    for (const [key, bytes] of variants) {
      const img = await prepareImage(bytes, { maxBytes: 1e9, maxPixels: 1e9 }, model.plan);
      const [codes] = await model.encode([{ image: img.canonical.toString('base64'), width: img.width, height: img.height, views: img.views }]);
      jobs.push({ op: 'upsert', key: `real/${key}`, etag: 'e', width: img.width, height: img.height, model: model.id, bits: model.bits, bytes: bytes.length,
        views: codes.map((c) => ({ level: c.level, index: c.index, box: c.box, code: bytesToHex(c.code) })) });
    }
  }
  return { layout: { bits: model.bits, plan: model.plan, model: model.id }, jobs };
}

interface RunResult { indexS: number; doneS: number; reportS?: number; groups?: number }

async function run(N: number, layout: IndexLayout, real: IndexJob[], withGroups: boolean): Promise<RunResult> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const SHARDS = layout.shards;
  const config = loadConfig({ REDIS_URL: server.url, LOUPE_SHARDS: String(SHARDS), LOUPE_QUERY_PORT: String(await freePort()), LOUPE_LOG_LEVEL: 'warn', LOUPE_VERIFY_FROM_SOURCE: 'false', LOUPE_QUERY_WORKERS: '1' });
  await ensureIndexLayout(redis, layout);
  const query = await startQuery(config, { logger: log });
  const base = `http://127.0.0.1:${query.port}`;
  while ((await fetch(`${base}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
  const groups = createQueue<GroupJob>(QueueNames.groups, config, redis);
  const repos = Array.from({ length: SHARDS }, (_, s) => new ShardRepository(redis, new ShardKeys(s)));
  const indexer = new IndexerService(layout, repos, log);
  const sizes = levelSizes(layout).map((n, l) => n * levelCodeBytes(layout, l));
  const total = sizes.reduce((a, b) => a + b, 0);
  try {
    const t0 = performance.now();
    let next = 0;
    let previous = new Uint8Array(total);
    const worker = async () => {
      for (let i = next++; i < N; i = next++) {
        let key: string;
        let size = { width: 4000, height: 3000 };
        if (i < real.length) {
          const job = real[i] as Extract<IndexJob, { op: 'upsert' }>;
          await indexer.handle(job);
          key = job.key;
          size = job;
        } else {
          key = `synthetic/${String(i).padStart(8, '0')}.jpg`;
          const codes = new Uint8Array(total);
          if (i % 10 === 0) for (let j = 0; j < total; j++) codes[j] = previous[j] ^ (Math.random() < 0.02 ? 1 << ((Math.random() * 8) | 0) : 0);
          else for (let j = 0; j < total; j++) codes[j] = (Math.random() * 256) | 0;
          previous = codes;
          let at = 0;
          await repos[shardOf(key, SHARDS)].upsert({ key, etag: createHash('md5').update(key).digest('hex'), width: 4000, height: 3000, levels: sizes.map((n) => codes.slice(at, (at += n))) });
        }
        if (withGroups) await groups.add('upsert', { op: 'upsert', key, width: size.width, height: size.height, bytes: 1_000_000 }, { delay: 1000 });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const indexS = (performance.now() - t0) / 1000;
    if (!withGroups) return { indexS, doneS: indexS };
    const states = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
    while (pendingJobs(await groups.getJobCounts(...states))) await new Promise((r) => setTimeout(r, 250));
    const doneS = (performance.now() - t0) / 1000;
    const report = await readReport(base, N <= real.length);
    return { indexS, doneS, reportS: report.seconds, groups: report.groups };
  } finally {
    await groups.close();
    await query.close();
    redis.disconnect();
    await server.stop();
  }
}

export interface UpkeepRate {
  objects: number;
  realObjects: number;
  groups: number;
  writesPerS: number;
  upkeepPerS: number;
  /** The writes' own rate while the upkeep shares the cores with them, over their rate alone. */
  writesBesideUpkeep: number;
  reportS: number;
}

/** Both runs at N objects into `shards` shards; prints a line for each. */
export async function measureUpkeepRate(N: number, shards: number): Promise<UpkeepRate> {
  const { layout: l, jobs } = await realJobs();
  const layout: IndexLayout = { ...l, shards };
  const without = await run(N, layout, jobs, false);
  console.log(`  writes alone: ${without.indexS.toFixed(1)} s (${Math.round(N / without.indexS)} objects/s)`);
  const withG = await run(N, layout, jobs, true);
  console.log(`  with upkeep:  written in ${withG.indexS.toFixed(1)} s, grouped by ${withG.doneS.toFixed(1)} s (${Math.round(N / withG.doneS)} objects/s), ${withG.groups} groups; full report read in ${withG.reportS!.toFixed(2)} s`);
  return {
    objects: N, realObjects: jobs.length, groups: withG.groups!, writesPerS: N / without.doneS, upkeepPerS: N / withG.doneS,
    writesBesideUpkeep: without.indexS / withG.indexS, reportS: withG.reportS!,
  };
}

/** Reads every page of GET /v1/duplicates; `print`: each group's members too. */
export async function readReport(base: string, print = false): Promise<{ seconds: number; groups: number }> {
  const r0 = performance.now();
  let cursor: string | null = null;
  let groups = 0;
  do {
    const page: { groups: DuplicateGroup[]; nextCursor: string | null } = await (await fetch(`${base}/v1/duplicates?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
    groups += page.groups.length;
    if (print) for (const g of page.groups) console.log(`  ${g.original.key}: ${g.members.map((m) => `${m.key} ${m.relation} ${m.score}`).join(', ')}`);
    cursor = page.nextCursor;
  } while (cursor);
  return { seconds: (performance.now() - r0) / 1000, groups };
}
