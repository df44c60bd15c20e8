import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../config/config.ts';
import { decodeCanonical, toCanonical } from '../../image/canonical-image.ts';
import { greyThumbnailBytes } from '../../model/perceptual/dct-hash.ts';
import { PixelVerifier, QUERY_PIXELS_SIDE, SOURCE_THUMBNAIL_SIDE, type QueryPixels } from './pixel-verifier.ts';
import type { FusedHit } from './view-fusion.ts';

const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');
const SIDE = 48;
const grey = async (img: sharp.Sharp, side: number) => greyThumbnailBytes(await decodeCanonical(await toCanonical(img)), side);
const photo = (name: string) => sharp(path.join(PHOTOS, name)).rotate();

async function thumbOf(name: string) {
  const { width, height } = await photo(name).metadata();
  return { key: name, width: width!, height: height!, thumb: await grey(photo(name), SIDE) };
}

/** A crop of `area` of the photo at (fx, fy) of the room left, re-encoded as JPEG, as the query service sees it. */
async function cropQuery(name: string, area: number, fx: number, fy: number): Promise<QueryPixels> {
  const { width: W, height: H } = await photo(name).metadata();
  const [w, h] = [Math.round(W! * Math.sqrt(area)), Math.round(H! * Math.sqrt(area))];
  const bytes = await photo(name).extract({ left: Math.round(fx * (W! - w)), top: Math.round(fy * (H! - h)), width: w, height: h }).jpeg({ quality: 80 }).toBuffer();
  return { grey: await grey(sharp(bytes), QUERY_PIXELS_SIDE), width: w, height: h };
}

const hit = (c: { key: string; width: number; height: number }, rank: number): FusedHit => ({ ...c, level: 1, view: 0, distance: rank, rank, queryView: 's160' });

describe('PixelVerifier', () => {
  const verifier = new PixelVerifier(256, SIDE, 0.3);

  it("finds a crop's pixels in its source's thumbnail, not in other photos'", async () => {
    const [horse, messi, board] = await Promise.all([thumbOf('horse.jpg'), thumbOf('messi.jpg'), thumbOf('board.jpg')]);
    for (const [area, fx, fy] of [[0.25, 0.3, 0.6], [0.1, 0.9, 0.2]]) {
      const query = await cropQuery('horse.jpg', area, fx, fy);
      const source = verifier.correlation(query, horse, horse.thumb);
      expect(source).toBeGreaterThan(0.9);
      for (const other of [messi, board]) expect(verifier.correlation(query, other, other.thumb)).toBeLessThan(source - 0.15);
    }
  });

  it('lowers each rank by weight x bits x correlation, in the same order, and leaves hits without a thumbnail alone', async () => {
    const [horse, messi] = await Promise.all([thumbOf('horse.jpg'), thumbOf('messi.jpg')]);
    const query = await cropQuery('horse.jpg', 0.25, 0.5, 0.5);
    const hits = [hit(messi, 40), hit(horse, 60), hit({ key: 'gone', width: 10, height: 10 }, 70)];
    const adjusted = verifier.adjustRanks(hits, query, [messi.thumb, horse.thumb, undefined]);
    expect(adjusted.map((h) => h.key)).toEqual(['messi.jpg', 'horse.jpg', 'gone']);
    // horse correlates above 0.95: (0.95 - 0.7) / 0.3 of the bonus at least; messi below chance keeps its rank
    expect(adjusted[1].rank).toBeLessThan(60 - 0.3 * 256 * 0.8);
    expect(adjusted[0]).toBe(hits[0]);
    expect(adjusted[2]).toBe(hits[2]);
    expect(() => verifier.adjustRanks(hits.slice(0, 1), query, [new Uint8Array(10)])).toThrow(/10 bytes/);
  });

  it('exists for query plans with a pixel weight: thumbnails of the pixel level\'s side, or of the source side without one', () => {
    const plan = { levels: [{ name: 'global', grid: 1, overlap: 0 }, { name: 'pixels', grid: 1, overlap: 0, kind: 'pixels' as const, bits: 48 * 48 * 8 }] };
    expect(PixelVerifier.forPlan(256, plan, 0.3)?.side).toBe(48);
    expect(PixelVerifier.forPlan(256, plan, undefined)).toBeUndefined();
    expect(PixelVerifier.forPlan(256, { levels: plan.levels.slice(0, 1) }, 0.3)?.side).toBe(SOURCE_THUMBNAIL_SIDE);
  });
});
