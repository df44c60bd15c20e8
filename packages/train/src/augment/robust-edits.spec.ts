import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SeededRandom, type Box } from '@loupe/shared';
import type { SourceRaster } from './copy-transforms.ts';
import { ROBUST_EDIT_FAMILIES, applyRandomEdits, editRank, type EditContext, type RobustEditFamily } from './robust-edits.ts';

const W = 320;
const H = 240;

/** Gradients, a fine checkerboard (so blurs and JPEG show) and a red square off-centre (so mirrors and turns show). */
function synthetic(): SourceRaster {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      const square = x >= 210 && x < 270 && y >= 30 && y < 90;
      const checker = ((x >> 3) + (y >> 3)) % 2 === 0 ? 60 : 0;
      // The checker is grey (the same in all channels), so JPEG's halved chroma resolution does not smear it.
      data[o] = square ? 230 : Math.round((x / W) * 180) + checker;
      data[o + 1] = square ? 20 : Math.round((y / H) * 180) + checker;
      data[o + 2] = square ? 20 : 100 + checker;
    }
  }
  return { data, width: W, height: H };
}

/** Backgrounds unlike the source: smooth sinusoidal colour fields of random size and phase. */
const ctx: EditContext = {
  async background(rng) {
    const width = rng.int(480, 640);
    const height = rng.int(360, 480);
    const phase = rng.uniform(0, Math.PI);
    const data = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        data[o] = 128 + 100 * Math.sin(x / 37 + phase);
        data[o + 1] = 128 + 100 * Math.cos(y / 23 - phase);
        data[o + 2] = 128 + 100 * Math.sin((x + y) / 51);
      }
    }
    return { data, width, height };
  },
};

const SOURCE = synthetic();

async function decode(bytes: Buffer): Promise<SourceRaster> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return { data, width: info.width, height: info.height };
}

function jpeg90(img: SourceRaster): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Grey values of `box` of `img`, resized to width x height. */
async function greyPatch(img: SourceRaster, box: Box, width: number, height: number): Promise<Float64Array> {
  const { data } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: box.x, top: box.y, width: box.w, height: box.h })
    .resize(width, height, { fit: 'fill' })
    .grayscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Float64Array.from(data);
}

function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** The source's content where the copy says it is, compared with the source part it says is shown. */
async function regionCorrelation(out: SourceRaster, region: Box, sourceBox: Box): Promise<number> {
  const pw = Math.min(region.w, 96);
  const ph = Math.min(region.h, 96);
  return correlation(await greyPatch(out, region, pw, ph), await greyPatch(SOURCE, sourceBox, pw, ph));
}

describe('applyRandomEdits', () => {
  it('gives the same bytes and steps for the same seed, and other bytes for another seed', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const a = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { minEdits: 3, maxEdits: 4 });
      const b = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { minEdits: 3, maxEdits: 4 });
      expect(b.steps).toEqual(a.steps);
      expect(b.bytes.equals(a.bytes)).toBe(true);
      expect(b.sourceBox).toEqual(a.sourceBox);
      expect(b.queryRegion).toEqual(a.queryRegion);
      const other = await applyRandomEdits(SOURCE, new SeededRandom(seed + 1000), ctx, { minEdits: 3, maxEdits: 4 });
      expect(other.bytes.equals(a.bytes)).toBe(false);
    }
  });

  it.each(ROBUST_EDIT_FAMILIES.map((f) => [f]))('applies %s alone, visibly, to a decodable JPEG of at least 32 px', async (family) => {
    const plain = await decode(await jpeg90(SOURCE));
    for (let seed = 0; seed < 4; seed++) {
      const copy = await applyRandomEdits(SOURCE, SeededRandom.from(`${family}/${seed}`), ctx, { families: [family], minEdits: 1, maxEdits: 1 });
      expect(copy.steps).toHaveLength(1);
      expect(copy.steps[0].family).toBe(family);
      expect(copy.steps[0].detail.length).toBeGreaterThan(0);
      expect((await sharp(copy.bytes).metadata()).format).toBe('jpeg');
      const out = await decode(copy.bytes);
      expect(Math.min(out.width, out.height)).toBeGreaterThanOrEqual(32);
      const sameSize = out.width === W && out.height === H;
      // Against the source saved the same way, so JPEG at q90 alone does not count as an edit.
      if (sameSize) expect(meanAbsDiff(out.data, plain.data), `${family} ${copy.steps[0].detail}`).toBeGreaterThan(1.5);
    }
  });

  it('chains 1..3 distinct families by default, in application order', async () => {
    const lengths = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const copy = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx);
      const families = copy.steps.map((s) => s.family);
      lengths.add(families.length);
      expect(families.length).toBeGreaterThanOrEqual(1);
      expect(families.length).toBeLessThanOrEqual(3);
      expect(new Set(families).size).toBe(families.length);
      const ranks = families.map(editRank);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      await decode(copy.bytes);
    }
    expect([...lengths].sort()).toEqual([1, 2, 3]);
  });

  it('crops 3-60% of the area within 1.5x of the aspect, and reports the exact box', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const copy = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { families: ['crop'] });
      const box = copy.sourceBox!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.w).toBeLessThanOrEqual(W);
      expect(box.y + box.h).toBeLessThanOrEqual(H);
      const area = (box.w * box.h) / (W * H);
      expect(area).toBeGreaterThan(0.03 * 0.95);
      expect(area).toBeLessThan(0.6 * 1.05);
      const aspect = box.w / box.h / (W / H);
      expect(aspect).toBeGreaterThan(1 / 1.5 - 0.05);
      expect(aspect).toBeLessThan(1.5 + 0.05);
      expect(copy.steps[0].detail).toBe(`crop ${area.toFixed(3)}`);
      const out = await decode(copy.bytes);
      expect([out.width, out.height]).toEqual([box.w, box.h]);
      expect(copy.queryRegion).toEqual({ x: 0, y: 0, w: box.w, h: box.h });
      expect(await regionCorrelation(out, copy.queryRegion!, box)).toBeGreaterThan(0.98);
    }
  });

  it('pastes into the background where queryRegion says, inside the output', async () => {
    for (let seed = 0; seed < 8; seed++) {
      const copy = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { families: ['paste'] });
      const out = await decode(copy.bytes);
      const r = copy.queryRegion!;
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.y).toBeGreaterThanOrEqual(0);
      expect(r.x + r.w).toBeLessThanOrEqual(out.width);
      expect(r.y + r.h).toBeLessThanOrEqual(out.height);
      const fraction = (r.w * r.h) / (out.width * out.height);
      expect(fraction).toBeGreaterThan(0.14);
      expect(fraction).toBeLessThan(0.51);
      expect(copy.sourceBox).toEqual({ x: 0, y: 0, w: W, h: H });
      expect(await regionCorrelation(out, r, copy.sourceBox!)).toBeGreaterThan(0.95);
      // The same window shifted off the pasted rect shows background, not the source.
      const off = { x: r.x + r.w / 2 < out.width / 2 ? out.width - r.w : 0, y: r.y, w: r.w, h: r.h };
      if (Math.abs(off.x - r.x) > r.w) expect(await regionCorrelation(out, off, copy.sourceBox!)).toBeLessThan(0.6);
    }
  });

  it('keeps queryRegion and sourceBox true through crops, squashes, pads, memes, frames and pastes', async () => {
    const families: RobustEditFamily[] = ['crop', 'squash', 'pad', 'meme', 'frame', 'paste'];
    for (let seed = 0; seed < 16; seed++) {
      const copy = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { families, minEdits: 2, maxEdits: 4 });
      const out = await decode(copy.bytes);
      const where = copy.steps.map((s) => s.detail).join(' | ');
      expect(copy.queryRegion, where).toBeDefined();
      expect(await regionCorrelation(out, copy.queryRegion!, copy.sourceBox!), where).toBeGreaterThan(0.9);
    }
  });

  it('turns queryRegion exactly with a quarter turn', async () => {
    for (let seed = 0; seed < 6; seed++) {
      const copy = await applyRandomEdits(SOURCE, new SeededRandom(seed), ctx, { families: ['pad', 'quarter-turn'], minEdits: 2, maxEdits: 2 });
      // Pad runs after the turn, so the region is the turned source inside the border.
      const turn = Number(copy.steps.find((s) => s.family === 'quarter-turn')!.detail.split(' ')[1]);
      const turned = await decode(await sharp(SOURCE.data, { raw: { width: W, height: H, channels: 3 } }).rotate(turn).png().toBuffer());
      const out = await decode(copy.bytes);
      const r = copy.queryRegion!;
      expect([r.w, r.h]).toEqual(turn === 180 ? [W, H] : [H, W]);
      expect(correlation(await greyPatch(out, r, 96, 96), await greyPatch(turned, { x: 0, y: 0, w: r.w, h: r.h }, 96, 96))).toBeGreaterThan(0.98);
    }
  });

  it('undoes an inversion with a second one, up to JPEG losses', async () => {
    const once = await applyRandomEdits(SOURCE, new SeededRandom(7), ctx, { families: ['invert'] });
    const twice = await applyRandomEdits(await decode(once.bytes), new SeededRandom(8), ctx, { families: ['invert'] });
    const back = await decode(twice.bytes);
    // The same two q90 saves without the inversions: what is left is what JPEG alone loses.
    const saved = await decode(await jpeg90(await decode(await jpeg90(SOURCE))));
    expect(meanAbsDiff(back.data, saved.data)).toBeLessThan(1);
    expect(meanAbsDiff(back.data, SOURCE.data)).toBeLessThan(3);
    expect(meanAbsDiff((await decode(once.bytes)).data, SOURCE.data)).toBeGreaterThan(40);
  });

  it('rejects unknown families, impossible counts and malformed rasters with a message', async () => {
    const rng = new SeededRandom(1);
    await expect(applyRandomEdits(SOURCE, rng, ctx, { families: ['sepia' as RobustEditFamily] })).rejects.toThrow(/unknown edit families: sepia/);
    await expect(applyRandomEdits(SOURCE, rng, ctx, { families: ['crop'], minEdits: 2 })).rejects.toThrow(/maxEdits/);
    await expect(applyRandomEdits({ data: Buffer.alloc(10), width: 4, height: 4 }, rng, ctx)).rejects.toThrow(/packed RGB/);
  });
});
