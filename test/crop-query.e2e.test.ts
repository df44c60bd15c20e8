import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, REPO_ROOT, type Box } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { searchBytes, startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const photos = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort();

/** The crop of `file` at (fx, fy) of its width and height, fw x fh of them, as a JPEG, and its box in pixels. */
async function cropAt(file: string, fx: number, fy: number, fw: number, fh: number): Promise<{ bytes: Buffer; box: Box }> {
  const { width, height } = await sharp(file).metadata();
  const box = { x: Math.round(width! * fx), y: Math.round(height! * fy), w: Math.round(width! * fw), h: Math.round(height! * fh) };
  const bytes = await sharp(file).extract({ left: box.x, top: box.y, width: box.w, height: box.h }).jpeg({ quality: 85 }).toBuffer();
  return { bytes, box };
}

/**
 * A crop of a quarter of the image's area, off the view grid (x 30-80%, y 20-70%). On the 20
 * samples 19 such crops find their source first (fruits.jpg finds apple.jpg), 17 as a region;
 * the photos below are five of those.
 */
const quarterCrop = (file: string) => cropAt(file, 0.3, 0.2, 0.5, 0.5);

/** A crop of a tenth of the image's area (x 40-72%, y 30-62%). */
const tenthCrop = (file: string) => cropAt(file, 0.4, 0.3, Math.sqrt(0.1), Math.sqrt(0.1));

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? (w * h) / (b.w * b.h) : 0;
}

describe('crop queries through the whole pipeline (folder source, default model and query plan)', () => {
  let redis: TestRedis;
  let dir: string;
  let pipeline: RunningPipeline;

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-crop-'));
    for (const f of photos) cpSync(path.join(SAMPLES, f), path.join(dir, f));
    pipeline = await startPipeline({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2' });
    await waitFor('every sample indexed', async () => {
      const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
      return s.indexed === photos.length && s.pending === 0 && s;
    });
  });

  afterAll(async () => {
    await pipeline?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // First: the query service caches the thumbnails it makes, and no other query has made one yet.
  it('checks a tenth crop against its candidates\' images in the source: with the image there, the source scores higher', async () => {
    const name = 'motorcycle.jpg';
    const { bytes } = await tenthCrop(path.join(SAMPLES, name));
    // Moved away after indexing (no polling here: the index keeps it): its pixels cannot be checked.
    renameSync(path.join(dir, name), path.join(dir, `${name}.away`));
    const unchecked = await searchBytes(pipeline.base, bytes);
    renameSync(path.join(dir, `${name}.away`), path.join(dir, name));
    const checked = await searchBytes(pipeline.base, bytes);
    // Unchecked it competes with look-alikes (here graffiti.jpg within 0.01); checked it comes first, higher.
    const source = unchecked.hits.find((h: { key: string }) => h.key === name);
    expect(source).toMatchObject({ distance: checked.hits[0].distance });
    expect(checked.hits[0].key).toBe(name);
    expect(checked.hits[0].score).toBeGreaterThan(source.score);
  });

  it('finds the source of a quarter crop first, as a region whose box covers the crop', async () => {
    expect(photos.length).toBeGreaterThanOrEqual(10);
    for (const name of ['chelsea-cat.jpg', 'astronaut.jpg', 'building.jpg', 'motorcycle.jpg', 'rocket.jpg']) {
      const { bytes, box } = await quarterCrop(path.join(SAMPLES, name));
      const r = await searchBytes(pipeline.base, bytes);
      expect(r.status, name).toBe(200);
      expect(r.hits[0], name).toMatchObject({ key: name, granularity: 'region' });
      // The matched region's box (source pixels) overlaps the true crop.
      expect(overlap(r.hits[0].region, box), name).toBeGreaterThan(0);
      expect(new Set(r.hits.map((h: { key: string }) => h.key)).size).toBe(r.hits.length);
      // Checked cell by cell against the index's cell level: the agreement lowered its rank, so
      // its score passes what its Hamming distance alone gives (fused hits score 1 - (distance + offset) / bits).
      expect(r.hits[0].score, name).toBeGreaterThan(1 - r.hits[0].distance / 256);
    }
  });

  it('still finds a whole photo first, as a global match at distance 0', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await searchBytes(pipeline.base, readFileSync(path.join(SAMPLES, 'coffee.jpg')));
    expect(r.hits[0]).toMatchObject({ key: 'coffee.jpg', granularity: 'global', distance: 0 });
    expect(r.hits[0].region).toMatchObject({ x: 0, y: 0 });
  });

  it('indexes the perceptual level of the default model and finds blurred and padded copies as global matches', async () => {
    const layout = await (await fetch(`${pipeline.base}/v1/stats`)).json();
    expect(layout.model).toBe(DEFAULT_MODEL);
    const blurred = await sharp(path.join(SAMPLES, 'rocket.jpg')).blur(3).modulate({ brightness: 0.7 }).jpeg({ quality: 80 }).toBuffer();
    expect((await searchBytes(pipeline.base, blurred)).hits[0]).toMatchObject({ key: 'rocket.jpg', granularity: 'global' });
    const padded = await sharp(path.join(SAMPLES, 'building.jpg')).extend({ top: 80, bottom: 80, left: 40, right: 120, background: '#c83232' }).jpeg().toBuffer();
    expect((await searchBytes(pipeline.base, padded)).hits[0]).toMatchObject({ key: 'building.jpg', granularity: 'global' });
  });

  it('finds a mirrored copy through the flipped query view', async () => {
    const bytes = await sharp(path.join(SAMPLES, 'astronaut.jpg')).flop().jpeg({ quality: 85 }).toBuffer();
    const r = await searchBytes(pipeline.base, bytes);
    expect(r.hits[0]).toMatchObject({ key: 'astronaut.jpg', granularity: 'global' });
  });

  it('finds a photo pasted into another photo and says where in the query it was found', async () => {
    const background = path.join(REPO_ROOT, 'test/fixtures/photos/board.jpg'); // not indexed
    const { width: W, height: H } = await sharp(background).metadata();
    for (const [name, fx, fy] of [['chelsea-cat.jpg', 0.1, 0.15], ['astronaut.jpg', 0.3, 0.1]] as const) {
      // The photo at about 35% of the background's area, its aspect kept.
      const { width, height } = await sharp(path.join(SAMPLES, name)).metadata();
      const scale = Math.sqrt((0.35 * W! * H!) / (width! * height!));
      const paste = { x: Math.round(W! * fx), y: Math.round(H! * fy), w: Math.round(width! * scale), h: Math.round(height! * scale) };
      const pasted = await sharp(path.join(SAMPLES, name)).resize(paste.w, paste.h, { fit: 'fill' }).toBuffer();
      const bytes = await sharp(background).composite([{ input: pasted, left: paste.x, top: paste.y }]).jpeg({ quality: 85 }).toBuffer();
      const r = await searchBytes(pipeline.base, bytes);
      expect(r.status, name).toBe(200);
      expect(r.hits[0], name).toMatchObject({ key: name, granularity: 'global' });
      // The query region it was found in covers most of the paste, and the paste most of it.
      expect(overlap(r.hits[0].queryRegion, paste), name).toBeGreaterThan(0.5);
      expect(overlap(paste, r.hits[0].queryRegion), name).toBeGreaterThan(0.5);
    }
  });

  it('marks no hit of a photo that is not indexed as a match, and moves the threshold with minScore', async () => {
    for (const file of ['horse.jpg', 'smarties.jpg', 'messi.jpg']) {
      const bytes = await sharp(path.join(REPO_ROOT, 'test/fixtures/photos', file)).modulate({ brightness: 0.8 }).jpeg({ quality: 70 }).toBuffer();
      const r = await searchBytes(pipeline.base, bytes);
      expect(r.status, file).toBe(200);
      expect(r.hits.length, file).toBeGreaterThan(0);
      expect(r.hits.filter((h: { match: boolean }) => h.match), file).toEqual([]);
      // A threshold at the top hit's score makes it a match.
      const moved = await searchBytes(pipeline.base, bytes, `?minScore=${r.hits[0].score}`);
      expect(moved.hits[0], file).toMatchObject({ key: r.hits[0].key, match: true });
    }
  });

  it('finds copies rotated by a few degrees either way (the tilted query views)', async () => {
    for (const [name, angle] of [['coffee.jpg', 8], ['building.jpg', -9]] as const) {
      const bytes = await sharp(path.join(SAMPLES, name)).rotate(angle, { background: '#20a040' }).jpeg({ quality: 85 }).toBuffer();
      expect((await searchBytes(pipeline.base, bytes)).hits[0], name).toMatchObject({ key: name, granularity: 'global' });
    }
  });
});
