import { describe, expect, it } from 'vitest';
import { builtinArtifact } from './builtin-models.ts';
import { isShippedModel, shippedArtifact, SHIPPED_MODEL_IDS, untrainedModel } from './shipped-models.ts';
import { loadConfig } from '../../config/config.ts';
import { defaultQueryPlan, PIXEL_WEIGHT } from '../query/default-query-plan.ts';

describe('shipped models', () => {
  it('the default model is a shipped trained head over the p448c5-cells64-dct views and descriptors', async () => {
    const id = loadConfig({}).LOUPE_MODEL;
    expect(isShippedModel(id)).toBe(true);
    const shipped = await shippedArtifact(id);
    expect(untrainedModel(id)).toBe('builtin:mobilenetv2-rp256-p448c5-cells64-dct');
    // The head of the p448c5 file, with the cell level and its verifying query plan added.
    const headOf = await shippedArtifact('builtin:mobilenetv2-copy256-p448c5-dct');
    expect(shipped.tensors.get('weight')).toEqual(headOf.tensors.get('weight'));
    expect(shipped.header.meta).toMatchObject({ headOf: headOf.header.id, viewsOf: 'builtin:mobilenetv2-rp256-p448c5-cells64-dct' });
    expect(shipped.header.plan.levels.find((l) => l.kind === 'cells')).toEqual({ name: 'cells', grid: 14, overlap: 0, kind: 'cells', bits: 64 });
    // No thumbnails in the index: at most 256 bits a stored view; the pixel check reads the bucket.
    expect(shipped.header.plan.levels.every((l) => l.kind !== 'pixels' && (l.bits ?? shipped.header.bits) <= 256)).toBe(true);
    expect((shipped.header.query ?? defaultQueryPlan(shipped.header.descriptor, shipped.header.plan)).verify?.pixelWeight).toBe(PIXEL_WEIGHT);
    const untrained = builtinArtifact(untrainedModel(id));
    expect(shipped.header.id).toBe(id);
    expect(shipped.header.plan).toEqual(untrained.header.plan);
    expect(shipped.header.descriptor).toEqual(untrained.header.descriptor);
    expect(shipped.header.head).toEqual(untrained.header.head);
    expect(shipped.header.meta?.method).toBe('pairs');
    // trained: neither the random projection nor its mean
    const w = shipped.tensors.get('weight')!;
    expect(w.length).toBe(256 * 1792);
    expect(w.some((v, i) => v !== untrained.tensors.get('weight')![i])).toBe(true);
  });

  it('every listed id loads with the views of the builtin it was trained from; an unknown one is refused by name', async () => {
    for (const id of SHIPPED_MODEL_IDS) {
      const { header } = await shippedArtifact(id);
      expect(header.id).toBe(id);
      expect(header.plan).toEqual(builtinArtifact(untrainedModel(id)).header.plan);
    }
    expect(isShippedModel('builtin:mobilenetv2-rp256-p448-dct')).toBe(false);
    expect(untrainedModel('builtin:mobilenetv2-rp64')).toBe('builtin:mobilenetv2-rp64');
    await expect(shippedArtifact('builtin:mobilenetv2-copy64')).rejects.toThrow(/no shipped model "builtin:mobilenetv2-copy64"/);
  });
});
