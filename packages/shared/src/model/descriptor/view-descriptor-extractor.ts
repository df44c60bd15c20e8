import type { RgbRaster } from '../../image/canonical-image.ts';
import type { Box, View } from '../../view/view-plan.ts';
import type { InferenceRuntime } from '../runtime/inference-runtime.ts';
import type { Backbone } from '../backbone/backbone.ts';
import { writeCropInput, writeRasterInput } from './backbone-input.ts';
import type { DescriptorConfig } from './descriptor-config.ts';
import { CellSums } from './cell-sums.ts';
import { boxToCells, concatNormalized, gridCells, l2Normalize, poolRegion, unitBox, type CellRange } from './region-pooling.ts';
import { orientRaster, type RasterOrientation } from './orient-raster.ts';
import { trimBorders } from './trim-borders.ts';
import { untiltRaster } from './untilt-raster.ts';

/** A whole-image descriptor taken at a forward side and orientation (a query view). */
export interface WholeViewSpec {
  side: number;
  orientation: RasterOrientation;
  /** Drop a uniform frame first (trimBorders): a padded copy seen as its content. */
  trim?: boolean;
  /** Also describe each cell of the map (describeWholeViews). */
  cells?: boolean;
  /** Turn a copy tilted by this many degrees (clockwise) back first (untiltRaster). */
  tilt?: number;
  /** Also describe these parts of the view (boxes as fractions of it), each cropped and forwarded at `side`. */
  parts?: readonly Box[];
}

/** An image's size after EXIF orientation (its canonical raster is squashed square). */
export interface ImageSize {
  width: number;
  height: number;
}

/** A whole-image view's descriptor, and with `cells` its map's cells (side x side, row-major). */
export interface WholeViewDescriptor {
  descriptor: Float32Array;
  /** Cells per side of the view's map. */
  side: number;
  cells?: Float32Array[];
  /** With `parts`: one descriptor per box, in order. */
  parts?: Float32Array[];
}

export interface DescribeInput {
  /** Canonical raster (see decodeCanonical): RGB, usually CANONICAL_SIDE x CANONICAL_SIDE. */
  raster: RgbRaster;
  /** Source size after EXIF orientation; view boxes are in these pixels. */
  width: number;
  height: number;
  views: View[];
}

/** A view that cannot be described with this model (its level has no configured scale). */
export class ViewPlanMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViewPlanMismatchError';
  }
}

/** Activation budget of one forward call: 16 images at 224, 4 at 448. */
const DEFAULT_MAX_BATCH_PIXELS = 16 * 224 * 224;

/**
 * Turns the views of many images into L2-normalised float descriptors, one per view, batching
 * images into as few backbone forwards as the activation budget allows.
 */
export class ViewDescriptorExtractor {
  constructor(
    /** The runtime its forwards run on (heads use it to code many descriptors at once). */
    readonly runtime: InferenceRuntime,
    readonly backbone: Backbone,
    readonly config: DescriptorConfig,
    private readonly maxBatchPixels = DEFAULT_MAX_BATCH_PIXELS,
  ) {}

  /** Floats per descriptor: the backbone's width, times grid^2 for layout-keeping descriptors. */
  get dim(): number {
    return (this.config.grid ?? 1) ** 2 * this.backbone.dim;
  }

  /** The same backbone with another descriptor config (e.g. a grid layout to train a head on). */
  withConfig(config: DescriptorConfig): ViewDescriptorExtractor {
    return new ViewDescriptorExtractor(this.runtime, this.backbone, config, this.maxBatchPixels);
  }

  /** Descriptors per image, in the order of each input's views. */
  async describe(inputs: DescribeInput[]): Promise<Float32Array[][]> {
    inputs.forEach((input) => this.check(input));
    const out = inputs.map((i) => new Array<Float32Array>(i.views.length));
    if (this.config.mode === 'rmac') await this.describeRmac(inputs, out);
    else await this.describeCrops(inputs, out);
    return out;
  }

  /**
   * Whole-image descriptors of each raster, one per spec: the raster turned as the spec says, one
   * forward at its side, the whole map pooled. With orientation 'none' and side = levelSides[0]
   * (rmac) this is exactly the level-0 descriptor describe() gives for a full-image view.
   */
  async describeWhole(rasters: RgbRaster[], specs: WholeViewSpec[], sizes?: ImageSize[]): Promise<Float32Array[][]> {
    return (await this.describeWholeViews(rasters, specs, sizes)).map((r) => r.map((v) => v.descriptor));
  }

  /**
   * describeWhole, and for specs that ask (`cells`) each cell of the map as its own normalised
   * descriptor (row-major), from the same forward: what a cell level holds for an indexed image.
   * `sizes` (each raster's image size) let tilted specs undo a rotation in the image's own aspect.
   */
  async describeWholeViews(rasters: RgbRaster[], specs: WholeViewSpec[], sizes?: ImageSize[]): Promise<WholeViewDescriptor[][]> {
    const out = rasters.map(() => new Array<WholeViewDescriptor>(specs.length));
    const groups = new Map<number, number[]>();
    specs.forEach((s, i) => groups.set(s.side, [...(groups.get(s.side) ?? []), i]));
    for (const [side, which] of groups) {
      const items = rasters.flatMap((raster, r) => which.map((si) => ({ r, si, raster: viewRaster(raster, specs[si], sizes?.[r] ?? raster) })));
      // A spec that leaves the raster as it is (a trim of an unframed image) shares its forward.
      const unique = [...new Set(items.map((it) => it.raster))];
      const wantsCells = new Set(items.filter((it) => specs[it.si].cells).map((it) => it.raster));
      const described = new Map<RgbRaster, WholeViewDescriptor>();
      for (const chunk of chunks(unique, this.batchSize(side))) {
        const { data, f } = await this.featureMaps(chunk, side);
        chunk.forEach((raster, n) => {
          const map = this.cellsOf(data, n, f);
          const whole: WholeViewDescriptor = { descriptor: this.pool(map, { c0: 0, c1: f, r0: 0, r1: f }), side: f };
          if (wantsCells.has(raster)) whole.cells = gridCells({ c0: 0, c1: f, r0: 0, r1: f }, f).map((cell) => this.pool(map, cell));
          described.set(raster, whole);
        });
      }
      for (const { r, si, raster } of items) {
        const { descriptor, side: f, cells } = described.get(raster)!;
        const { parts } = specs[si];
        out[r][si] = {
          descriptor,
          side: f,
          ...(specs[si].cells ? { cells } : {}),
          // A part pooled from the whole view's map carries its surroundings (the receptive field
          // spans the map): cropped and forwarded on its own, it codes as the picture it is.
          ...(parts ? { parts: await this.describeParts(raster, parts, side) } : {}),
        };
      }
    }
    return out;
  }

  private check(input: DescribeInput): void {
    const { raster } = input;
    if (raster.data.length !== raster.width * raster.height * 3) throw new Error('raster data does not match its size');
    if (this.config.mode === 'rmac') {
      const bad = input.views.find((v) => v.level >= this.config.levelSides.length);
      if (bad) throw new ViewPlanMismatchError(`view level ${bad.level} not in model (levels 0..${this.config.levelSides.length - 1})`);
    }
  }

  /** One forward per distinct side; every view pools its cells from the map of its level's side. */
  private async describeRmac(inputs: DescribeInput[], out: Float32Array[][]): Promise<void> {
    const sides = [...new Set(this.config.levelSides)];
    for (const side of sides) {
      const wanted = (v: View) => this.config.levelSides[v.level] === side;
      const images = inputs.map((_, i) => i).filter((i) => inputs[i].views.some(wanted));
      for (const chunk of chunks(images, this.batchSize(side))) {
        const { data, f } = await this.featureMaps(chunk.map((i) => inputs[i].raster), side);
        chunk.forEach((i, n) => {
          const { views, width, height } = inputs[i];
          const map = this.cellsOf(data, n, f);
          views.forEach((v, vi) => {
            if (!wanted(v)) return;
            const cells = boxToCells(unitBox(v.box, width, height), f);
            out[i][vi] = this.pool(map, cells);
          });
        });
      }
    }
  }

  /** Each regional view cropped and resized to the native side; full-image views skip the crop. */
  private async describeCrops(inputs: DescribeInput[], out: Float32Array[][]): Promise<void> {
    const side = this.backbone.nativeSide;
    const items = inputs.flatMap((input, i) => input.views.map((v, vi) => ({ i, vi, unit: unitBox(v.box, input.width, input.height) })));
    for (const chunk of chunks(items, this.batchSize(side))) {
      const { data, f } = await this.forward(chunk.length, side, (n, batch, offset) => {
        const { i, unit } = chunk[n];
        const full = unit.x === 0 && unit.y === 0 && unit.w === 1 && unit.h === 1;
        if (full) writeRasterInput(inputs[i].raster, side, batch, offset);
        else writeCropInput(inputs[i].raster, unit, side, batch, offset);
      });
      chunk.forEach(({ i, vi }, n) => {
        out[i][vi] = this.pool(this.cellsOf(data, n, f), { c0: 0, c1: f, r0: 0, r1: f });
      });
    }
  }

  /** Each box of a raster (fractions of it) cropped, resized to `side` and described whole. */
  private async describeParts(raster: RgbRaster, boxes: readonly Box[], side: number): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const chunk of chunks([...boxes], this.batchSize(side))) {
      const { data, f } = await this.forward(chunk.length, side, (n, batch, offset) => writeCropInput(raster, chunk[n], side, batch, offset));
      chunk.forEach((_, n) => out.push(this.pool(this.cellsOf(data, n, f), { c0: 0, c1: f, r0: 0, r1: f })));
    }
    return out;
  }

  /** Map `n` of a batch, ready to pool regions from (average pooling reads a summed-area table). */
  private cellsOf(data: Float32Array, n: number, f: number): PoolSource {
    const c = this.backbone.dim;
    const { pooling } = this.config;
    if (pooling === 'avg') {
      const sums = new CellSums(data, n, f, c);
      return (cells) => sums.average(cells);
    }
    return (cells) => poolRegion(data, n, f, c, cells, pooling);
  }

  /** The descriptor of `cells` of a map: pooled and normalised, per grid part when configured. */
  private pool(map: PoolSource, cells: CellRange): Float32Array {
    const { grid = 1 } = this.config;
    if (grid === 1) return l2Normalize(map(cells));
    return concatNormalized(gridCells(cells, grid).map(map));
  }

  private featureMaps(rasters: RgbRaster[], side: number): Promise<{ data: Float32Array; f: number }> {
    return this.forward(rasters.length, side, (n, batch, offset) => writeRasterInput(rasters[n], side, batch, offset));
  }

  /** One backbone forward over `n` inputs of side x side, each written into the batch by `write`. */
  private async forward(n: number, side: number, write: (n: number, batch: Float32Array, offset: number) => void): Promise<{ data: Float32Array; f: number }> {
    const size = side * side * 3;
    const batch = new Float32Array(n * size);
    for (let i = 0; i < n; i++) write(i, batch, i * size);
    return { data: await this.backbone.featureMaps(batch, n, side), f: this.backbone.featureMapSide(side) };
  }

  private batchSize(side: number): number {
    const budget = Math.min(this.backbone.maxBatchPixels ?? Infinity, this.maxBatchPixels);
    return Math.max(1, Math.floor(budget / (side * side)));
  }
}

/** The raster as a whole-image spec looks at it: trimmed, tilted back, turned (in that order). */
function viewRaster(raster: RgbRaster, spec: WholeViewSpec, size: ImageSize): RgbRaster {
  const trimmed = spec.trim ? trimBorders(raster) : raster;
  const upright = spec.tilt ? untiltRaster(trimmed, spec.tilt, size.width, size.height) : trimmed;
  return orientRaster(upright, spec.orientation);
}

/** Pools one cell range of one feature map. */
type PoolSource = (cells: CellRange) => Float32Array;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
