import { isSearchedLevel, planViews, type HashModel, type ImageLimits, type Logger, type ViewDescriptorExtractor, type ViewPlan } from '@loupe/shared';
import { featureMatrix, type FeatureMatrix } from './feature-matrix.ts';
import { fetchPrepared } from './fetch-prepared.ts';
import type { Labeler } from './labeler.ts';
import { sampleKeys } from './sample-keys.ts';

/** The part of an ingest ObjectSource that sampling needs. */
export interface ImageSource {
  list(prefix: string): AsyncIterable<{ key: string }>;
  get(key: string, opts?: { maxBytes?: number }): Promise<Buffer>;
}

export interface CollectOptions {
  source: ImageSource;
  prefix: string;
  /** Up to this many images, drawn uniformly (reservoir sampling) from the listed keys. */
  sample: number;
  seed?: number;
  /** Keys worth fetching (e.g. ingest's isCandidateKey); all keys when absent. */
  accept?: (key: string) => boolean;
  /** With a labeler only labelled keys are sampled, and every descriptor carries its image's label. */
  labeler?: Labeler;
  /** 'all': every view of the model's plan (what the head will hash); 'global': one per image. */
  views?: 'all' | 'global';
  limits: ImageLimits;
  /** Images per describe() call. */
  batch?: number;
  logger?: Logger;
}

export interface TrainingSet {
  features: FeatureMatrix;
  /** Class index per descriptor row (with a labeler). */
  labels?: Int32Array;
  classNames?: string[];
  images: number;
  keys: string[];
  skipped: { key: string; reason: string }[];
}

/**
 * Builds a training set from a bucket or folder: samples keys, decodes them exactly as ingest does
 * (prepareImage) and extracts the descriptors of their views with the model's own pipeline, so the
 * trained head sees the inputs it will hash in production.
 */
export class TrainingSetService {
  constructor(
    private readonly model: HashModel,
    /** Descriptor pipeline to describe with (default: the model's own). */
    private readonly extractor: ViewDescriptorExtractor = model.extractor,
  ) {}

  async collect(o: CollectOptions): Promise<TrainingSet> {
    const labelled = (key: string) => (!o.accept || o.accept(key)) && (!o.labeler || o.labeler.label(key) !== undefined);
    const keys = await sampleKeys({ list: (p) => o.source.list(p), prefix: o.prefix, sample: o.sample, seed: o.seed, accept: labelled });
    if (keys.length === 0) throw new Error(`no ${o.labeler ? 'labelled ' : ''}images found to train on`);
    const vectors: Float32Array[] = [];
    const rowLabels: string[] = [];
    const used: string[] = [];
    const skipped: TrainingSet['skipped'] = [];
    const batch = o.batch ?? 8;
    for (let i = 0; i < keys.length; i += batch) {
      const prepared: { key: string; image: Buffer; width: number; height: number }[] = [];
      for (const key of keys.slice(i, i + batch)) {
        const got = await fetchPrepared(o.source, key, o.limits, this.model.plan);
        if ('skipped' in got) skipped.push({ key, reason: got.skipped });
        else prepared.push({ key, image: got.prepared.canonical, width: got.prepared.width, height: got.prepared.height });
      }
      const described = await this.model.describe(
        prepared.map((p) => ({ image: p.image, width: p.width, height: p.height, views: o.views === 'global' ? [globalView(p)] : searchedViews(this.model.plan, p) })),
        this.extractor,
      );
      described.forEach((views, n) => {
        used.push(prepared[n].key);
        for (const v of views) {
          vectors.push(v);
          if (o.labeler) rowLabels.push(o.labeler.label(prepared[n].key)!);
        }
      });
      o.logger?.info({ done: Math.min(keys.length, i + batch), of: keys.length, descriptors: vectors.length }, 'describing training images');
    }
    const features = featureMatrix(vectors);
    if (!o.labeler) return { features, images: used.length, keys: used, skipped };
    const classNames = [...new Set(rowLabels)].sort();
    const index = new Map(classNames.map((c, i) => [c, i]));
    return { features, labels: Int32Array.from(rowLabels, (l) => index.get(l)!), classNames, images: used.length, keys: used, skipped };
  }
}

/** The plan's views a search returns (a cell level is checked per candidate, not searched). */
function searchedViews(plan: ViewPlan, p: { width: number; height: number }) {
  return planViews(plan, p.width, p.height).filter((v) => isSearchedLevel(plan, v.level));
}

function globalView(p: { width: number; height: number }) {
  return { level: 0, index: 0, box: { x: 0, y: 0, w: p.width, h: p.height } };
}
