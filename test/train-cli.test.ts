import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeArtifact, hashModelFromArtifact, loadConfig, loadHashModel, REPO_ROOT, createLogger } from '@loupe/shared';
import { runTrain } from '../packages/cli/src/commands/train.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';

const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');

describe('loupe train (S3 source, prefix labels, S3 artifact, real CNN)', () => {
  let s3: TestS3;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3 = await startS3();
    s3.createBucket('photos');
    const files = readdirSync(PHOTOS).filter((f) => f.endsWith('.jpg')).sort().slice(0, 6);
    // two classes by folder, plus an unlabelled object at the root and a README that is skipped
    await Promise.all(files.map((f, i) => s3.put('photos', `set/${i % 2 ? 'odd' : 'even'}/${f}`, readFileSync(path.join(PHOTOS, f)))));
    await s3.put('photos', 'set/loose.jpg', readFileSync(path.join(PHOTOS, files[0])));
    await s3.put('photos', 'set/README.md', '# not an image');
    Object.assign(process.env, s3.env, { LOUPE_LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    process.env = saved;
    await s3?.stop();
  });

  it('samples the labelled images, trains CSQ and writes a loadable artifact to s3://', async () => {
    const config = loadConfig({ ...process.env, LOUPE_SOURCE: 's3://photos/set/' });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let code: number;
    let printed: string;
    try {
      code = await runTrain(config, ['--method', 'csq', '--labels', 'prefix', '--bits', '16', '--views', 'global', '--hidden', 'none', '--epochs', '20', '--out', 's3://photos/models/csq.loupe', '--json']);
      printed = String(out.mock.calls.at(-1)?.[0]);
    } finally {
      out.mockRestore();
    }
    expect(code).toBe(0);
    const summary = JSON.parse(printed);
    expect(summary).toMatchObject({ method: 'csq', bits: 16, images: 6, descriptors: 6, classes: 2, url: 's3://photos/models/csq.loupe' });
    expect(summary.lossLast).toBeLessThan(summary.lossFirst);

    const obj = await s3.client.send(new GetObjectCommand({ Bucket: 'photos', Key: 'models/csq.loupe' }));
    const artifact = decodeArtifact(await obj.Body!.transformToByteArray());
    expect(artifact.header.id).toBe(summary.id);
    expect(artifact.header.id).toMatch(/^csq-16b-[0-9a-f]{10}$/);
    expect(artifact.header.meta).toMatchObject({ method: 'csq', classes: ['even', 'odd'], views: 'global' });
    const model = await hashModelFromArtifact(artifact, createLogger('test', 'silent'));
    expect(model.bits).toBe(16);
    // The default's 64-bit cell level, under a 16-bit head, keeps whole 16-bit codes.
    expect(artifact.header.plan.levels.find((l) => l.kind === 'cells')).toEqual({ name: 'cells', grid: 14, overlap: 0, kind: 'cells' });
    // What encoders and query services do with LOUPE_MODEL=s3://...: the same model, read from S3.
    const fromS3 = await loadHashModel('s3://photos/models/csq.loupe', { logger: createLogger('test', 'silent') });
    expect(fromS3.id).toBe(summary.id);
    expect(fromS3.toArtifact().tensors).toEqual(artifact.tensors);
  });

  it('--grid 2: layout-keeping descriptors train a block head, loadable with the grid', async () => {
    const config = loadConfig({ ...process.env, LOUPE_SOURCE: 's3://photos/set/' });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let printed: string;
    try {
      const args = ['--method', 'csq', '--labels', 'prefix', '--bits', '16', '--views', 'global', '--grid', '2', '--hidden', '8', '--epochs', '20'];
      expect(await runTrain(config, [...args, '--out', 's3://photos/models/grid.loupe', '--json'])).toBe(0);
      printed = String(out.mock.calls.at(-1)?.[0]);
    } finally {
      out.mockRestore();
    }
    const summary = JSON.parse(printed);
    expect(summary).toMatchObject({ images: 6, descriptors: 6, classes: 2 });
    expect(summary.lossLast).toBeLessThan(summary.lossFirst);
    const model = await loadHashModel('s3://photos/models/grid.loupe', { logger: createLogger('test', 'silent') });
    expect(model.descriptor.grid).toBe(2);
    expect(model.extractor.dim).toBe(4 * 1792);
    expect(model.head.inDim).toBe(4 * 1792);
  });

  it('--method pairs: trains on augmented copies of the sampled images and records the keys it saw', async () => {
    const config = loadConfig({ ...process.env, LOUPE_SOURCE: 's3://photos/set/', LOUPE_MODEL: 'builtin:mobilenetv2-rp64' });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let printed: string;
    try {
      expect(await runTrain(config, ['--method', 'pairs', '--bits', '32', '--epochs', '8', '--out', 's3://photos/models/pairs.loupe', '--json'])).toBe(0);
      printed = String(out.mock.calls.at(-1)?.[0]);
    } finally {
      out.mockRestore();
    }
    const summary = JSON.parse(printed);
    // 7 images x 14 views, plus at least one query row per augmented copy (15 per image)
    expect(summary).toMatchObject({ method: 'pairs', bits: 32, images: 7 });
    expect(summary.descriptors).toBeGreaterThanOrEqual(7 * 14 + 7 * 15);
    expect(summary.lossLast).toBeLessThan(summary.lossFirst);
    expect(summary.bitOnesMin).toBeGreaterThan(0.4);
    const model = await loadHashModel('s3://photos/models/pairs.loupe', { logger: createLogger('test', 'silent') });
    expect(model.id).toBe(summary.id);
    expect(model.plan).toEqual((await loadHashModel('builtin:mobilenetv2-rp64', { logger: createLogger('test', 'silent') })).plan);
    // every image object by its key (as the index names it), not the README
    const keys = model.meta.trainKeys as string[];
    expect(keys).toHaveLength(7);
    expect(keys).toContain('set/loose.jpg');
    expect(keys.filter((k) => /^set\/(even|odd)\/.+\.jpg$/.test(k))).toHaveLength(6);
  });

  it('rejects a supervised run without labels and an unknown method, with usage', async () => {
    const config = loadConfig({ ...process.env, LOUPE_SOURCE: 's3://photos/set/' });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let printed: string;
    try {
      expect(await runTrain(config, ['--method', 'csq'])).toBe(2);
      expect(await runTrain(config, ['--method', 'pca'])).toBe(2);
      expect(await runTrain(config, ['--bits', '48'])).toBe(2);
      expect(await runTrain(config, ['--grid', '5'])).toBe(2);
      expect(await runTrain(config, ['--method', 'pairs', '--whiten', '0.5'])).toBe(2);
      expect(await runTrain(config, ['--method', 'itq', '--keep-best'])).toBe(2);
      printed = err.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      err.mockRestore();
    }
    expect(printed).toMatch(/needs --labels[\s\S]*--method must be one of[\s\S]*--bits must be one of[\s\S]*--grid must be[\s\S]*--whiten applies to --method itq[\s\S]*--keep-best applies to --method pairs/);
  });
});
