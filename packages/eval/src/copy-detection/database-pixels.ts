import { decodeCanonical, greyThumbnailBytes, levelBits, prepareImage, type HashModel } from '@loupe/shared';
import { DescriptorCache } from './descriptor-cache.ts';
import { perceptualHash } from './perceptual-hash.ts';
import { EVAL_IMAGE_LIMITS, type PhotoSet } from './photo-set.ts';

export interface DatabasePixels {
  /** Per level: the code of a level made from pixels (dct, thumbnail); empty for CNN levels. */
  codes: Uint8Array[];
  /** The thumbnail the pixel check reads (the pixel level's, or the query service's sourceThumbnail: the same bytes). */
  thumb?: Uint8Array;
  /** The 64-bit pHash baseline's code. */
  phash: Uint8Array;
}

/**
 * What each database image gives without the CNN: its pixel levels' codes, its thumbnail and its
 * pHash, cached one float per byte (exact) — decoding thousands of images costs minutes a run.
 */
export async function databasePixels(cache: DescriptorCache, model: HashModel, set: PhotoSet, thumbSide: number | undefined, log: (line: string) => void): Promise<DatabasePixels[]> {
  const sizes = model.plan.levels.map((_, l) => (model.isCnnLevel(l) ? 0 : levelBits(model.plan, l, model.bits) / 8));
  const thumbBytes = thumbSide ? thumbSide * thumbSide : 0;
  const perImage = sizes.reduce((a, b) => a + b, 0) + thumbBytes + 8;
  const got = await cache.getOrCompute(
    'db-pixels',
    DescriptorCache.key({ photos: set.photos.map((p) => `${p.name}:${p.bytes.length}`), levels: model.plan.levels, sizes, thumbSide }),
    { rows: set.photos.length, perRow: 1, dim: perImage },
    (from, to) =>
      Promise.all(
        set.photos.slice(from, to).map(async (p) => {
          const raster = await decodeCanonical((await prepareImage(p.bytes, EVAL_IMAGE_LIMITS)).canonical);
          const parts = [
            ...model.plan.levels.map((_, l) => (sizes[l] ? model.pixelLevelCode(l, raster) : new Uint8Array(0))),
            thumbSide ? greyThumbnailBytes(raster, thumbSide) : new Uint8Array(0),
            await perceptualHash(p.bytes),
          ];
          return [Float32Array.from(parts.flatMap((b) => [...b]))];
        }),
      ),
    64,
    (done, rows) => log(`  database pixels ${done}/${rows}`),
  );
  return got.rows.map(([row]) => {
    let o = 0;
    const take = (n: number) => Uint8Array.from(row.subarray(o, (o += n)));
    const codes = sizes.map((n) => take(n));
    const thumb = thumbSide ? take(thumbBytes) : undefined;
    return { codes, thumb, phash: take(8) };
  });
}
