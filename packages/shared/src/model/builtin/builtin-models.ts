import { DEFAULT_VIEW_PLAN, withDctLevel, type ViewLevel } from '../../view/view-plan.ts';
import { buildArtifact, type ModelArtifact } from '../artifact/model-artifact.ts';
import { NsfwjsMobileNetBackbone } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import { DEFAULT_DESCRIPTOR_CONFIG, type DescriptorConfig } from '../descriptor/descriptor-config.ts';
import { seededGaussian } from '../head/seeded-gaussian.ts';
import { MOBILENETV2_MEAN_BASE64 } from './mobilenetv2-mean.ts';

/**
 * Untrained models that need no artifact file:
 *
 *   builtin:mobilenetv2-rp<bits>[-crop|-r<side>|-p<side>[c<cells>]][-l<grid>][-cells[<bits>]][-px<side>][-dct][-s<seed>]   e.g. builtin:mobilenetv2-rp256-p448c5-cells-dct
 *
 * Descriptor: MobileNetV2-1.4 (nsfwjs), DEFAULT_DESCRIPTOR_CONFIG (R-MAC, regions from a 320
 * forward; `-r448`: regions from a 448 forward, better regional codes at ~2/3 the throughput;
 * `-crop`: one forward per view, ~10x the cost of a global pass), DEFAULT_VIEW_PLAN (`-l4`: regional
 * levels 2x2 .. 4x4 instead of 2x2 and 3x3, pooled from the same forward; `-p<side>`: scale-paired
 * regions, see pairedRegionLevels; `-p<side>c<cells>` adds a finer paired level of regions `cells` wide; `-cells`
 * adds a cell level: every cell of the regional forward's map coded, for CellGridVerifier; `-cells64`
 * keeps the first 64 bits of each cell's code); `-px<side>` adds a pixel level: the image's grey
 * side x side thumbnail, for PixelVerifier; `-dct` adds a
 * perceptual level (DctHash of the whole image, `bits` long; no forward) and its query view.
 * Head (linear-sign): subtract the mean descriptor of the photos data set
 * (mobilenetv2-mean.ts), project on `bits` Gaussian hyperplanes drawn by seededGaussian(seed)
 * (row-major [bits, 1792]; seed 1 unless -s is given), sign. Random hyperplanes keep cosine
 * similarity: P(bit differs) = angle / pi (Charikar's SimHash).
 * Changing any of this changes codes: define a new id instead.
 */
const BUILTIN_ID = /^builtin:mobilenetv2-rp(\d+)(?:(-crop)|-r(\d+)|-p(\d+)(?:c(\d+))?)?(?:-l(\d))?(-cells(\d+)?)?(?:-px(\d+))?(-dct)?(?:-s(\d+))?$/;
export const DEFAULT_BUILTIN_SEED = 1;

export function isBuiltinModel(url: string): boolean {
  return url.startsWith('builtin:');
}

export function builtinArtifact(id: string): ModelArtifact {
  const m = BUILTIN_ID.exec(id);
  if (!m) throw new Error(`unknown builtin model "${id}" (expected builtin:mobilenetv2-rp<bits>[-crop|-r<side>|-p<side>[c<cells>]][-l<grid>][-cells[<bits>]][-px<side>][-dct][-s<seed>])`);
  const bits = Number(m[1]);
  if (bits < 8 || bits > 4096 || bits % 8 !== 0) throw new Error(`builtin model bits must be a multiple of 8 in 8..4096, got ${bits}`);
  const seed = m[11] === undefined ? DEFAULT_BUILTIN_SEED : Number(m[11]);
  if (!Number.isSafeInteger(seed) || seed > 0xffffffff) throw new Error(`builtin model seed must fit 32 bits, got ${m[11]}`);
  const pairedSide = m[4] === undefined ? undefined : Number(m[4]);
  if (pairedSide !== undefined && m[6] !== undefined) throw new Error('builtin model: -p<side> sets its own regional levels; drop -l');
  const finestCells = m[5] === undefined ? undefined : Number(m[5]);
  if (finestCells !== undefined && (finestCells < MIN_PAIRED_CELLS || finestCells >= PAIRED_REGION_CELLS[0])) {
    throw new Error(`builtin model: finer paired regions are ${MIN_PAIRED_CELLS}..${PAIRED_REGION_CELLS[0] - 1} cells wide, got c${finestCells}`);
  }
  const maxGrid = m[6] === undefined ? 3 : Number(m[6]);
  if (maxGrid < 2 || maxGrid > 6) throw new Error(`builtin model pyramid must end at a 2x2..6x6 grid, got ${maxGrid}`);
  const regionSide = m[3] === undefined ? pairedSide : Number(m[3]);
  if (regionSide !== undefined && (regionSide < 64 || regionSide > 1024)) throw new Error(`builtin model region side must be in 64..1024, got ${regionSide}`);
  const regionLevels = pairedSide === undefined ? pyramidLevels(maxGrid) : pairedRegionLevels(pairedSide, finestCells);
  const cellLevels = m[7] === undefined ? [] : [cellLevel(pairedSide, m[8] === undefined ? undefined : Number(m[8]), bits)];
  const cnnPlan = { levels: [DEFAULT_VIEW_PLAN.levels[0], ...regionLevels, ...cellLevels] };
  const pixels = m[9] === undefined ? [] : [pixelLevel(Number(m[9]))];
  const [globalSide, side] = [DEFAULT_DESCRIPTOR_CONFIG.levelSides[0], regionSide ?? DEFAULT_DESCRIPTOR_CONFIG.levelSides[1]];
  // (crop mode ignores levelSides and runs every view at the native side)
  const levelSides = cnnPlan.levels.map((_, l) => (l === 0 ? globalSide : side));
  const cnn: DescriptorConfig = { ...DEFAULT_DESCRIPTOR_CONFIG, mode: m[2] ? 'crop' : 'rmac', levelSides };
  const dct = m[10] !== undefined;
  const withPixels = { levels: [...cnnPlan.levels, ...pixels] };
  const plan = dct ? withDctLevel(withPixels) : withPixels;
  // levelSides has one entry per level; dct and pixel levels run no forward and ignore their own.
  const descriptor: DescriptorConfig = { ...cnn, levelSides: [...cnn.levelSides, ...plan.levels.slice(cnnPlan.levels.length).map(() => cnn.levelSides[0])] };
  const dim = 1792;
  const mean = meanVector(dim);
  return buildArtifact({
    id,
    backbone: NsfwjsMobileNetBackbone.ID,
    plan,
    descriptor,
    descriptorDim: dim,
    head: {
      spec: { type: 'linear-sign', inDim: dim, bits },
      tensors: [
        { name: 'mean', shape: [dim], data: mean },
        { name: 'weight', shape: [bits, dim], data: seededGaussian(seed, bits * dim) },
        { name: 'bias', shape: [bits], data: new Float32Array(bits) },
      ],
    },
    meta: { head: 'random projection (SimHash) of mean-centred descriptors', seed },
  });
}

/** DEFAULT_VIEW_PLAN's regional levels (2x2, 3x3), extended or cut to end at maxGrid x maxGrid. */
function pyramidLevels(maxGrid: number): ViewLevel[] {
  const levels = DEFAULT_VIEW_PLAN.levels.slice(1);
  for (let g = levels.length + 2; g <= maxGrid; g++) levels.push({ ...levels[levels.length - 1], name: `r${g}`, grid: g });
  return levels.filter((l) => l.grid <= maxGrid);
}

/** Region sides (in cells of the regional forward's map) of scale-paired levels, smallest first. */
export const PAIRED_REGION_CELLS = [7, 10, 14] as const;
/** The finest paired regions `-p<side>c<cells>` may add: 4 cells is a 4x4 map at query time (128 px). */
const MIN_PAIRED_CELLS = 4;
/** Region step of scale-paired levels, in cells: neighbours share 5/7 .. 6/7 of a side. */
const PAIRED_STEP_CELLS = 2;
/** The network's stride: a map cell is this many pixels of its forward. */
const CELL_PX = 32;

/**
 * Scale-paired regional levels (`-p<side>`): one forward at `side` (a 20x20 map at 640); level k holds
 * every region of PAIRED_REGION_CELLS[k] x PAIRED_REGION_CELLS[k] cells on a 2-cell step. A region of
 * c cells spans c x 32 pixels of that forward, so a crop seen by the query at c x 32 px (224, 320,
 * 448) is compared with regions encoded at its own pixel scale — the 224-px query view meets the
 * 7-cell regions (35% of a 640 side: a 10% crop), the 320 and 448 views the 10- and 14-cell ones
 * (25% and 50% crops). defaultQueryPlan pairs them by that rule. Pyramid levels of a small forward
 * (2x2 / 3x3 at 320) instead see a crop downsized; measured on the copy-detection benchmark (float
 * descriptors, docs/benchmarks.md): 10% crops 0.43 -> 0.66.
 * `finestCells` (`-p<side>c<cells>`) adds a level of smaller regions first (5 cells: 36% of a 448
 * side, a 10% crop's size), paired with a query view of cells x 32 px; that level carries the side
 * as `querySide`, since below the global side a paired level cannot be told from a pyramid level by
 * its size (measured: docs/benchmarks.md, "Finer paired regions").
 */
export function pairedRegionLevels(side: number, finestCells?: number): ViewLevel[] {
  const f = side / CELL_PX;
  const cells = finestCells === undefined ? PAIRED_REGION_CELLS : [finestCells, ...PAIRED_REGION_CELLS];
  // A size needs room for two positions (a single region this large is nearly the global view).
  return cells
    .filter((c) => f - c >= PAIRED_STEP_CELLS)
    .map((c) => {
      const grid = Math.floor((f - c) / PAIRED_STEP_CELLS) + 1;
      // levelBoxesUnit: size = 1 / (grid - (grid - 1) * overlap)
      const overlap = (grid - f / c) / (grid - 1);
      const level: ViewLevel = { name: `p${c * CELL_PX}`, grid, overlap: Math.round(overlap * 1e4) / 1e4 };
      return c < PAIRED_REGION_CELLS[0] ? { ...level, querySide: c * CELL_PX } : level;
    });
}

/** `-cells[<bits>]`: one view per cell of the regional forward's map, never searched (CellGridVerifier). */
function cellLevel(side: number | undefined, cellBits: number | undefined, bits: number): ViewLevel {
  if (side === undefined) throw new Error('builtin model: -cells needs a regional forward of its own (-p<side>)');
  if (side % CELL_PX !== 0) throw new Error(`builtin model: -cells needs a regional side that is a multiple of ${CELL_PX}, got ${side}`);
  if (cellBits !== undefined && (cellBits % 8 !== 0 || cellBits < 8 || cellBits > bits)) throw new Error(`builtin model: cell codes keep a multiple of 8 bits up to ${bits}, got -cells${cellBits}`);
  const level: ViewLevel = { name: 'cells', grid: side / CELL_PX, overlap: 0, kind: 'cells' };
  return cellBits === undefined || cellBits === bits ? level : { ...level, bits: cellBits };
}

/** `-px<side>`: the image's side x side grey thumbnail, never searched (PixelVerifier). */
function pixelLevel(side: number): ViewLevel {
  if (!Number.isInteger(side) || side < 16 || side > 256) throw new Error(`builtin model: a pixel level's side is 16..256, got -px${side}`);
  return { name: 'pixels', grid: 1, overlap: 0, kind: 'pixels', bits: side * side * 8 };
}

let mean: Float32Array | undefined;

function meanVector(dim: number): Float32Array {
  if (!mean) {
    const bytes = Buffer.from(MOBILENETV2_MEAN_BASE64, 'base64');
    if (bytes.length !== dim * 4) throw new Error('builtin mean vector has the wrong length');
    mean = new Float32Array(dim);
    for (let i = 0; i < dim; i++) mean[i] = bytes.readFloatLE(i * 4);
  }
  return mean;
}
