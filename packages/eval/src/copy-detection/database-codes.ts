import { levelBits, prepareImage, type HashModel } from '@loupe/shared';
import { DescriptorCache } from './descriptor-cache.ts';
import { EVAL_IMAGE_LIMITS, type PhotoSet } from './photo-set.ts';

export interface DatabaseCodes {
  /** [image][level][view]: the CNN levels' codes (levels made from pixels left empty). */
  codes: Uint8Array[][][];
  /** [image]: the global view's float descriptor. */
  global: Float32Array[];
  cached: boolean;
}

/**
 * The database's codes and global floats, for sets too large to keep every view's floats (a
 * default-model image has ~250 views of 1,792 floats: 1.8 MB, 6 GB for 3,500 images). Each image's
 * code bytes are stored in the float cache file bit for bit (typed-array copies keep bits), after
 * its global floats; the key covers the head, since codes depend on it.
 */
export async function describeDatabaseCodes(
  cache: DescriptorCache,
  model: HashModel,
  set: PhotoSet,
  key: Record<string, unknown>,
  log: (line: string) => void,
): Promise<DatabaseCodes> {
  const levels = model.plan.levels.map((l, li) => ({ views: l.grid * l.grid, bytes: model.isCnnLevel(li) ? levelBits(model.plan, li, model.bits) / 8 : 0 }));
  const codeBytes = levels.reduce((n, l) => n + l.views * l.bytes, 0);
  const codeFloats = Math.ceil(codeBytes / 4);
  const dim = model.extractor.dim;
  const got = await cache.getOrCompute(
    'db-codes',
    DescriptorCache.key({ ...key, head: DescriptorCache.headDigest(model), photos: set.photos.map((p) => `${p.name}:${p.bytes.length}`) }),
    { rows: set.photos.length, perRow: 1, dim: dim + codeFloats },
    async (from, to) => {
      const inputs = await Promise.all(
        set.photos.slice(from, to).map(async (p) => {
          const img = await prepareImage(p.bytes, EVAL_IMAGE_LIMITS, model.plan);
          return { image: img.canonical, width: img.width, height: img.height, views: img.views };
        }),
      );
      const rows = await model.describe(inputs);
      return Promise.all(
        rows.map(async (views) => {
          const row = new Float32Array(dim + codeFloats);
          row.set(views[0]);
          const bytes = new Uint8Array(row.buffer, dim * 4, codeFloats * 4);
          let offset = 0;
          let view = 0;
          for (const [li, l] of levels.entries()) {
            if (!l.bytes) continue;
            for (const code of await model.hashLevel(li, views.slice(view, view + l.views))) {
              bytes.set(code, offset);
              offset += l.bytes;
            }
            view += l.views;
          }
          return [row];
        }),
      );
    },
    16,
    (done, rows) => log(`  database codes ${done}/${rows}`),
  );
  const codes = got.rows.map(([row]) => {
    const bytes = new Uint8Array(row.buffer, row.byteOffset + dim * 4, codeFloats * 4);
    let offset = 0;
    return levels.map((l) => {
      if (!l.bytes) return [];
      return Array.from({ length: l.views }, () => bytes.slice(offset, (offset += l.bytes)));
    });
  });
  return { codes, global: got.rows.map(([row]) => row.subarray(0, dim)), cached: got.cached };
}
