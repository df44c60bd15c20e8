import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, loadHashModel, type QueryPlan } from '@loupe/shared';
import { ROBUST_EDIT_FAMILIES } from '@loupe/train';
import { runCopyDetection, type ScoredHit } from '../copy-detection/copy-detection-benchmark.ts';
import { datasetsDir } from '../copy-detection/photo-set.ts';
import { RecallTally, round } from '../copy-detection/recall-tally.ts';
import { loadRobustImageSet } from './robust-image-set.ts';
import { buildRobustSet, DEFAULT_SIZES, type RobustQuery, type RobustSplit } from './robust-query-set.ts';
import { microAveragePrecision, operatingPoint, thresholdForPrecision, type RankedAnswer } from './precision-recall.ts';

export const ROBUST_USAGE = `usage: loupe eval --robust [--split test|tune] [--seed N] [--model URL] [--images DIR] [--cache DIR]
                         [--sources N] [--copies N] [--non-copies N] [--query-plan FILE.json]

Copy detection under edits nobody tuned for: every indexed image of the robust set (made by
npx tsx bench/datasets/robust-images.ts, from packages no shipped model trained on) plus edited
copies of some of them (hard distractors); queries are copies of the split's images, each a random
chain of 1-3 edits with random parameters, and edited images that are not indexed (non-copies).
Prints recall@1 and recall@10 per edit family and per chain length, micro-average precision and the
precision and recall of the hits marked as matches, for Loupe, a 64-bit pHash and the float global
descriptor; then one JSON line. Tune on --split tune (the default split, test, is for reporting).`;

/** Recall is tallied per edit family (a query counts for each family in its chain), per chain length, and for tiny crops. */
function tallyKeys(q: RobustQuery): string[] {
  return [...q.families, q.transform, ...(q.cropArea <= 0.05 ? ['crop<=5%'] : []), 'all'];
}

export async function runRobustCli(args: string[], defaults: { model: string }): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      robust: { type: 'boolean', default: true },
      split: { type: 'string', default: 'test' },
      seed: { type: 'string', default: '1' },
      model: { type: 'string', default: defaults.model },
      images: { type: 'string', default: path.join(datasetsDir(), 'robust') },
      cache: { type: 'string', default: path.join(datasetsDir(), 'cache', 'robust') },
      sources: { type: 'string' },
      copies: { type: 'string' },
      'non-copies': { type: 'string' },
      'query-plan': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(ROBUST_USAGE + '\n');
    return 0;
  }
  if (v.split !== 'test' && v.split !== 'tune') throw new Error(`--split must be test or tune, not "${v.split}"`);
  const split = v.split as RobustSplit;
  const int = (s: string | undefined, fallback: number) => (s === undefined ? fallback : Number.parseInt(s, 10));
  const d = DEFAULT_SIZES[split];
  const sizes = { sources: int(v.sources, d.sources), copiesPerSource: int(v.copies, d.copiesPerSource), nonCopies: int(v['non-copies'], d.nonCopies) };
  const log = (line: string) => process.stderr.write(line + '\n');
  const t0 = performance.now();
  const model = await loadHashModel(v.model!, { logger: createLogger('eval', 'warn') });
  const images = await loadRobustImageSet(v.images, v.cache);
  const set = await buildRobustSet(images, split, int(v.seed, 1), sizes);
  const copies = set.queries.filter((q) => q.source >= 0).length;
  log(`robust copy detection (${split} split, seed ${v.seed}): ${set.references.photos.length} references (${set.distractors} hard distractors), ${copies} copies + ${set.queries.length - copies} non-copies, model ${model.id}`);
  const queryPlan = v['query-plan'] ? (JSON.parse(await readFile(v['query-plan'], 'utf8')) as QueryPlan) : model.queryPlan;
  const r = await runCopyDetection({ set: set.references, queries: set.queries, model, queryPlan, cacheDir: v.cache!, querySetId: set.id, floats: 'global', log });

  const truth = (q: RobustQuery) => (q.source >= 0 ? set.references.photos[q.source].name : undefined);
  const methods: [string, ScoredHit[][]][] = [
    ['loupe', r.ranked.loupe],
    ['phash', r.ranked.phash],
    ['float_global', r.ranked.floatGlobal],
  ];
  const at1 = methods.map(([name]) => new RecallTally(`${name} recall@1`));
  const at10 = new RecallTally('loupe recall@10');
  set.queries.forEach((q, qi) => {
    const t = truth(q);
    if (t === undefined) return;
    for (const key of tallyKeys(q)) {
      methods.forEach(([, ranked], m) => at1[m].add(key, ranked[qi][0]?.key === t ? 1 : 0));
      at10.add(key, r.ranked.loupe[qi].some((h) => h.key === t) ? 1 : 0);
    }
  });
  const answers = (ranked: ScoredHit[][]): RankedAnswer[] => set.queries.map((q, qi) => ({ truth: truth(q), hits: ranked[qi] }));
  const uap = methods.map(([, ranked]) => microAveragePrecision(answers(ranked)));
  const loupeAnswers = answers(r.ranked.loupe);
  const threshold = queryPlan.match?.minScore;
  const atThreshold = threshold === undefined ? undefined : operatingPoint(loupeAnswers, threshold);
  const calibrated = thresholdForPrecision(loupeAnswers, 0.99);

  const rows = [...ROBUST_EDIT_FAMILIES, 'crop<=5%', 'chain-1', 'chain-2', 'chain-3', 'all'].filter((k) => at1[0].count(k) > 0);
  const lines = [['edit', 'n', 'Loupe r@1', 'Loupe r@10', 'pHash r@1', 'float r@1'].map((h, i) => (i ? h.padStart(11) : h.padEnd(12))).join('')];
  for (const k of rows) {
    lines.push([k.padEnd(12), String(at1[0].count(k)).padStart(11), ...[at1[0], at10, at1[1], at1[2]].map((t) => t.recall(k).toFixed(3).padStart(11))].join(''));
  }
  lines.push(`µAP: Loupe ${uap[0].toFixed(3)}, pHash ${uap[1].toFixed(3)}, float global ${uap[2].toFixed(3)}`);
  if (atThreshold) lines.push(`at the model's match threshold ${threshold}: precision ${atThreshold.precision.toFixed(4)}, recall ${atThreshold.recall.toFixed(3)} (${atThreshold.predictions} hits marked as matches)`);
  const top = operatingPoint(loupeAnswers, Math.max(...loupeAnswers.flatMap((a) => a.hits.map((h) => h.score))));
  lines.push(
    calibrated
      ? `on this split, the lowest threshold with precision >= 0.99: ${calibrated.threshold} (recall ${calibrated.recall.toFixed(3)})${split === 'test' ? ' — for information: thresholds are chosen on the tune split' : ''}`
      : `on this split no threshold reaches precision 0.99: the best-scored hits (score ${top.threshold}, ${top.predictions} of them) are right ${(top.precision * 100).toFixed(1)}% of the time`,
  );
  const seconds = (performance.now() - t0) / 1000;
  lines.push(`descriptors ${r.timings.cachedDb && r.timings.cachedQueries ? 'from cache' : `computed (db ${(r.timings.dbMs / 1000).toFixed(0)} s, queries ${(r.timings.queryMs / 1000).toFixed(0)} s)`}; ${seconds.toFixed(0)} s; load avg ${os.loadavg()[0].toFixed(2)}`);
  process.stdout.write(lines.join('\n') + '\n');
  const json = (t: RecallTally) => Object.fromEntries(rows.map((k) => [k, round(t.recall(k))]));
  process.stdout.write(
    JSON.stringify({
      bench: 'robust-copy-detection',
      split,
      seed: int(v.seed, 1),
      model: model.id,
      references: set.references.photos.length,
      distractors: set.distractors,
      copies,
      non_copies: set.queries.length - copies,
      loupe_recall_at_1: json(at1[0]),
      loupe_recall_at_10: json(at10),
      phash_recall_at_1: json(at1[1]),
      float_global_recall_at_1: json(at1[2]),
      uap: { loupe: round(uap[0]), phash: round(uap[1]), float_global: round(uap[2]) },
      ...(atThreshold ? { match: { threshold, precision: round(atThreshold.precision), recall: round(atThreshold.recall) } } : {}),
      threshold_for_precision_099: calibrated ? { threshold: calibrated.threshold, recall: round(calibrated.recall) } : null,
      seconds: Math.round(seconds),
    }) + '\n',
  );
  return 0;
}
