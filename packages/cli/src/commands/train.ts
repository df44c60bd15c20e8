import { parseArgs } from 'node:util';
import path from 'node:path';
import { createLogger, createObjectSource, imageLimits, loadConfig, loadHashModel, initTf, type LoupeConfig } from '@loupe/shared';
import { isCandidateKey } from '@loupe/ingest';
import {
  bitBalance,
  CopyPairSetService,
  encodeRows,
  PairTrainer,
  Labeler,
  publishArtifact,
  trainedArtifact,
  trainHead,
  TrainingSetService,
  TRAIN_BITS,
  TRAIN_METHODS,
  type FeatureMatrix,
  type TrainedHead,
  type TrainMethod,
} from '@loupe/train';

const USAGE = `usage: loupe train [--source URL] [--sample N] [--method itq|lsh|csq|pairs] [--bits 16|32|64|128|256]
                   [--labels prefix|<manifest>] [--out PATH|file:///...|s3://bucket/key] [--name NAME]
                   [--views all|global] [--grid 1|2|3|4] [--epochs N] [--hidden 1024|none] [--whiten 0..1] [--keep-best] [--seed N] [--json]

Samples up to --sample images from --source (default LOUPE_SOURCE), describes their views with the
descriptor pipeline of LOUPE_MODEL, trains a hash head and writes a model artifact for LOUPE_MODEL.
--method pairs: a head trained on augmented copies of the sampled images (crops, recolouring, JPEG,
text, ...) so that a copy's query views land near the views that hold it (copy detection); each
epoch prints recall of the copies of held-out images (10%) among every sampled view.
--keep-best (pairs): keep the epoch with the best held-out recall, for a bucket that grows after
training (the head then favours images it has not seen over the ones it trained on).
--labels prefix: label = first folder of the key; --labels FILE: JSON {"key":"label"} or "key,label" lines.
--grid N: layout-keeping descriptors (each view pooled in N x N parts, side by side) for supervised
heads on kinds that differ in shape; csq then trains one block of its first layer per part.
--whiten W (itq): scale each principal direction by eigenvalue^(-W/2) before the rotation.`;

/** `loupe train`: sample -> describe -> fit head -> write artifact, then a short summary. */
export async function runTrain(config: LoupeConfig, args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      source: { type: 'string' },
      sample: { type: 'string', default: '500' },
      method: { type: 'string', default: 'itq' },
      bits: { type: 'string', default: '64' },
      labels: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      views: { type: 'string', default: 'all' },
      grid: { type: 'string' },
      epochs: { type: 'string' },
      hidden: { type: 'string' },
      whiten: { type: 'string' },
      'keep-best': { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const fail = (msg: string) => {
    process.stderr.write(`loupe train: ${msg}\n\n${USAGE}\n`);
    return 2;
  };
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const method = v.method as TrainMethod;
  if (!TRAIN_METHODS.includes(method)) return fail(`--method must be one of ${TRAIN_METHODS.join(', ')}`);
  const bits = Number(v.bits);
  if (!(TRAIN_BITS as readonly number[]).includes(bits)) return fail(`--bits must be one of ${TRAIN_BITS.join(', ')}`);
  const sample = Number(v.sample);
  if (!Number.isInteger(sample) || sample < 2) return fail('--sample must be an integer >= 2');
  if (method === 'csq' && !v.labels) return fail('--method csq needs --labels prefix or --labels <manifest>');
  if (v.views !== 'all' && v.views !== 'global') return fail('--views must be all or global');
  const hidden = v.hidden === undefined ? undefined : v.hidden === 'none' || v.hidden === '' ? [] : v.hidden.split(',').map(Number);
  if (hidden?.some((h) => !Number.isInteger(h) || h < 1)) return fail('--hidden must be "none" or comma-separated layer widths');
  const grid = v.grid === undefined ? undefined : Number(v.grid);
  if (grid !== undefined && !(Number.isInteger(grid) && grid >= 1 && grid <= 4)) return fail('--grid must be 1, 2, 3 or 4');
  if (grid && grid > 1 && hidden?.length === 0) return fail('--grid needs a hidden layer (not --hidden none)');
  if (method === 'pairs' && grid !== undefined) return fail('--grid does not apply to --method pairs (it trains on the model\'s own views)');
  const whiten = v.whiten === undefined ? undefined : Number(v.whiten);
  if (whiten !== undefined && !(whiten >= 0 && whiten <= 1)) return fail('--whiten must be a number in 0..1');
  if (whiten !== undefined && method !== 'itq') return fail('--whiten applies to --method itq');
  if (v['keep-best'] && method !== 'pairs') return fail('--keep-best applies to --method pairs');
  const cfg = v.source ? loadConfig({ ...process.env, LOUPE_SOURCE: v.source }) : config;

  const logger = createLogger('train', process.env.LOUPE_LOG_LEVEL ?? 'warn');
  const say = (line: string) => process.stderr.write(line + '\n');
  const { tf, backend } = await initTf(logger);
  const base = await loadHashModel(config.LOUPE_MODEL, { logger });
  const descriptor = grid === undefined ? base.descriptor : { ...base.descriptor, grid };
  const extractor = base.extractor.withConfig(descriptor);
  const { source, prefix } = createObjectSource(cfg);
  const labeler = !v.labels ? undefined : v.labels === 'prefix' ? Labeler.byPrefix(prefix) : await Labeler.load(v.labels, prefix);

  const t0 = performance.now();
  say(`sampling up to ${sample} images from ${cfg.LOUPE_SOURCE} (descriptors of ${base.id} on ${base.runtime}; the head trained on TF.js ${backend})`);
  const sampling = { source, prefix, sample, seed: Number(v.seed), accept: isCandidateKey, limits: imageLimits(cfg), logger };
  const onProgress = (step: number, loss: number) => logger.debug({ step, loss }, 'training');
  let set: { features: FeatureMatrix; images: number; keys: string[]; skipped: unknown[]; classNames?: string[]; rows: number };
  let train: () => TrainedHead;
  try {
    if (method === 'pairs') {
      const pairs = await new CopyPairSetService(base).collect(sampling);
      set = { ...pairs, features: pairs.database, rows: pairs.database.rows + pairs.queries.rows };
      const onEpoch = (epoch: number, loss: number, valRecall: number) => say(`epoch ${epoch + 1}: loss ${fmt(loss)}, held-out recall@1 ${pct(valRecall)}`);
      train = () => new PairTrainer(tf, { bits, seed: sampling.seed, epochs: v.epochs ? Number(v.epochs) : undefined, keepBest: v['keep-best'], onEpoch }).train(pairs);
    } else {
      const views = await new TrainingSetService(base, extractor).collect({ ...sampling, labeler: method === 'csq' ? labeler : undefined, views: v.views });
      set = { ...views, rows: views.features.rows };
      train = () =>
        trainHead(tf, views.features, {
          method,
          bits,
          labels: views.labels,
          seed: sampling.seed,
          epochs: v.epochs ? Number(v.epochs) : undefined,
          hidden,
          whiten,
          inputBlocks: (descriptor.grid ?? 1) ** 2,
          onProgress,
        });
    }
  } finally {
    await source.close();
  }
  const describeS = (performance.now() - t0) / 1000;
  say(`${set.images} images -> ${set.rows} descriptors in ${describeS.toFixed(1)} s${set.skipped.length ? `, ${set.skipped.length} skipped` : ''}`);

  const t1 = performance.now();
  const trained = train();
  const trainS = (performance.now() - t1) / 1000;
  const artifact = trainedArtifact(
    trained,
    { backbone: base.backbone, plan: base.plan, descriptor, descriptorDim: extractor.dim },
    {
      name: v.name ?? method,
      // The keys trained on let a benchmark tell seen images from unseen ones (capped: a header, not a manifest).
      meta: { source: cfg.LOUPE_SOURCE, images: set.images, descriptors: set.rows, views: v.views, classes: set.classNames, ...(set.keys.length <= MAX_KEYS_IN_META ? { trainKeys: set.keys } : {}) },
    },
  );
  const out = v.out ?? path.join(cfg.LOUPE_DATA_DIR, 'models', `${artifact.header.id}.loupe`);
  const url = await publishArtifact(out, artifact, cfg);

  const balance = bitBalance(encodeRows(tf, trained.head, set.features));
  const h = trained.history;
  const summary = {
    id: artifact.header.id,
    url,
    method,
    bits,
    images: set.images,
    descriptors: set.rows,
    classes: set.classNames?.length,
    lossFirst: h[0],
    lossLast: h[h.length - 1],
    bitOnesMin: round(balance.min),
    bitOnesMax: round(balance.max),
    distinctCodes: balance.distinct,
    describeS: round(describeS),
    trainS: round(trainS),
    ...(method === 'pairs' ? { valRecallStart: trained.meta.valRecallStart, valRecallEnd: trained.meta.valRecallEnd, keptEpoch: trained.meta.keptEpoch } : {}),
    ...(method === 'itq' ? { pcaSignLoss: trained.meta.pcaSignLoss, pcaExplainedVariance: trained.meta.pcaExplainedVariance } : {}),
  };
  if (v.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  }
  const lines = [
    `model    ${summary.id}`,
    `written  ${url}`,
    `data     ${set.images} images, ${set.rows} descriptors (${method === 'pairs' ? `${set.features.rows} views + augmented copies` : `${v.views} views`})${set.classNames ? `, ${set.classNames.length} classes` : ''}`,
    h.length ? `loss     ${fmt(h[0])} -> ${fmt(h[h.length - 1])} over ${h.length} ${method === 'itq' ? 'iterations' : 'epochs'}` : 'loss     (none: random hyperplanes)',
    ...(method === 'pairs'
      ? [`pairs    recall@1 of held-out copies ${pct(trained.meta.valRecallStart as number)} (random projection) -> ${pct(trained.meta.valRecallEnd as number)} (weights of epoch ${trained.meta.keptEpoch})`]
      : []),
    ...(method === 'itq' ? [`itq      quantisation loss ${fmt(trained.meta.pcaSignLoss as number)} (PCA sign) -> ${fmt(h[h.length - 1])}, PCA keeps ${pct(trained.meta.pcaExplainedVariance as number)} of variance`] : []),
    `bits     ones per bit ${pct(balance.min)}..${pct(balance.max)} (mean |p-0.5| ${balance.meanSkew.toFixed(3)}), ${balance.distinct} distinct codes`,
    `time     describe ${describeS.toFixed(1)} s, train ${trainS.toFixed(1)} s`,
    `use it   LOUPE_MODEL=${url}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** Sampled keys recorded in the artifact's meta up to this many. */
const MAX_KEYS_IN_META = 10_000;
const round = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => (Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(3));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
