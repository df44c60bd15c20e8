import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, hammingDistance, initTf, loadHashModel, prepareImage, REPO_ROOT, SeededRandom, type EncodeInput, type HashHead, type HashModel, type Tf } from '@loupe/shared';
import { publishArtifact } from '../artifact/artifact-publisher.ts';
import { trainedArtifact } from '../artifact/trained-artifact.ts';
import { featureMatrix, type FeatureMatrix } from '../data/feature-matrix.ts';
import { hashRows } from '../stats/head-codes.ts';
import { CsqTrainer } from './csq-trainer.ts';
import { hashCenters } from './hash-centers.ts';

const logger = createLogger('train-test', 'silent');
const LIMITS = { maxBytes: 50 << 20, maxPixels: 100e6 };
const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');
const PER_CLASS = 6; // 4 to train on, 2 held out

/**
 * A labelled set from the fixture photos, so the test needs no downloaded data set: each photo is
 * a class; its members are random crops (55-90% of the side), some mirrored, with brightness and
 * saturation changes.
 */
async function augmentedSet(): Promise<{ inputs: EncodeInput[]; labels: number[] }> {
  const files = readdirSync(PHOTOS).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const rnd = new SeededRandom(7);
  const inputs: EncodeInput[] = [];
  const labels: number[] = [];
  for (const [cls, f] of files.entries()) {
    const bytes = readFileSync(path.join(PHOTOS, f));
    const { width, height } = await sharp(bytes).rotate().toBuffer({ resolveWithObject: true }).then((r) => r.info);
    for (let k = 0; k < PER_CLASS; k++) {
      const s = 0.55 + 0.35 * rnd.next();
      const w = Math.round(width * s);
      const h = Math.round(height * s);
      let img = sharp(bytes)
        .rotate()
        .extract({ left: rnd.below(width - w + 1), top: rnd.below(height - h + 1), width: w, height: h })
        .modulate({ brightness: 0.8 + 0.4 * rnd.next(), saturation: 0.6 + 0.8 * rnd.next() });
      if (rnd.next() < 0.5) img = img.flop();
      const p = await prepareImage(await img.jpeg({ quality: 90 }).toBuffer(), LIMITS);
      inputs.push({ image: p.canonical, width: p.width, height: p.height, views: [{ level: 0, index: 0, box: { x: 0, y: 0, w: p.width, h: p.height } }] });
      labels.push(cls);
    }
  }
  return { inputs, labels };
}

let tf: Tf;
let base: HashModel;
let train: { x: FeatureMatrix; labels: number[] };
let held: { x: FeatureMatrix; labels: number[]; inputs: EncodeInput[] };
let trainInputs: EncodeInput[];
const tmp = mkdtempSync(path.join(tmpdir(), 'loupe-csq-'));

beforeAll(async () => {
  tf = (await initTf(logger)).tf;
  base = await loadHashModel('builtin:mobilenetv2-rp64', { logger });
  const set = await augmentedSet();
  const descriptors = (await base.describe(set.inputs)).map((views) => views[0]);
  const isHeld = (i: number) => i % PER_CLASS >= PER_CLASS - 2;
  const idx = descriptors.map((_, i) => i);
  train = { x: featureMatrix(idx.filter((i) => !isHeld(i)).map((i) => descriptors[i])), labels: idx.filter((i) => !isHeld(i)).map((i) => set.labels[i]) };
  trainInputs = idx.filter((i) => !isHeld(i)).map((i) => set.inputs[i]);
  const h = idx.filter(isHeld);
  held = { x: featureMatrix(h.map((i) => descriptors[i])), labels: h.map((i) => set.labels[i]), inputs: h.map((i) => set.inputs[i]) };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('hash centres', () => {
  it('Hadamard rows for powers of two (balanced first, pairwise >= bits/2), balanced random otherwise', () => {
    const h = hashCenters(10, 16);
    expect(h.kind).toBe('hadamard');
    expect(h.minDistance).toBe(8);
    for (let c = 0; c < 10; c++) expect(h.values.subarray(c * 16, (c + 1) * 16).reduce((s, v) => s + v, 0)).toBe(0);
    const r = hashCenters(10, 24, 3);
    expect(r.kind).toBe('random');
    expect(r.minDistance).toBeGreaterThanOrEqual(6);
    for (let c = 0; c < 10; c++) expect(r.values.subarray(c * 24, (c + 1) * 24).reduce((s, v) => s + v, 0)).toBe(0);
    expect(hashCenters(40, 16).kind).toBe('random'); // more classes than the 32 Hadamard centres
  });
});

describe('CSQ on a small labelled set of real photos', () => {
  it('the training loss falls, and held-out augmentations hash next to their class centre', () => {
    const trainer = new CsqTrainer(tf, { bits: 32, hidden: [128], epochs: 40, batchSize: 16, learningRate: 1e-3 });
    const t = trainer.train(train.x, train.labels);
    expect(t.history).toHaveLength(40);
    expect(t.history[t.history.length - 1]).toBeLessThan(0.5 * t.history[0]);
    // 15 classes: chance is 1/15
    expect(centreAccuracy(trainer, t.head, held.x, held.labels)).toBeGreaterThanOrEqual(0.6);
  });

  it('grid descriptors train a block head whose exported codes fit the classes and survive the artifact', async () => {
    const extractor = base.extractor.withConfig({ ...base.descriptor, grid: 2 });
    expect(extractor.dim).toBe(4 * base.extractor.dim);
    const gridRows = async (inputs: EncodeInput[]) => featureMatrix((await base.describe(inputs, extractor)).map((views) => views[0]));
    const [x, heldX] = [await gridRows(trainInputs), await gridRows(held.inputs)];
    // 30 hidden units over 4 blocks: uneven blocks (7, 8, 7, 8) exercise the export's offsets
    const trainer = new CsqTrainer(tf, { bits: 32, hidden: [30], epochs: 40, batchSize: 16, inputBlocks: 4 });
    const t = trainer.train(x, train.labels);
    expect(t.history[t.history.length - 1]).toBeLessThan(0.5 * t.history[0]);
    // The exported block-diagonal head is the trained function: its codes land on the class centres
    // (held-out images are not the check here: these crops move content across the grid's parts,
    // which a layout-keeping descriptor is meant to notice).
    expect(centreAccuracy(trainer, t.head, x, train.labels)).toBeGreaterThanOrEqual(0.9);

    const artifact = trainedArtifact(t, { backbone: base.backbone, plan: base.plan, descriptor: extractor.config, descriptorDim: extractor.dim });
    const loaded = await loadHashModel(await publishArtifact(`file://${path.join(tmp, 'csq-grid.loupe')}`, artifact), { logger });
    expect(loaded.descriptor.grid).toBe(2);
    const served = (await loaded.encode(held.inputs)).map((views) => Buffer.from(views[0].code).toString('hex'));
    const inMemory = Array.from({ length: heldX.rows }, (_, i) => Buffer.from(t.head.hash(heldX.data.subarray(i * heldX.dim, (i + 1) * heldX.dim))).toString('hex'));
    expect(served).toEqual(inMemory);
  });

  it('an MLP head round-trips through an artifact: loadHashModel gives the in-memory codes', async () => {
    const t = new CsqTrainer(tf, { bits: 16, hidden: [32], epochs: 5, batchSize: 16 }).train(train.x, train.labels);
    expect(t.head.type).toBe('mlp-sign');
    const artifact = trainedArtifact(t, { backbone: base.backbone, plan: base.plan, descriptor: base.descriptor, descriptorDim: base.extractor.dim });
    const url = await publishArtifact(`file://${path.join(tmp, 'csq.loupe')}`, artifact);
    const loaded = await loadHashModel(url, { logger });
    expect(loaded.id).toBe(artifact.header.id);
    const served = (await loaded.encode(held.inputs)).map((views) => Buffer.from(views[0].code).toString('hex'));
    const inMemory = Array.from({ length: held.x.rows }, (_, i) => Buffer.from(t.head.hash(held.x.data.subarray(i * held.x.dim, (i + 1) * held.x.dim))).toString('hex'));
    expect(served).toEqual(inMemory);
  });
});

/** Share of rows whose code is nearest their own class centre. */
function centreAccuracy(trainer: CsqTrainer, head: HashHead, x: FeatureMatrix, labels: number[]): number {
  const centers = trainer.centers(15);
  const bits = head.bits;
  const codes = hashRows(head, x);
  let correct = 0;
  labels.forEach((label, i) => {
    const code = codes.data.subarray(i * codes.bytes, (i + 1) * codes.bytes);
    const dists = Array.from({ length: 15 }, (_, c) => hammingDistance(code, packSigns(centers.values.subarray(c * bits, (c + 1) * bits))));
    if (dists.indexOf(Math.min(...dists)) === label) correct++;
  });
  return correct / labels.length;
}

function packSigns(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length / 8);
  v.forEach((s, b) => {
    if (s > 0) out[b >> 3] |= 0x80 >> (b & 7);
  });
  return out;
}
