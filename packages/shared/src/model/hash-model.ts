import { decodeCanonical, type RgbRaster } from '../image/canonical-image.ts';
import { planViews, type View, type ViewPlan } from '../view/view-plan.ts';
import { buildArtifact, type ModelArtifact } from './artifact/model-artifact.ts';
import type { DescribeInput, ViewDescriptorExtractor } from './descriptor/view-descriptor-extractor.ts';
import type { HashHead } from './head/hash-head.ts';
import type { QueryPlan } from '../search/fusion/query-plan.ts';
import type { QueryViewCode } from '../search/fusion/view-fusion.ts';
import { defaultQueryPlan } from './query/default-query-plan.ts';

export interface EncodeInput {
  /** Canonical raster: decoded, or the canonical JPEG as bytes / base64 (as in EncodeJob.image). */
  image: RgbRaster | Buffer | string;
  /** Source size after EXIF orientation; view boxes are in these pixels. */
  width: number;
  height: number;
  /** Views to encode; defaults to every view of the model's plan. */
  views?: View[];
}

export interface ViewCode extends View {
  /** Packed bits, MSB first (bytesToHex for the wire). */
  code: Uint8Array;
}

/**
 * Backbone + descriptor extraction + hash head: images in, one binary code per view out. `id` is
 * the model version stored beside the codes; codes of different ids are not comparable.
 */
export class HashModel {
  constructor(
    readonly id: string,
    readonly plan: ViewPlan,
    readonly extractor: ViewDescriptorExtractor,
    readonly head: HashHead,
    private readonly provenance: { createdAt?: string; meta?: Record<string, unknown> } = {},
    /** How queries are looked at (see QueryPlan); defaults from the descriptor config. */
    readonly queryPlan: QueryPlan = defaultQueryPlan(extractor.config, plan.levels.length),
  ) {
    if (head.inDim !== extractor.dim) throw new Error(`head expects ${head.inDim}-d descriptors, backbone gives ${extractor.dim}`);
  }

  get bits(): number {
    return this.head.bits;
  }

  /** Backbone id (e.g. "nsfwjs:mobilenet_v2_mid"). */
  get backbone(): string {
    return this.extractor.backbone.id;
  }

  get descriptor() {
    return this.extractor.config;
  }

  /** Codes per image, in each input's view order; all images share the backbone forwards. */
  async encode(inputs: EncodeInput[]): Promise<ViewCode[][]> {
    const prepared = await this.prepare(inputs);
    const descriptors = await this.extractor.describe(prepared);
    return prepared.map((p, i) => p.views.map((v, vi) => ({ level: v.level, index: v.index, box: v.box, code: this.head.hash(descriptors[i][vi]) })));
  }

  /** L2-normalised float descriptors per view: what a trainer fits a new head on. */
  async describe(inputs: EncodeInput[]): Promise<Float32Array[][]> {
    return this.extractor.describe(await this.prepare(inputs));
  }

  /**
   * Codes of a query image's views (the query plan): what the query service matches against the
   * index. Equals describeQuery() hashed by the head, view by view.
   */
  async encodeQuery(input: EncodeInput, plan: QueryPlan = this.queryPlan): Promise<QueryViewCode[]> {
    const descriptors = await this.describeQuery(input, plan);
    return plan.views.map((view, i) => ({ view, code: this.head.hash(descriptors[i]) }));
  }

  /** Float descriptors of a query image's views, in plan order. */
  async describeQuery(input: EncodeInput, plan: QueryPlan = this.queryPlan): Promise<Float32Array[]> {
    const raster = isRaster(input.image) ? input.image : await decodeCanonical(input.image);
    const [descriptors] = await this.extractor.describeWhole([raster], plan.views);
    return descriptors;
  }

  /** This model as an artifact (writeArtifact + loadHashModel give back identical codes). */
  toArtifact(): ModelArtifact {
    return buildArtifact({
      id: this.id,
      backbone: this.backbone,
      plan: this.plan,
      descriptor: this.descriptor,
      descriptorDim: this.extractor.dim,
      head: this.head.toSpec(),
      queryPlan: this.queryPlan,
      ...this.provenance,
    });
  }

  private async prepare(inputs: EncodeInput[]): Promise<DescribeInput[]> {
    return Promise.all(
      inputs.map(async (input) => ({
        raster: isRaster(input.image) ? input.image : await decodeCanonical(input.image),
        width: input.width,
        height: input.height,
        views: input.views ?? planViews(this.plan, input.width, input.height),
      })),
    );
  }
}

function isRaster(x: EncodeInput['image']): x is RgbRaster {
  return typeof x === 'object' && !Buffer.isBuffer(x) && 'data' in x;
}
