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
});
export type DescriptorConfig = z.infer<typeof DescriptorConfigSchema>;

/**
 * Global and 2x2 views from a 224 forward would see regions of only ~4x4 cells; the 448 forward
 * (14x14 map) gives both regional levels about as many cells per region as a 224 crop has (6-9 vs 7).
 */
export const DEFAULT_DESCRIPTOR_CONFIG: DescriptorConfig = {
  mode: 'rmac',
  levelSides: [224, 448, 448],
  pooling: 'avg',
};
