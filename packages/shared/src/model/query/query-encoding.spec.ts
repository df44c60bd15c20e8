import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hammingDistance } from '../../code/bit-code.ts';
import { REPO_ROOT } from '../../config/config.ts';
import { decodeCanonical, toCanonical, type RgbRaster } from '../../image/canonical-image.ts';
import { createLogger } from '../../log/logger.ts';
import { decodeArtifact, encodeArtifact } from '../artifact/model-artifact.ts';
import { DEFAULT_DESCRIPTOR_CONFIG } from '../descriptor/descriptor-config.ts';
import { orientRaster } from '../descriptor/orient-raster.ts';
import type { HashModel } from '../hash-model.ts';
import { hashModelFromArtifact, loadHashModel } from '../load-hash-model.ts';
import { DEFAULT_VIEW_PLAN } from '../../view/view-plan.ts';
import { defaultQueryPlan } from './default-query-plan.ts';

const logger = createLogger('query-encoding-test', 'silent');
const PHOTO = path.join(REPO_ROOT, 'test/fixtures/photos/horse.jpg');

let model: HashModel;
let input: { image: Buffer; width: number; height: number };

beforeAll(async () => {
  model = await loadHashModel('builtin:mobilenetv2-rp256', { logger });
  const bytes = readFileSync(PHOTO);
  const meta = await sharp(bytes).metadata();
  input = { image: await toCanonical(sharp(bytes).rotate().flatten({ background: '#ffffff' })), width: meta.width!, height: meta.height! };
});

describe('orientRaster', () => {
  const raster: RgbRaster = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i) };
  const px = (r: RgbRaster, x: number, y: number) => r.data[(y * r.width + x) * 3];

  it('mirrors and turns, and turning back restores the image', () => {
    const flipped = orientRaster(raster, 'flip');
    expect(px(flipped, 0, 0)).toBe(px(raster, 2, 0));
    const turned = orientRaster(raster, 'rot90');
    expect([turned.width, turned.height]).toEqual([2, 3]);
    // Clockwise: the bottom-left pixel becomes the top-left one.
    expect(px(turned, 0, 0)).toBe(px(raster, 0, 1));
    expect(orientRaster(orientRaster(raster, 'rot90'), 'rot270').data).toEqual(raster.data);
    expect(orientRaster(flipped, 'flip').data).toEqual(raster.data);
    expect(orientRaster(raster, 'none')).toBe(raster);
  });
});

describe('query encoding', () => {
  it('has an identity view first and searches regions with smaller views', () => {
    const plan = defaultQueryPlan(DEFAULT_DESCRIPTOR_CONFIG, DEFAULT_VIEW_PLAN);
    expect(plan.views[0]).toMatchObject({ orientation: 'none', side: DEFAULT_DESCRIPTOR_CONFIG.levelSides[0] });
    expect(plan.views[0].offsets[0]).toBe(0);
    const small = plan.views.filter((v) => v.side < plan.views[0].side);
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((v) => v.offsets[0] === null && v.offsets[1] !== null)).toBe(true);
    expect(plan.views.map((v) => v.orientation)).toEqual(expect.arrayContaining(['flip', 'rot90', 'rot270']));
  });

  it("gives the identity view exactly the index's global code, and the other views other codes", async () => {
    const [indexed] = await model.encode([input]);
    const query = await model.encodeQuery(input);
    expect(query.map((q) => q.view.name)).toEqual(model.queryPlan.views.map((v) => v.name));
    expect(bytesToHex(query[0].code)).toBe(bytesToHex(indexed[0].code));
    // (trim: the photo has no frame, so it codes like the global view; see below)
    for (const q of query.slice(1).filter((x) => !x.view.trim)) expect(hammingDistance(q.code, query[0].code)).toBeGreaterThan(0);
  });

  it("codes a mirrored image's flip view like the image's own global view", async () => {
    const raster = await decodeCanonical(input.image);
    const mirrored = { ...input, image: orientRaster(raster, 'flip') };
    const flipView = (await model.encodeQuery(mirrored)).find((q) => q.view.orientation === 'flip')!;
    const global = (await model.encodeQuery({ ...input, image: raster }))[0];
    expect(bytesToHex(flipView.code)).toBe(bytesToHex(global.code));
  });

  it('keeps its query plan through an artifact, and refuses a plan without an identity view first', async () => {
    const artifact = model.toArtifact();
    const custom = { views: [{ ...model.queryPlan.views[0], offsets: [0, 0.5, null] }] };
    artifact.header = { ...artifact.header, query: custom };
    const back = await hashModelFromArtifact(decodeArtifact(encodeArtifact(artifact)), logger);
    expect(back.queryPlan).toEqual(custom);
    const bad = { ...artifact, header: { ...artifact.header, query: { views: [{ ...custom.views[0], orientation: 'flip' as const }] } } };
    expect(() => decodeArtifact(encodeArtifact(bad))).toThrow(/identity view/);
  });
});

describe('a model with a perceptual (dct) level', () => {
  let dctModel: HashModel;
  beforeAll(async () => {
    dctModel = await loadHashModel('builtin:mobilenetv2-rp256-dct', { logger });
  });

  it('plans a dct query view that searches the dct level alone, and CNN views that skip it', () => {
    const dctLevel = dctModel.plan.levels.findIndex((l) => l.kind === 'dct');
    expect(dctLevel).toBe(3);
    const views = dctModel.queryPlan.views;
    const dct = views.filter((v) => v.kind === 'dct');
    expect(dct).toHaveLength(1);
    expect(dct[0].offsets.map((o, l) => (o === null ? null : l))).toEqual([null, null, null, 3]);
    expect(dct[0].maxDistance).toBeGreaterThan(0);
    for (const v of views.filter((x) => x.kind !== 'dct')) expect(v.offsets[3]).toBeNull();
  });

  it("stores the image's perceptual code at the dct level, the CNN codes unchanged, and queries with the same code", async () => {
    const [indexed] = await dctModel.encode([input]);
    const [plain] = await model.encode([input]);
    expect(indexed.map((v) => v.level)).toEqual([...plain.map((v) => v.level), 3]);
    expect(indexed.slice(0, plain.length).map((v) => bytesToHex(v.code))).toEqual(plain.map((v) => bytesToHex(v.code)));
    const query = await dctModel.encodeQuery(input);
    const dctQuery = query.find((q) => q.view.kind === 'dct')!;
    expect(bytesToHex(dctQuery.code)).toBe(bytesToHex(indexed[indexed.length - 1].code));
    expect(dctQuery.code).toHaveLength(32);
    // CNN descriptors leave the dct view out
    expect(await dctModel.describeQuery(input)).toHaveLength(query.length - 1);
    expect((await dctModel.describe([input]))[0]).toHaveLength(plain.length);
  });

  it('codes a blurred, brightened copy near the original and another photo far from it', async () => {
    const bytes = readFileSync(PHOTO);
    const code = async (img: sharp.Sharp) => dctModel.dctCode(await decodeCanonical(await toCanonical(img)));
    const original = await code(sharp(bytes).rotate());
    const changed = await code(sharp(bytes).rotate().blur(4).modulate({ brightness: 1.3 }));
    const other = await code(sharp(readFileSync(path.join(REPO_ROOT, 'test/fixtures/photos', 'smarties.jpg'))).rotate());
    expect(hammingDistance(original, changed)).toBeLessThan(40);
    expect(hammingDistance(original, other)).toBeGreaterThan(90);
  });
});

describe('the trim query view', () => {
  it('codes a padded copy like the original, and an unframed image like its global view', async () => {
    const raster = await decodeCanonical(input.image);
    const padded = await toCanonical(
      sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: 3 } }).extend({ top: 60, bottom: 60, left: 20, right: 90, background: '#3a7f20' }),
    );
    const trimView = model.queryPlan.views.findIndex((v) => v.trim);
    expect(trimView).toBeGreaterThan(0);
    const original = await model.encodeQuery(input);
    const copy = await model.encodeQuery({ ...input, image: padded });
    expect(bytesToHex(original[trimView].code)).toBe(bytesToHex(original[0].code));
    // the padded copy's own global code is far; trimmed it is near the original's
    const near = hammingDistance(copy[trimView].code, original[0].code);
    expect(near).toBeLessThan(hammingDistance(copy[0].code, original[0].code));
    expect(near).toBeLessThan(30);
  });
});

describe('the tilted query views', () => {
  it('code a copy rotated by a few degrees near the original, through the view that turns it back its way', async () => {
    const bytes = readFileSync(PHOTO);
    const original = (await model.encodeQuery(input))[0].code;
    const tilted = model.queryPlan.views.flatMap((v, i) => (v.tilt ? [{ i, tilt: v.tilt }] : []));
    expect(tilted.map((t) => t.tilt).sort()).toEqual([-7.5, 7.5]);
    for (const angle of [9, -9]) {
      const rotated = await sharp(bytes).rotate().rotate(angle, { background: '#2050c0' }).jpeg().toBuffer();
      const meta = await sharp(rotated).metadata();
      const copy = await model.encodeQuery({ image: await toCanonical(sharp(rotated)), width: meta.width!, height: meta.height! });
      const distance = (i: number) => hammingDistance(copy[i].code, original);
      const right = tilted.find((t) => Math.sign(t.tilt) === Math.sign(angle))!;
      const wrong = tilted.find((t) => t !== right)!;
      // (random-projection codes: 54 bits from the original as the copy is, 26-33 turned back)
      expect(distance(right.i)).toBeLessThan(distance(0) * 0.7);
      expect(distance(right.i)).toBeLessThan(distance(wrong.i));
    }
  });
});
