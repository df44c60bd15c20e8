/**
 * What the upkeep costs a bucket's indexing: `loupe start` (real processes, the real CNN) indexes
 * a folder of real photos into an index that already holds N filler images (the default model's
 * layout, random codes), with LOUPE_DUPLICATE_GROUPS=false (the baseline) and =true, alternated.
 * With upkeep the time runs until the last group job is done, so it pays the upkeep's searches at
 * N images and its 1 s delay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { QueueNames } from '@loupe/shared';
import { startRedis } from '../../test/support/redis-server.ts';
import { shippedLayout, writeFillers } from '../support/filler-index.ts';
import { runLoupeStart, type LoupeStartRun } from '../support/loupe-start-run.ts';
import { readReport } from './upkeep-rate.ts';

export interface PipelineRun extends LoupeStartRun {
  groups: boolean;
  fillS: number;
  /** Groups in the report, and the seconds reading it took (with upkeep). */
  report?: { groups: number; seconds: number };
}

/** One run: a fresh Redis, N fillers, then the staged photos through `loupe start`. */
async function pipelineRun(staged: string, images: number, fillers: number, groups: boolean, tmp: string): Promise<PipelineRun> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  try {
    const fillS = await writeFillers(client, await shippedLayout(), fillers, 1);
    let report: PipelineRun['report'];
    const run = await runLoupeStart({
      redis, staged, images, encoders: 2, dataDir: path.join(tmp, 'data'),
      env: { LOUPE_DUPLICATE_GROUPS: String(groups) },
      drained: groups ? [QueueNames.groups] : [],
      atEnd: async (base) => {
        if (groups) report = await readReport(base);
      },
    });
    return { ...run, groups, fillS, report };
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

export interface PipelineRatio {
  runs: PipelineRun[];
  /** Indexing throughput (images/s to the last index job) with upkeep over without, over all rounds. */
  ratio: number;
  /** The same, with the time running until the last group job instead (the upkeep's 1 s delay and lag included). */
  ratioUntilGrouped: number;
  baselinePerS: number;
  withUpkeepPerS: number;
  /** Seconds from the last index job to the last group job, the longest of the rounds. */
  groupsLagS: number;
}

/** `rounds` pairs of runs (without, then with upkeep); prints a line per run. */
export async function measurePipelineRatio(staged: string, images: number, fillers: number, rounds: number): Promise<PipelineRatio> {
  const tmp = mkdtempSync(path.join(path.dirname(staged), 'pipeline-'));
  const runs: PipelineRun[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const groups of [false, true]) {
        const run = await pipelineRun(staged, images, fillers, groups, tmp);
        runs.push(run);
        const cpu = Object.entries(run.cpuMsPerImage).map(([k, v]) => `${k} ${v}`).join(', ');
        const grouped = groups ? ` (grouped by ${run.seconds.toFixed(1)} s)` : '';
        console.log(`  round ${r + 1}, upkeep ${groups ? 'on ' : 'off'}: indexed in ${run.indexedS.toFixed(1)} s${grouped}, ${(run.images / run.indexedS).toFixed(2)} images/s; up in ${run.startS.toFixed(1)} s; load ${run.loadAvg.toFixed(2)}; CPU ms an image: ${cpu}${run.report ? `; report: ${run.report.groups} groups in ${run.report.seconds.toFixed(3)} s` : ''}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rate = (on: boolean, seconds: (r: PipelineRun) => number) => {
    const these = runs.filter((r) => r.groups === on);
    return these.reduce((n, r) => n + r.images, 0) / these.reduce((s, r) => s + seconds(r), 0);
  };
  const indexed = (r: PipelineRun) => r.indexedS;
  return {
    runs,
    ratio: rate(true, indexed) / rate(false, indexed),
    ratioUntilGrouped: rate(true, (r) => r.seconds) / rate(false, indexed),
    baselinePerS: rate(false, indexed),
    withUpkeepPerS: rate(true, indexed),
    groupsLagS: Math.max(...runs.filter((r) => r.groups).map((r) => r.seconds - r.indexedS)),
  };
}
