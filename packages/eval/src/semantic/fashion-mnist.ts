/**
 * Fashion-MNIST semantic retrieval benchmark: database = 60k train images, queries = 10k test
 * images, relevant = same class. Descriptors come from the frozen backbone (28x28 grey -> RGB,
 * upsampled to --side: 224 by default, the side a global view is forwarded at in the product — a
 * 7x7 map; 112 gives a 4x4 map at 1/4 the cost and ~0.8 points less mAP), cached under the data-set dir; heads (LSH, PCA+ITQ, CSQ) are trained on
 * the database side. --grid 2 (default) keeps the layout: the map's 2x2 parts pooled and
 * normalised side by side (DescriptorConfig.grid), CSQ with one first-layer block per part;
 * --grid 1 is the plain global descriptor. Prints a table; the last line is one JSON object.
 *
 *   npx tsx packages/eval/src/semantic/fashion-mnist.ts [--side 224] [--grid 2] [--bits 16,32,64]
 *       [--methods lsh,itq,csq] [--workers 2] [--queries N] [--epochs N] [--hidden 1024|none] [--dropout R] [--invert]
 */
import { fork } from 'node:child_process';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { concatNormalized, createLogger, initRuntime, initTf, NsfwjsMobileNetBackbone } from '@loupe/shared';
import type { DescriptorTrainMethod } from '@loupe/train';
import { FeatureCache } from './feature-cache.ts';
import { loadFashionMnist, type GreyImageSet } from './fashion-mnist-dataset.ts';
import { GreyFeatureExtractor } from './grey-feature-extractor.ts';
import { runSemanticBenchmark, type SemanticResult } from './semantic-benchmark.ts';

const USAGE = `usage: loupe eval --semantic [--side 224] [--grid 2] [--bits 16,32,64] [--methods lsh,itq,csq] [--workers N]
                          [--queries N] [--epochs N] [--hidden 1024|none] [--dropout R] [--invert] [--seed N]

Fashion-MNIST semantic retrieval (database = 60k train, queries = 10k test): mAP, 11-point mAP and
precision within Hamming radius 2 per head and bit length; features cached under the data-set dir.`;

const { values: v } = parseCommandLine({
  options: {
    side: { type: 'string', default: '224' },
    grid: { type: 'string', default: '2' },
    invert: { type: 'boolean', default: false },
    bits: { type: 'string', default: '16,32,64' },
    methods: { type: 'string', default: 'lsh,itq,csq' },
    workers: { type: 'string', default: '1' },
    worker: { type: 'string' },
    queries: { type: 'string' },
    epochs: { type: 'string' },
    hidden: { type: 'string' },
    dropout: { type: 'string' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h' },
  },
});

/** parseArgs, with usage on --help and on a bad option instead of a stack trace. */
function parseCommandLine<T extends ParseArgsConfig>(config: T) {
  try {
    const parsed = parseArgs(config);
    if ((parsed.values as { help?: boolean }).help) {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    return parsed;
  } catch (e) {
    process.stderr.write(`loupe eval --semantic: ${(e as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

/** Width of the backbone's descriptor (NsfwjsMobileNetBackbone.dim), known before it loads. */
const BACKBONE_DIM = 1792;
const side = Number(v.side);
const grid = Number(v.grid);
const log = (line: string) => process.stderr.write(line + '\n');
const logger = createLogger('eval', 'warn');

async function main(): Promise<void> {
  const data = await loadFashionMnist();
  const all = concat(data.train, data.test);
  const name = `features-${side}${v.invert ? '-inv' : ''}${grid > 1 ? `-g${grid}` : ''}`;
  const cache = new FeatureCache(data.dir, name, all.count, grid * grid * BACKBONE_DIM);

  if (v.worker) {
    const [k, n] = v.worker.split('/').map(Number);
    await extract(cache, all, k, n);
    return;
  }
  const t0 = performance.now();
  if (!cache.complete()) {
    const workers = Math.max(1, Number(v.workers));
    log(`extracting ${all.count} descriptors at ${side}px with ${workers} process(es) -> ${cache.file}`);
    const children = Array.from({ length: workers - 1 }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const child = fork(process.argv[1], [...process.argv.slice(2), '--worker', `${i + 1}/${workers}`], { execArgv: process.execArgv });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`feature worker ${i + 1} exited with ${code}`))));
      }),
    );
    await extract(cache, all, 0, workers);
    await Promise.all(children);
    cache.join();
  }
  const extractS = (performance.now() - t0) / 1000;
  const feats = grid > 1 ? normalizeParts(cache.load(), grid * grid) : cache.load();
  const dim = cache.dim;
  const nTrain = data.train.count;
  const nQuery = Math.min(data.test.count, Number(v.queries ?? data.test.count));
  const db = { x: { rows: nTrain, dim, data: feats.subarray(0, nTrain * dim) }, labels: data.train.labels };
  const queries = { x: { rows: nQuery, dim, data: feats.subarray(nTrain * dim, (nTrain + nQuery) * dim) }, labels: data.test.labels.subarray(0, nQuery) };

  const { tf, backend } = await initTf(logger);
  log(`database ${nTrain}, queries ${nQuery}, descriptors ${dim}-d at ${side}px (${extractS.toFixed(0)} s to extract/load), backend ${backend}`);
  const results = runSemanticBenchmark(tf, db, queries, {
    bits: v.bits.split(',').map(Number),
    methods: v.methods.split(',') as DescriptorTrainMethod[],
    seed: Number(v.seed),
    epochs: v.epochs ? Number(v.epochs) : undefined,
    dropout: v.dropout ? Number(v.dropout) : undefined,
    inputBlocks: grid * grid,
    hidden: v.hidden === undefined ? undefined : v.hidden === 'none' ? [] : v.hidden.split(',').map(Number),
    onResult: (r) => log(`  ${r.method} ${r.bits}b: mAP ${r.map.toFixed(4)}, 11-pt ${r.map11.toFixed(4)}, P@r2 ${r.precisionAtRadius.toFixed(4)} (train ${r.trainS.toFixed(1)} s)`),
    onProgress: (line) => logger.debug(line),
  });
  printTable(results);
  const summary = {
    benchmark: 'fashion-mnist-semantic',
    side,
    grid,
    invert: v.invert,
    database: nTrain,
    queries: nQuery,
    backbone: NsfwjsMobileNetBackbone.ID,
    results: results.map((r) => ({ method: r.method, bits: r.bits, map: round(r.map), map11: round(r.map11), pAtR2: round(r.precisionAtRadius), trainS: round(r.trainS) })),
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

/** This process's share of the missing chunks. */
async function extract(cache: FeatureCache, set: GreyImageSet, worker: number, workers: number): Promise<void> {
  const todo = cache.complete() ? [] : cache.missingChunks(worker, workers);
  if (todo.length === 0) return;
  const { tf } = await initTf(logger);
  const runtime = await initRuntime(undefined, logger);
  const extractor = new GreyFeatureExtractor(tf, await runtime.loadBackbone(NsfwjsMobileNetBackbone.ID));
  for (const c of todo) {
    const [from, to] = cache.chunkRange(c);
    const t0 = performance.now();
    cache.writeChunk(c, await extractor.describe(set, from, to, { side, invert: v.invert, grid }));
    log(`  [worker ${worker}] chunk ${c + 1}/${cache.chunks}: ${(((performance.now() - t0) / (to - from)) | 0) || '<1'} ms/image`);
  }
}

/** Rows of `parts` raw part means -> the extractor's grid descriptor (concatNormalized), in place. */
function normalizeParts(rows: Float32Array, parts: number): Float32Array {
  const width = parts * BACKBONE_DIM;
  for (let o = 0; o < rows.length; o += width) {
    const row = rows.subarray(o, o + width);
    row.set(concatNormalized(Array.from({ length: parts }, (_, p) => row.subarray(p * BACKBONE_DIM, (p + 1) * BACKBONE_DIM))));
  }
  return rows;
}

function concat(a: GreyImageSet, b: GreyImageSet): GreyImageSet {
  const pixels = new Uint8Array(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels);
  labels.set(b.labels, a.count);
  return { count: a.count + b.count, side: a.side, pixels, labels };
}

function printTable(results: SemanticResult[]): void {
  const head = ['method', 'bits', 'mAP', '11-pt mAP', 'P@r<=2', 'train s'];
  const rows = results.map((r) => [r.method, String(r.bits), r.map.toFixed(4), r.map11.toFixed(4), r.precisionAtRadius.toFixed(4), r.trainS.toFixed(1)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i])).join('  ') + '\n';
  process.stdout.write(line(head) + line(w.map((n) => '-'.repeat(n))) + rows.map(line).join(''));
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

main().catch((e) => {
  process.stderr.write(`fashion-mnist: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
