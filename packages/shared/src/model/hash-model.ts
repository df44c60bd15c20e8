import { concatCodes } from '../code/bit-code.ts';
import { decodeCanonical, type RgbRaster } from '../image/canonical-image.ts';
import { cellLevelOf, isCnnLevel, levelBits, pixelSide, planViews, type View, type ViewPlan } from '../view/view-plan.ts';
import { buildArtifact, type ModelArtifact } from './artifact/model-artifact.ts';
import type { DescribeInput, ViewDescriptorExtractor, WholeViewSpec } from './descriptor/view-descriptor-extractor.ts';
import type { HashHead } from './head/hash-head.ts';
import type { RuntimeName } from './runtime/inference-runtime.ts';
import type { QueryPlan, QueryView } from '../search/fusion/query-plan.ts';
import type { QueryViewCode } from '../search/fusion/view-fusion.ts';
import type { QueryCellGrid } from '../search/fusion/cell-grid-verifier.ts';
import { defaultQueryPlan } from './query/default-query-plan.ts';
import { pasteProposals } from './descriptor/paste-proposals.ts';
import { DctHash, greyThumbnailBytes } from './perceptual/dct-hash.ts';
import { QUERY_PIXELS_SIDE, type QueryPixels } from '../search/fusion/pixel-verifier.ts';

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
    readonly queryPlan: QueryPlan = defaultQueryPlan(extractor.config, plan),
  ) {
    if (head.inDim !== extractor.dim) throw new Error(`head expects ${head.inDim}-d descriptors, backbone gives ${extractor.dim}`);
    this.dctHash = new DctHash(head.bits);
    this.cellBits = levelBits(plan, cellLevelOf(plan), head.bits);
  }

  /** Bits of a cell code (the cell level may keep fewer than the head gives). */
  readonly cellBits: number;

  /** Codes of perceptual (dct) levels and query views; the same length as the head's. */
  private readonly dctHash: DctHash;

  get bits(): number {
    return this.head.bits;
  }

  /** The inference runtime the model's forwards and head run on. */
  get runtime(): RuntimeName {
    return this.extractor.runtime.name;
  }

  /** Backbone id (e.g. "nsfwjs:mobilenet_v2_mid"). */
  get backbone(): string {
    return this.extractor.backbone.id;
  }

  /** Provenance recorded by the trainer (artifact meta: data source, sampled keys, losses). */
  get meta(): Readonly<Record<string, unknown>> {
    return this.provenance.meta ?? {};
  }

  get descriptor() {
    return this.extractor.config;
  }

  /** Codes per image, in each input's view order; all images share the backbone forwards. */
  async encode(inputs: EncodeInput[]): Promise<ViewCode[][]> {
    const prepared = await this.prepare(inputs);
    const cnn = this.cnnViews(prepared);
    const descriptors = await this.extractor.describe(cnn);
    // One product per code length for the whole batch (a cell level keeps fewer bits).
    const byLength = new Map<number, { image: number; view: number }[]>();
    cnn.forEach((p, i) =>
      p.views.forEach((v, j) => {
        const bits = levelBits(this.plan, v.level, this.bits);
        if (!byLength.has(bits)) byLength.set(bits, []);
        byLength.get(bits)!.push({ image: i, view: j });
      }),
    );
    const codes = descriptors.map((d) => new Array<Uint8Array>(d.length));
    for (const [bits, at] of byLength) {
      const coded = await this.hashDescriptors(at.map(({ image, view }) => descriptors[image][view]), bits);
      at.forEach(({ image, view }, k) => (codes[image][view] = coded[k]));
    }
    return prepared.map((p, i) => {
      let next = 0;
      return p.views.map((v) => ({
        level: v.level,
        index: v.index,
        box: v.box,
        code: this.isCnnLevel(v.level) ? codes[i][next++] : this.pixelLevelCode(v.level, p.raster),
      }));
    });
  }

  /**
   * Codes of CNN descriptors, the first `bits` of the head's: in one product on the inference
   * runtime when the head can (hashMany), else one by one in JS. Every view (indexed or query) is
   * coded here, so a copy codes the same whichever path it came by.
   */
  async hashDescriptors(descriptors: Float32Array[], bits = this.bits): Promise<Uint8Array[]> {
    if (descriptors.length === 0) return [];
    if (this.head.hashMany) return this.head.hashMany(this.extractor.runtime, descriptors, bits);
    const codes = descriptors.map((d) => this.head.hash(d));
    return bits === this.bits ? codes : codes.map((c) => c.slice(0, bits / 8));
  }

  /** The codes the index stores for descriptors of one CNN level's views (as encode() makes them). */
  hashLevel(level: number, descriptors: Float32Array[]): Promise<Uint8Array[]> {
    return this.hashDescriptors(descriptors, levelBits(this.plan, level, this.bits));
  }

  /**
   * L2-normalised float descriptors of the CNN views (perceptual views have none and are left out):
   * what a trainer fits a new head on; `extractor` gives them for another descriptor config of
   * the same backbone (see ViewDescriptorExtractor.withConfig).
   */
  async describe(inputs: EncodeInput[], extractor = this.extractor): Promise<Float32Array[][]> {
    return extractor.describe(this.cnnViews(await this.prepare(inputs)));
  }

  /** The perceptual code of a canonical raster (dct levels and query views). */
  dctCode(raster: RgbRaster): Uint8Array {
    return this.dctHash.hash(raster);
  }

  /** Levels coded from CNN descriptors (the others: dct and pixel levels, coded from the raster). */
  isCnnLevel(level: number): boolean {
    return isCnnLevel(this.plan, level);
  }

  /** The code a level made from the raster itself holds: the perceptual code, or the grey thumbnail. */
  pixelLevelCode(level: number, raster: RgbRaster): Uint8Array {
    const l = this.plan.levels[level];
    if (l.kind === 'dct') return this.dctCode(raster);
    if (l.kind === 'pixels') return greyThumbnailBytes(raster, pixelSide(l));
    throw new Error(`level ${level} is coded from descriptors`);
  }

  /** The query's pixels as PixelVerifier compares them with the index's thumbnails. */
  queryPixels(raster: RgbRaster, width: number, height: number): QueryPixels {
    return { grey: greyThumbnailBytes(raster, QUERY_PIXELS_SIDE), width, height };
  }

  /**
   * Codes of a query image's views (the query plan): what the query service matches against the
   * index. Equals describeQuery() hashed by the head, view by view.
   */
  async encodeQuery(input: EncodeInput, plan: QueryPlan = this.queryPlan): Promise<QueryViewCode[]> {
    const raster = await toRaster(input.image);
    const cnnViews = plan.views.filter((v) => v.kind !== 'dct');
    // Query regions: the parts where the query's edges say a picture may be pasted.
    const proposals = (v: QueryView) => (v.regions ? pasteProposals(raster, v.regions.proposals) : []);
    const specs = cnnViews.map((v) => ({ ...wholeViewSpec(v), ...(v.regions ? { parts: proposals(v) } : {}) }));
    const [described] = await this.extractor.describeWholeViews([raster], specs, [input]);
    const codes = await this.hashDescriptors(described.map((d) => d.descriptor));
    const grids = await Promise.all(described.map((d) => d.cells && this.cellGrid(d.side, d.cells)));
    const regions = await Promise.all(
      described.map(async (d, i) => d.parts && (await this.hashLevel(0, d.parts)).map((code, j) => ({ box: specs[i].parts![j], code }))),
    );
    let next = 0;
    return plan.views.map((view) => {
      if (view.kind === 'dct') return { view, code: this.dctCode(raster) };
      const cells = grids[next];
      const parts = regions[next];
      const code = codes[next++];
      const pixels = view === plan.views[0] && plan.verify?.pixelWeight ? { pixels: this.queryPixels(raster, input.width, input.height) } : {};
      const querySize = { width: input.width, height: input.height };
      return { view, code, ...(cells ? { cells } : {}), ...(parts ? { regions: parts, querySize } : {}), ...pixels };
    });
  }

  /** A map's cell descriptors as the query grid cell verification slides over the index's cells. */
  async cellGrid(side: number, cells: Float32Array[]): Promise<QueryCellGrid> {
    return { side, codes: concatCodes(await this.hashDescriptors(cells, this.cellBits)) };
  }

  /** Float descriptors of a query image's CNN views (dct views left out), in plan order. */
  async describeQuery(input: EncodeInput, plan: QueryPlan = this.queryPlan): Promise<Float32Array[]> {
    const [descriptors] = await this.extractor.describeWhole([await toRaster(input.image)], plan.views.filter((v) => v.kind !== 'dct').map(wholeViewSpec), [input]);
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

  /** The inputs with their perceptual views left out (those take no descriptor). */
  private cnnViews(prepared: DescribeInput[]): DescribeInput[] {
    return prepared.map((p) => ({ ...p, views: p.views.filter((v) => this.isCnnLevel(v.level)) }));
  }

  private async prepare(inputs: EncodeInput[]): Promise<DescribeInput[]> {
    return Promise.all(
      inputs.map(async (input) => ({
        raster: await toRaster(input.image),
        width: input.width,
        height: input.height,
        views: input.views ?? planViews(this.plan, input.width, input.height),
      })),
    );
  }
}

async function toRaster(image: EncodeInput['image']): Promise<RgbRaster> {
  return isRaster(image) ? image : decodeCanonical(image);
}

function isRaster(x: EncodeInput['image']): x is RgbRaster {
  return typeof x === 'object' && !Buffer.isBuffer(x) && 'data' in x;
}

/** How the extractor looks at a query view as a whole (its query regions are proposed per query). */
export function wholeViewSpec(view: QueryView): WholeViewSpec {
  const { regions: _, ...spec } = view;
  return spec;
}
