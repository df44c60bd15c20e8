import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  initTf,
  loadHashModel,
  prepareImage,
  REPO_ROOT,
  type EncodeInput,
  type HashModel,
  type Tf,
} from '@loupe/shared';
import { publishArtifact } from '../artifact/artifact-publisher.ts';
import { trainedArtifact } from '../artifact/trained-artifact.ts';
import { featureMatrix, type FeatureMatrix } from '../data/feature-matrix.ts';
import { bitBalance } from '../stats/bit-balance.ts';
import { hashRows } from '../stats/head-codes.ts';
import { ItqTrainer } from './itq-trainer.ts';
import { projectRows } from './tf-projection.ts';
import { LshTrainer } from './lsh-trainer.ts';

const logger = createLogger('train-test', 'silent');
const LIMITS = { maxBytes: 50 << 20, maxPixels: 100e6 };

async function load(dir: string): Promise<EncodeInput[]> {
  const files = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  return Promise.all(
    files.map(async (f) => {
      const p = await prepareImage(readFileSync(path.join(dir, f)), LIMITS);
      return { image: p.canonical, width: p.width, height: p.height };
    }),
  );
}

let tf: Tf;
let base: HashModel;
let x: FeatureMatrix;
let fixtures: EncodeInput[];
const tmp = mkdtempSync(path.join(tmpdir(), 'loupe-train-'));

beforeAll(async () => {
  tf = (await initTf(logger)).tf;
  base = await loadHashModel('builtin:mobilenetv2-rp64', { logger });
  // Real descriptors: every view (global, 2x2, 3x3) of the 20 bundled sample photos.
  const samples = await load(path.join(REPO_ROOT, 'samples'));
  x = featureMatrix((await base.describe(samples)).flat());
  fixtures = (await load(path.join(REPO_ROOT, 'test/fixtures/photos'))).slice(0, 3);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ITQ on real backbone descriptors', () => {
  it('lowers the quantisation loss well below PCA + sign, never raising it', () => {
    expect(x.rows).toBe(20 * 14);
    const t = new ItqTrainer(tf, { bits: 32, iterations: 30 }).train(x);
    const pcaSign = t.meta.pcaSignLoss as number;
    const itq = t.history[t.history.length - 1];
    expect(itq).toBeLessThan(0.75 * pcaSign);
    // Each alternation can only lower the loss (both steps minimise it exactly).
    for (let i = 1; i < t.history.length; i++) expect(t.history[i]).toBeLessThanOrEqual(t.history[i - 1] * (1 + 1e-4));
    expect(t.meta.pcaExplainedVariance).toBeGreaterThan(0.5);
  });

  it('gives balanced bits over the set (each bit ~50%), unlike zero thresholds on raw projections', () => {
    const itq = bitBalance(hashRows(new ItqTrainer(tf, { bits: 64, iterations: 20 }).train(x).head, x));
    expect(itq.min).toBeGreaterThanOrEqual(0.45);
    expect(itq.max).toBeLessThanOrEqual(0.55);
    expect(itq.distinct).toBeGreaterThan(0.8 * x.rows);
    const lsh = bitBalance(hashRows(new LshTrainer(tf, { bits: 64 }).train(x).head, x));
    expect(lsh.min).toBeGreaterThanOrEqual(0.45);
    const raw = bitBalance(hashRows(new LshTrainer(tf, { bits: 64, balance: false }).train(x).head, x));
    expect(raw.meanSkew).toBeGreaterThan(lsh.meanSkew);
  });

  it('whitening (--whiten 1) decorrelates what the bits threshold; plain PCA leaves the rotated projections correlated', () => {
    const correlation = (whiten: number) => {
      const head = new ItqTrainer(tf, { bits: 16, iterations: 10, whiten }).train(x).head;
      const t = (name: string) => new Float32Array(head.toSpec().tensors.find((v) => v.name === name)!.data);
      return meanOffDiagonalCorrelation(projectRows(tf, x, t('mean'), t('weight'), 16), x.rows, 16);
    };
    const whitened = correlation(1);
    expect(whitened).toBeLessThan(0.02);
    expect(correlation(0)).toBeGreaterThan(3 * whitened);
  });

  it('round-trips through an artifact file: loadHashModel gives the in-memory head\'s codes', async () => {
    const trained = new ItqTrainer(tf, { bits: 64, iterations: 10 }).train(x);
    const pipeline = { backbone: base.backbone, plan: base.plan, descriptor: base.descriptor, descriptorDim: base.extractor.dim };
    const artifact = trainedArtifact(trained, pipeline, { name: 'itq-test' });
    expect(artifact.header.id).toMatch(/^itq-test-64b-[0-9a-f]{10}$/);
    const url = await publishArtifact(path.join(tmp, 'itq.loupe'), artifact);
    const loaded = await loadHashModel(url, { logger });
    expect(loaded.id).toBe(artifact.header.id);
    expect(loaded.head.type).toBe('linear-sign');
    const served = await loaded.encode(fixtures);
    const inMemory = (await base.describe(fixtures)).map((views) => views.map((d) => Buffer.from(trained.head.hash(d)).toString('hex')));
    expect(served.map((views) => views.map((v) => Buffer.from(v.code).toString('hex')))).toEqual(inMemory);
    expect(new Set(inMemory.flat()).size).toBeGreaterThan(30);
  });
});

/** Mean |Pearson correlation| over pairs of columns of a [rows, cols] matrix. */
function meanOffDiagonalCorrelation(m: Float32Array, rows: number, cols: number): number {
  const col = (c: number) => Float64Array.from({ length: rows }, (_, r) => m[r * cols + c]);
  const centred = Array.from({ length: cols }, (_, c) => {
    const v = col(c);
    const mu = v.reduce((a, b) => a + b, 0) / rows;
    const d = v.map((x) => x - mu);
    const norm = Math.sqrt(d.reduce((a, b) => a + b * b, 0));
    return d.map((x) => x / norm);
  });
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < cols; a++)
    for (let b = a + 1; b < cols; b++) {
      sum += Math.abs(centred[a].reduce((acc, v, r) => acc + v * centred[b][r], 0));
      pairs++;
    }
  return sum / pairs;
}
