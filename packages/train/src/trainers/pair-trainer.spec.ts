import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, hammingDistance, initTf, LinearSignHead, loadHashModel, prepareImage, REPO_ROOT, seededGaussian, type HashHead, type HashModel, type Tf } from '@loupe/shared';
import { TRAINING_TRANSFORMS } from '../augment/copy-transforms.ts';
import { publishArtifact } from '../artifact/artifact-publisher.ts';
import { trainedArtifact } from '../artifact/trained-artifact.ts';
import { CopyPairSetService, iou, type CopyPairSet } from '../data/copy-pair-set.service.ts';
import type { ImageSource } from '../data/training-set.service.ts';
import { bitBalance } from '../stats/bit-balance.ts';
import { hashRows } from '../stats/head-codes.ts';
import { PairTrainer } from './pair-trainer.ts';

const logger = createLogger('train-test', 'silent');
const LIMITS = { maxBytes: 50 << 20, maxPixels: 100e6 };
const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');
const IMAGES = 8;
// Enough kinds to cover crops (regional positives) and whole-image edits (global positives).
const TRANSFORMS = TRAINING_TRANSFORMS.filter((t) => ['crop', 'jpeg-20', 'grayscale', 'text'].includes(t.name));

/** The fixture photos as a bucket (the training code reads objects through this interface). */
const fixtureSource: ImageSource = {
  async *list() {
    for (const f of readdirSync(PHOTOS).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort().slice(0, IMAGES)) yield { key: f };
  },
  async get(key) {
    return readFileSync(path.join(PHOTOS, key));
  },
};

let tf: Tf;
let model: HashModel;
let set: CopyPairSet;
const tmp = mkdtempSync(path.join(tmpdir(), 'loupe-pairs-'));

beforeAll(async () => {
  tf = (await initTf(logger)).tf;
  model = await loadHashModel('builtin:mobilenetv2-rp64', { logger });
  set = await new CopyPairSetService(model).collect({ source: fixtureSource, prefix: '', sample: IMAGES, transforms: TRANSFORMS, limits: LIMITS });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('copy pairs from real photos', () => {
  it('pairs each augmented copy with views of its own image: global for whole copies, regions for small crops', () => {
    expect(set.images).toBe(IMAGES);
    expect(set.database.rows).toBe(IMAGES * model.plan.levels.reduce((n, l) => n + l.grid * l.grid, 0));
    // 6 crops + 3 whole copies per image, each seen through one or more query views
    expect(set.queries.rows).toBeGreaterThanOrEqual(IMAGES * 9);
    const viewsPerImage = set.database.rows / IMAGES;
    let regional = 0;
    set.positives.forEach((rows, r) => {
      expect(rows.length).toBeGreaterThan(0);
      for (const j of rows) expect(set.databaseImage[j]).toBe(set.queryImage[r]);
      if (rows.some((j) => j % viewsPerImage !== 0)) regional++;
    });
    expect(regional).toBeGreaterThan(IMAGES); // small crops are paired with regions, not the global view
  });

  it('iou of boxes', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 20, w: 5, h: 5 })).toBe(0);
  });
});

describe('PairTrainer', () => {
  it('the contrastive loss falls, bits stay balanced, and copies find their image at least as often as with the random projection', () => {
    const bits = 64;
    const t = new PairTrainer(tf, { bits, epochs: 25, batchSize: 32, learningRate: 1e-3, validation: 0 }).train(set);
    expect(t.history).toHaveLength(25);
    expect(t.history[t.history.length - 1]).toBeLessThan(0.7 * t.history[0]);
    const balance = bitBalance(hashRows(t.head, set.database));
    expect(balance.min).toBeGreaterThan(0.35);
    expect(balance.max).toBeLessThan(0.65);
    // The starting point: the same Gaussian hyperplanes on mean-centred descriptors (PairTrainer's init).
    const mean = new Float32Array(t.head.toSpec().tensors.find((x) => x.name === 'mean')!.data);
    const start = new LinearSignHead(set.database.dim, mean, seededGaussian(1, bits * set.database.dim), new Float32Array(bits));
    expect(copyRecall(t.head)).toBeGreaterThanOrEqual(copyRecall(start));
    expect(copyRecall(t.head)).toBeGreaterThan(0.5);
  });

  it('keeps the weights of the epoch with the best held-out recall', () => {
    const opts = { bits: 32, epochs: 8, batchSize: 32, learningRate: 3e-3, validation: 0.25 };
    const recalls: number[] = [];
    const best = new PairTrainer(tf, { ...opts, keepBest: true, onEpoch: (_e, _l, r) => recalls.push(r) }).train(set);
    const last = new PairTrainer(tf, { ...opts, keepBest: false }).train(set);
    expect(recalls).toHaveLength(8);
    expect(best.meta.valRecallEnd).toBeCloseTo(Math.max(best.meta.valRecallStart as number, ...recalls), 4);
    expect(last.meta.keptEpoch).toBe(8);
    expect(last.meta.valRecallEnd).toBeCloseTo(recalls[7], 4);
    // The same run stopped at the kept epoch gives the same head (training is seeded).
    const kept = best.meta.keptEpoch as number;
    const stopped = new PairTrainer(tf, { ...opts, epochs: kept, keepBest: false }).train(set);
    expect(weights(best.head)).toEqual(weights(stopped.head));
  });

  it('round-trips through an artifact: the served model hashes views as the trained head does', async () => {
    const t = new PairTrainer(tf, { bits: 32, epochs: 2, validation: 0 }).train(set);
    const artifact = trainedArtifact(t, { backbone: model.backbone, plan: model.plan, descriptor: model.descriptor, descriptorDim: model.extractor.dim });
    const loaded = await loadHashModel(await publishArtifact(`file://${path.join(tmp, 'pairs.loupe')}`, artifact), { logger });
    const p = await prepareImage(await fixtureSource.get(set.keys[0]), LIMITS, loaded.plan);
    const served = (await loaded.encode([{ image: p.canonical, width: p.width, height: p.height }]))[0].map((v) => Buffer.from(v.code).toString('hex'));
    const viewsPerImage = set.database.rows / set.images;
    const inMemory = Array.from({ length: viewsPerImage }, (_, j) => Buffer.from(t.head.hash(set.database.data.subarray(j * set.database.dim, (j + 1) * set.database.dim))).toString('hex'));
    expect(served).toEqual(inMemory);
  });
});

/** Share of query rows whose nearest database code (Hamming) is a view of their own image. */
function copyRecall(head: HashHead): number {
  const db = hashRows(head, set.database);
  const q = hashRows(head, set.queries);
  let hits = 0;
  for (let r = 0; r < q.rows; r++) {
    const code = q.data.subarray(r * q.bytes, (r + 1) * q.bytes);
    let best = Infinity;
    let image = -1;
    for (let j = 0; j < db.rows; j++) {
      const d = hammingDistance(code, db.data.subarray(j * db.bytes, (j + 1) * db.bytes));
      if (d < best) [best, image] = [d, set.databaseImage[j]];
    }
    if (image === set.queryImage[r]) hits++;
  }
  return hits / q.rows;
}

const weights = (head: HashHead) => Array.from(head.toSpec().tensors.find((x) => x.name === 'weight')!.data);
