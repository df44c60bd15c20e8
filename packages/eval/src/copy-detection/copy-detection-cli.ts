import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadHashModel, readModelArtifact, type QueryPlan } from '@loupe/shared';
import { COPY_TRANSFORMS } from '@loupe/train';
import { runCopyDetection, type CopyDetectionResult } from './copy-detection-benchmark.ts';
import { datasetsDir, loadPhotoSet } from './photo-set.ts';
import { buildQuerySet } from './query-set.ts';
import { round, type RecallTally } from './recall-tally.ts';

export const COPY_DETECTION_USAGE = `usage: loupe eval [--model URL] [--photos DIR] [--cache DIR] [--transforms a,b] [--query-plan FILE.json]
                  [--held-out-of URL]

Copy detection on the photos data set: every decodable photo is indexed, transformed copies are the
queries; prints recall@1 per transform for Loupe (LOUPE_MODEL or --model), a 64-bit pHash and the
float descriptors, then one JSON line. Descriptors are cached under <datasets>/cache/copy-detection.
A trained model that records its training keys (loupe train) also gets recall on the queries of the
photos it did not see; --held-out-of URL takes those keys from another model (to compare on the same photos).`;

/** `loupe eval` (copy detection): prints a table and, last, one JSON object. Returns the exit code. */
export async function runCopyDetectionCli(args: string[], defaults: { model: string }): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: defaults.model },
      photos: { type: 'string', default: path.join(datasetsDir(), 'photos') },
      cache: { type: 'string', default: path.join(datasetsDir(), 'cache', 'copy-detection') },
      transforms: { type: 'string' },
      'query-plan': { type: 'string' },
      'held-out-of': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(COPY_DETECTION_USAGE + '\n');
    return 0;
  }
  const log = (line: string) => process.stderr.write(line + '\n');
  const t0 = performance.now();
  const model = await loadHashModel(v.model!, { logger: createLogger('eval', 'warn') });
  const set = await loadPhotoSet(v.photos);
  const wanted = v.transforms?.split(',');
  const transforms = wanted ? COPY_TRANSFORMS.filter((t) => wanted.includes(t.name)) : COPY_TRANSFORMS;
  const queries = await buildQuerySet(set, transforms);
  const queryPlan = v['query-plan'] ? (JSON.parse(await (await import('node:fs/promises')).readFile(v['query-plan'], 'utf8')) as QueryPlan) : undefined;
  log(`copy detection: ${set.photos.length} photos indexed (${set.skipped.length} refused), ${queries.length} queries, model ${model.id} (${model.bits} bits)`);
  // Photos a trained head saw: its own (artifact meta), or another model's, read from its header (to compare on the same photos).
  const keysOf = (meta: Record<string, unknown> | undefined) => (Array.isArray(meta?.trainKeys) ? (meta.trainKeys as string[]) : undefined);
  const other = v['held-out-of'];
  const trainedOn = keysOf(other ? (await readModelArtifact(other)).header.meta : model.meta);
  if (other && !trainedOn) throw new Error(`--held-out-of ${other}: that model records no training keys`);
  const r = await runCopyDetection({ set, queries, model, queryPlan, cacheDir: v.cache!, trainedOn, log });
  printTable(r, model.bits);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `database ${set.photos.length} photos x ${model.plan.levels.reduce((n, l) => n + l.grid * l.grid, 0)} views; ${queries.length} queries from ` +
      `${new Set(queries.map((q) => q.source)).size} photos; Loupe crop hits whose box overlaps the crop: ${(100 * r.cropBoxOverlap).toFixed(1)}%; ` +
      `descriptors ${r.timings.cachedDb && r.timings.cachedQueries ? 'from cache' : `computed (db ${(r.timings.dbMs / 1000).toFixed(0)} s, queries ${(r.timings.queryMs / 1000).toFixed(0)} s)`}; ` +
      `load avg ${os.loadavg()[0].toFixed(2)}\n`,
  );
  process.stdout.write(
    JSON.stringify({
      bench: 'copy-detection',
      model: model.id,
      bits: model.bits,
      photos: set.photos.length,
      queries: queries.length,
      loupe: r.loupe.toJson(),
      loupe_same_scene: r.loupeSameScene.toJson(),
      loupe_recall_at_10: r.loupeTop10.toJson(),
      ...(r.loupeUnseen ? { loupe_not_trained_on: r.loupeUnseen.toJson(), trained_on_photos: trainedOn!.length } : {}),
      phash: r.phash.toJson(),
      float_global: r.floatGlobal.toJson(),
      float_fused: r.floatFused!.toJson(),
      crop_box_overlap: round(r.cropBoxOverlap),
      seconds: Math.round(seconds),
    }) + '\n',
  );
  return 0;
}

function printTable(r: CopyDetectionResult, bits: number): void {
  const methods: [string, RecallTally][] = [
    [`Loupe (${bits} bits/view)`, r.loupe],
    ['pHash (64 bits)', r.phash],
    ['float, global only', r.floatGlobal],
    ['float, fused views', r.floatFused!],
    ['Loupe, same scene', r.loupeSameScene],
    ['Loupe, recall@10', r.loupeTop10],
    ...(r.loupeUnseen ? [['Loupe, not trained on', r.loupeUnseen] as [string, RecallTally]] : []),
  ];
  const transforms = r.loupe.transforms();
  const w = 26;
  const header = ['transform'.padEnd(12), 'n'.padStart(7), ...methods.map(([n]) => n.padStart(w))].join(' ');
  const lines = [header, '-'.repeat(header.length)];
  for (const t of transforms) {
    const n = `${r.loupe.count(t)}${r.loupeUnseen ? `/${r.loupeUnseen.count(t)}` : ''}`;
    lines.push([t.padEnd(12), n.padStart(7), ...methods.map(([, m]) => m.recall(t).toFixed(3).padStart(w))].join(' '));
  }
  lines.push('-'.repeat(header.length));
  lines.push(['overall', ''.padStart(7), ...methods.map(([, m]) => m.overall().toFixed(3).padStart(w))].join(' '));
  lines.push(['all queries', ''.padStart(7), ...methods.map(([, m]) => m.allQueries().toFixed(3).padStart(w))].join(' '));
  process.stdout.write(`recall@1 (overall = mean over transforms; all queries = pooled; same scene = a hit on another photo of the source's scene counts; recall@10 = the source among the first 10 hits, what re-ranking could reach)\n${lines.join('\n')}\n`);
}
