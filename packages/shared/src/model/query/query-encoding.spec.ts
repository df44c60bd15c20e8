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
    const plan = defaultQueryPlan(DEFAULT_DESCRIPTOR_CONFIG, 3);
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
    for (const q of query.slice(1)) expect(hammingDistance(q.code, query[0].code)).toBeGreaterThan(0);
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
