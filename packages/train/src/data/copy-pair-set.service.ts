import { isSearchedLevel, prepareImage, SeededRandom, type Box, type HashModel, type ImageLimits, type Logger, type QueryView, type View } from '@loupe/shared';
import { decodeSource, TRAINING_TRANSFORMS, type CopyTransform } from '../augment/copy-transforms.ts';
import { featureMatrix, type FeatureMatrix } from './feature-matrix.ts';
import { fetchPrepared } from './fetch-prepared.ts';
import { sampleKeys } from './sample-keys.ts';
import type { ImageSource } from './training-set.service.ts';

export interface CopyPairOptions {
  source: ImageSource;
  prefix: string;
  sample: number;
  seed?: number;
  accept?: (key: string) => boolean;
  /** Augmentations per image (default TRAINING_TRANSFORMS: 6 crops + 9 whole-image edits). */
  transforms?: CopyTransform[];
  limits: ImageLimits;
  logger?: Logger;
}

/**
 * Training data for a copy-detection head: the views of sampled images as the index holds them,
 * and augmented copies of the same images described as the query service describes a query.
 * Each query row knows which database rows it should find.
 */
export interface CopyPairSet {
  /** Descriptors of every CNN view of every sampled image (index side). */
  database: FeatureMatrix;
  /** Image (index into keys) per database row. */
  databaseImage: Int32Array;
  /** Descriptors of augmented copies through one query view each (query side). */
  queries: FeatureMatrix;
  queryImage: Int32Array;
  /** Per query row, the database rows its view should match (sorted). */
  positives: Int32Array[];
  images: number;
  keys: string[];
  skipped: { key: string; reason: string }[];
}

/** A region counts as the copy's match when it overlaps the copied box this much (IoU). */
const MIN_REGION_IOU = 0.3;
/** A crop this large (share of the image) still counts as a copy of the whole image. */
const MIN_GLOBAL_AREA = 0.5;

/**
 * Builds CopyPairSets: samples keys, describes each image's views with the model's pipeline, makes
 * augmented copies (crops, recolouring, JPEG, text, ...), describes each copy through the query
 * views that look at it unturned, and pairs each such query row with the views its search should
 * return: the global view for a whole copy (or a crop of half the image or more), and on each
 * regional level the view search, the region that best covers a crop.
 */
export class CopyPairSetService {
  constructor(private readonly model: HashModel) {}

  async collect(o: CopyPairOptions): Promise<CopyPairSet> {
    const keys = await sampleKeys({ list: (p) => o.source.list(p), prefix: o.prefix, sample: o.sample, seed: o.seed, accept: o.accept });
    if (keys.length === 0) throw new Error('no images found to train on');
    const transforms = o.transforms ?? TRAINING_TRANSFORMS;
    const queryViews = this.model.queryPlan.views.filter((v) => v.orientation === 'none' && v.kind !== 'dct' && !v.trim);
    const db: Float32Array[] = [];
    const dbImage: number[] = [];
    const queries: Float32Array[] = [];
    const queryImage: number[] = [];
    const positives: Int32Array[] = [];
    const used: string[] = [];
    const skipped: CopyPairSet['skipped'] = [];
    for (const key of keys) {
      const got = await fetchPrepared(o.source, key, o.limits, this.model.plan);
      if ('skipped' in got) {
        skipped.push({ key, reason: got.skipped });
        continue;
      }
      const { bytes, prepared: p } = got;
      // Cells are checked, not searched: a head is trained on the views a search returns.
      const views = p.views.filter((v) => this.model.isCnnLevel(v.level) && isSearchedLevel(this.model.plan, v.level));
      const [descriptors] = await this.model.describe([{ image: p.canonical, width: p.width, height: p.height, views }]);
      const image = used.length;
      const firstRow = db.length;
      used.push(key);
      for (const d of descriptors) {
        db.push(d);
        dbImage.push(image);
      }
      const raster = await decodeSource(bytes);
      for (const t of transforms) {
        for (let variant = 0; variant < t.variants; variant++) {
          const copy = await t.apply(raster, SeededRandom.from(`train/${key}/${t.name}/${variant}/${o.seed ?? 1}`));
          const q = await prepareImage(copy.bytes, o.limits);
          const wanted = queryViews
            .map((view) => ({ view, rows: matchingViews(view, views, copy.box, raster).map((j) => firstRow + j) }))
            .filter((w) => w.rows.length > 0);
          if (wanted.length === 0) continue;
          const described = await this.model.describeQuery(
            { image: q.canonical, width: q.width, height: q.height },
            { views: wanted.map((w) => w.view) },
          );
          wanted.forEach((w, i) => {
            queries.push(described[i]);
            queryImage.push(image);
            positives.push(Int32Array.from(w.rows));
          });
        }
      }
      o.logger?.info({ done: used.length + skipped.length, of: keys.length, queries: queries.length }, 'describing training pairs');
    }
    if (used.length === 0) throw new Error(`none of the ${keys.length} sampled images could be decoded`);
    return {
      database: featureMatrix(db),
      databaseImage: Int32Array.from(dbImage),
      queries: featureMatrix(queries),
      queryImage: Int32Array.from(queryImage),
      positives,
      images: used.length,
      keys: used,
      skipped,
    };
  }
}

/** Indices into `views` that `view` should find for a copy (crop `box`, or the whole image). */
function matchingViews(view: QueryView, views: View[], box: Box | undefined, size: { width: number; height: number }): number[] {
  const whole = { x: 0, y: 0, w: size.width, h: size.height };
  const out: number[] = [];
  const levels = new Set(views.map((v) => v.level));
  for (const level of levels) {
    if (view.offsets[level] === null || view.offsets[level] === undefined) continue;
    const candidates = views.map((v, j) => ({ v, j })).filter(({ v }) => v.level === level);
    if (level === 0) {
      if (!box || area(box) >= MIN_GLOBAL_AREA * area(whole)) out.push(candidates[0].j);
      continue;
    }
    if (!box) continue;
    const best = candidates.map(({ v, j }) => ({ j, iou: iou(v.box, box) })).sort((a, b) => b.iou - a.iou)[0];
    if (best && best.iou >= MIN_REGION_IOU) out.push(best.j);
  }
  return out.sort((a, b) => a - b);
}

const area = (b: Box) => b.w * b.h;

export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (area(a) + area(b) - inter || 1);
}
