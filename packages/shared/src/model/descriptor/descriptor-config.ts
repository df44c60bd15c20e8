import { z } from 'zod';

/**
 * How a view becomes a float descriptor. Codes depend on every field, so the config is part of a
 * model artifact and of its identity.
 *
 * - `rmac`: one backbone forward per distinct side in `levelSides`; each view's descriptor pools
 *   the feature-map cells its box covers (R-MAC style). Level 0 at the native 224 side pooled
 *   over the whole map equals the network's own global average pool.
 * - `crop`: every regional view is cropped from the canonical raster, resized to 224 and run
 *   through the backbone on its own (one forward per view: ~14x the cost of a global pass).
 */
export const DescriptorConfigSchema = z.object({
  mode: z.enum(['rmac', 'crop']),
  /** rmac: input side of the forward pass that serves plan level i. */
  levelSides: z.array(z.number().int().min(32).max(1024)).min(1),
  /** Pooling of feature-map cells inside a box (avg matches the backbone's own global pool). */
  pooling: z.enum(['avg', 'max', 'gem']),
  /**
   * Layout-keeping descriptors: each view's cells split grid x grid, each part pooled and
   * normalised, side by side (grid^2 x the backbone's width). For supervised heads on objects whose
   * kind shows in their shape (sleeves, collars); 1 (absent) = one pooled vector per view.
   */
  grid: z.number().int().min(1).max(4).optional(),
});
export type DescriptorConfig = z.infer<typeof DescriptorConfigSchema>;

/**
 * The pyramid config (builtin ids without -p): global view from a 224 forward (the backbone's
 * native size: most robust to resizing and recompression); both regional levels pooled from one 320 forward (10x10 map: 6x6 cells per 2x2
 * region, 4-5 per 3x3 region), cheap on one wasm core (224 ~55 ms, 320 ~110-120 ms, 448 ~230-260
 * ms per image); a 448 fine pass gives better regional codes (a crop of a 2x2/3x3 region finds its
 * image first 93% vs 81% of the time, 140 crops of 35 photos): `builtin:mobilenetv2-rp64-r448`. The
 * default model (`-p448c5`, builtin-models.ts) pools scale-paired regions from a 448 forward.
 */
export const DEFAULT_REGION_SIDE = 320;

export const DEFAULT_DESCRIPTOR_CONFIG: DescriptorConfig = {
  mode: 'rmac',
  levelSides: [224, DEFAULT_REGION_SIDE, DEFAULT_REGION_SIDE],
  pooling: 'avg',
};
