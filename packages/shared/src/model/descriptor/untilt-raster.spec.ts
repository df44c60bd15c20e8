import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../config/config.ts';
import { decodeCanonical, toCanonical, type RgbRaster } from '../../image/canonical-image.ts';
import { untiltRaster } from './untilt-raster.ts';

const photo = path.join(REPO_ROOT, 'test/fixtures/photos/messi.jpg');
const meanSquaredError = (a: RgbRaster, b: RgbRaster) => a.data.reduce((s, v, i) => s + (v - b.data[i]) ** 2, 0) / a.data.length;

describe('untiltRaster', () => {
  it('turns a copy rotated by a few degrees (canvas grown, corners filled) back to the picture the index saw', async () => {
    const original = await decodeCanonical(await toCanonical(sharp(photo)));
    for (const angle of [8, -6]) {
      const rotated = await sharp(photo).rotate(angle, { background: '#ff0000' }).jpeg().toBuffer();
      const { width, height } = await sharp(rotated).metadata();
      const query = await decodeCanonical(await toCanonical(sharp(rotated)));
      const asIs = meanSquaredError(query, original);
      const back = meanSquaredError(untiltRaster(query, angle, width!, height!), original);
      const near = meanSquaredError(untiltRaster(query, angle + Math.sign(angle) * 2, width!, height!), original);
      const wrongWay = meanSquaredError(untiltRaster(query, -angle, width!, height!), original);
      expect(back).toBeLessThan(asIs / 20);
      expect(near).toBeLessThan(asIs / 2);
      expect(wrongWay).toBeGreaterThan(asIs / 2);
    }
  });
});
