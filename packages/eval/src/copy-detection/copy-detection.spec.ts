import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@loupe/shared';
import { hamming } from './brute-force-index.ts';
import { COPY_TRANSFORMS } from '@loupe/train';
import { perceptualHash, perceptualHashOfGray } from './perceptual-hash.ts';
import type { PhotoSet } from './photo-set.ts';
import { buildQuerySet } from './query-set.ts';
import { RecallTally } from './recall-tally.ts';
import { sceneOf } from './scene-groups.ts';

const sample = (name: string) => readFileSync(path.join(REPO_ROOT, 'samples', name));

async function photoSet(names: string[]): Promise<PhotoSet> {
  const photos = await Promise.all(
    names.map(async (name) => {
      const bytes = sample(name);
      const { width, height } = await sharp(bytes).metadata();
      return { name, bytes, width: width!, height: height! };
    }),
  );
  return { dir: 'samples', photos, skipped: [] };
}

describe('pHash', () => {
  it('is 64 bits, balanced by the median, stable under re-encoding and far between photos', async () => {
    const cat = await perceptualHash(sample('chelsea-cat.jpg'));
    expect(cat).toHaveLength(8);
    const ones = [...cat].reduce((n, b) => n + b.toString(2).split('1').length - 1, 0);
    expect(ones).toBe(32);
    const recoded = await perceptualHash(await sharp(sample('chelsea-cat.jpg')).resize(200).jpeg({ quality: 30 }).toBuffer());
    expect(hamming(cat, recoded)).toBeLessThanOrEqual(6);
    expect(hamming(cat, await perceptualHash(sample('coffee.jpg')))).toBeGreaterThan(16);
  });

  it('refuses a raster of the wrong size', () => {
    expect(() => perceptualHashOfGray(new Uint8Array(10))).toThrow(/32x32/);
  });
});

describe('copy queries', () => {
  it('are the same bytes in every run, one per transform variant, crops with their box', async () => {
    const set = await photoSet(['coffee.jpg', 'coins.jpg']);
    const transforms = COPY_TRANSFORMS.filter((t) => ['crop-10', 'text', 'rotate-10'].includes(t.name));
    const [a, b] = [await buildQuerySet(set, transforms), await buildQuerySet(set, transforms)];
    expect(a).toHaveLength(2 * (3 + 1 + 1));
    a.forEach((q, i) => expect(q.bytes.equals(b[i].bytes)).toBe(true));
    const crops = a.filter((q) => q.transform === 'crop-10');
    for (const q of crops) {
      const src = set.photos[q.source];
      const area = (q.box!.w * q.box!.h) / (src.width * src.height);
      expect(area).toBeGreaterThan(0.09);
      expect(area).toBeLessThan(0.11);
      const meta = await sharp(q.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([q.box!.w, q.box!.h]);
    }
    // Different positions for the variants of one photo.
    expect(new Set(crops.filter((q) => q.source === 0).map((q) => `${q.box!.x},${q.box!.y}`)).size).toBe(3);
  });
});

describe('recall tally and scene groups', () => {
  it('averages over transforms and over queries', () => {
    const t = new RecallTally('x');
    [1, 1, 0, 0].forEach((h) => t.add('crop', h));
    t.add('flip', 1);
    expect(t.recall('crop')).toBe(0.5);
    expect(t.overall()).toBe(0.75);
    expect(t.allQueries()).toBe(0.6);
  });

  it('groups stereo pairs and the calibration sequence, and leaves other photos alone', () => {
    expect(sceneOf('cv-left03.jpg')).toBe(sceneOf('cv-right11.jpg'));
    expect(sceneOf('sk-motorcycle_left.png')).toBe(sceneOf('sk-motorcycle_right.png'));
    expect(sceneOf('cv-left.jpg')).not.toBe(sceneOf('cv-left03.jpg'));
    expect(sceneOf('sk-coffee.png')).toBe('sk-coffee.png');
  });
});
