import { describe, expect, it } from 'vitest';
import type { QueryView } from '../../search/fusion/query-plan.ts';
import { levelBoxesUnit } from '../../view/view-plan.ts';
import { builtinArtifact } from '../builtin/builtin-models.ts';
import { isSearchedLevel } from '../../view/view-plan.ts';
import { CELL_VERIFICATION, defaultQueryPlan, pairedQuerySide, PIXEL_WEIGHT, QUERY_OFFSETS } from './default-query-plan.ts';

const searched = (offsets: (number | null)[]) => offsets.flatMap((o, l) => (o === null ? [] : [l]));
/** Each view as name:side:levels it searches. */
const summary = (views: QueryView[]) => views.map((v) => `${v.name}:${v.side}:${searched(v.offsets)}`);

describe('defaultQueryPlan', () => {
  it('serves pyramid regions (2x2 / 3x3 of a 320 forward) with downsized views', () => {
    const { plan, descriptor } = builtinArtifact('builtin:mobilenetv2-rp256-dct').header;
    expect(summary(defaultQueryPlan(descriptor, plan).views)).toEqual([
      'global:224:0,1,2',
      's160:160:1,2',
      's128:128:1,2',
      'flip:224:0,1,2',
      'rot90:224:0',
      'rot270:224:0',
      'trim:224:0',
      'tilt+7.5:224:0',
      'tilt-7.5:224:0',
      'dct:224:3',
    ]);
  });

  it('pairs each scale-paired level with the view at its regions\' pixel side, larger views at a higher offset', () => {
    const { plan, descriptor } = builtinArtifact('builtin:mobilenetv2-rp256-p640-dct').header;
    // 7, 10 and 14 cells of a 20x20 map (640 / 32), stepped by 2 cells.
    expect(plan.levels.map((l) => [l.name, l.grid, Math.round(levelBoxesUnit(l)[0].w * 20 * 100) / 100])).toEqual([
      ['global', 1, 20],
      ['p224', 7, 7],
      ['p320', 6, 10],
      ['p448', 4, 14],
      ['dct', 1, 20],
    ]);
    expect(plan.levels.map((_, l) => pairedQuerySide(plan, descriptor, l, 224))).toEqual([null, 224, 320, 448, null]);
    const views = defaultQueryPlan(descriptor, plan).views;
    expect(summary(views)).toEqual([
      'global:224:0,1',
      's320:320:2',
      's448:448:3',
      'flip:224:0,1',
      'rot90:224:0',
      'rot270:224:0',
      'trim:224:0',
      'tilt+7.5:224:0',
      'tilt-7.5:224:0',
      'dct:224:4',
    ]);
    const offset = (name: string, level: number) => views.find((v) => v.name === name)!.offsets[level]!;
    expect(offset('global', 1)).toBe(QUERY_OFFSETS.region);
    expect(offset('s320', 2)).toBeGreaterThan(offset('global', 1));
    expect(offset('s448', 3)).toBeCloseTo(QUERY_OFFSETS.region + QUERY_OFFSETS.pairedScale, 6);
  });

  it('pairs a finer level (-p448c5) with a view below the global side, at the region offset', () => {
    const { plan, descriptor } = builtinArtifact('builtin:mobilenetv2-rp256-p448c5-dct').header;
    // 5-cell regions of a 14x14 map: 5 positions a side; the 7- and 10-cell levels as in -p448.
    expect(plan.levels.map((l) => [l.name, l.grid, Math.round(levelBoxesUnit(l)[0].w * 14 * 100) / 100, l.querySide])).toEqual([
      ['global', 1, 14, undefined],
      ['p160', 5, 5, 160],
      ['p224', 4, 7, undefined],
      ['p320', 3, 10, undefined],
      ['dct', 1, 14, undefined],
    ]);
    // The coarser levels are those of -p448, so both plans pair them alike.
    expect(plan.levels.slice(2)).toEqual(builtinArtifact('builtin:mobilenetv2-rp256-p448-dct').header.plan.levels.slice(1));
    const views = defaultQueryPlan(descriptor, plan).views;
    expect(summary(views)).toEqual([
      'global:224:0,2',
      's160:160:1',
      's320:320:3',
      'flip:224:0,2',
      'rot90:224:0',
      'rot270:224:0',
      'trim:224:0',
      'tilt+7.5:224:0',
      'tilt-7.5:224:0',
      'dct:224:4',
    ]);
    expect(views.find((v) => v.name === 's160')!.offsets[1]).toBe(QUERY_OFFSETS.region);
    expect(() => builtinArtifact('builtin:mobilenetv2-rp256-p448c7-dct')).toThrow(/4\.\.6 cells/);
    expect(() => builtinArtifact('builtin:mobilenetv2-rp256-p448c3-dct')).toThrow(/4\.\.6 cells/);
  });

  it('refuses to mix scale-paired regions with a pyramid depth', () => {
    expect(() => builtinArtifact('builtin:mobilenetv2-rp256-p640-l4')).toThrow(/drop -l/);
    // A forward too small for the largest region keeps the levels that fit twice (14 cells need >= 512).
    expect(builtinArtifact('builtin:mobilenetv2-rp64-p448').header.plan.levels.map((l) => l.name)).toEqual(['global', 'p224', 'p320']);
    expect(builtinArtifact('builtin:mobilenetv2-rp64-p480').header.plan.levels.map((l) => l.name)).toEqual(['global', 'p224', 'p320']);
  });

  it('with a cell level (-cells): never searches it, codes the upright views\' cells and verifies', () => {
    const { plan, descriptor } = builtinArtifact('builtin:mobilenetv2-rp256-p448c5-cells-dct').header;
    const plain = builtinArtifact('builtin:mobilenetv2-rp256-p448c5-dct').header;
    // The -p448c5 levels, then one code per cell of the 14x14 map of the 448 forward, then dct.
    expect(plan.levels.slice(0, 4)).toEqual(plain.plan.levels.slice(0, 4));
    expect(plan.levels.slice(4)).toEqual([
      { name: 'cells', grid: 14, overlap: 0, kind: 'cells' },
      { name: 'dct', grid: 1, overlap: 0, kind: 'dct' },
    ]);
    expect(descriptor.levelSides).toEqual([224, 448, 448, 448, 448, 224]);
    expect(pairedQuerySide(plan, descriptor, 4, 224)).toBeNull();
    const query = defaultQueryPlan(descriptor, plan);
    expect(summary(query.views)).toEqual(['global:224:0,2', 's160:160:1', 's320:320:3', 'flip:224:0,2', 'rot90:224:0', 'rot270:224:0', 'trim:224:0', 'tilt+7.5:224:0', 'tilt-7.5:224:0', 'dct:224:5']);
    expect(query.views.filter((v) => v.cells).map((v) => v.name)).toEqual(['global', 's160', 's320']);
    // Thumbnails too: without a pixel level the query service makes them from the bucket's images.
    expect(query.verify).toEqual({ ...CELL_VERIFICATION, pixelWeight: PIXEL_WEIGHT });
    expect(defaultQueryPlan(plain.descriptor, plain.plan).verify).toBeUndefined();
    expect(() => builtinArtifact('builtin:mobilenetv2-rp256-cells-dct')).toThrow(/-cells needs a regional forward of its own/);
  });

  it('with a pixel level (-px<side>): never searches it, and verification also checks thumbnails', () => {
    const { plan, descriptor } = builtinArtifact('builtin:mobilenetv2-rp256-p448c5-cells64-px48-dct').header;
    expect(plan.levels.slice(4).map((l) => [l.name, l.kind, l.grid, l.bits])).toEqual([
      ['cells', 'cells', 14, 64],
      ['pixels', 'pixels', 1, 48 * 48 * 8],
      ['dct', 'dct', 1, undefined],
    ]);
    expect(descriptor.levelSides).toHaveLength(plan.levels.length);
    expect(isSearchedLevel(plan, 5)).toBe(false);
    const query = defaultQueryPlan(descriptor, plan);
    expect(query.views.every((v) => v.offsets[5] === null || v.offsets[5] === undefined)).toBe(true);
    expect(query.verify).toEqual({ ...CELL_VERIFICATION, pixelWeight: PIXEL_WEIGHT });
    expect(() => builtinArtifact('builtin:mobilenetv2-rp256-p448c5-cells64-px8-dct')).toThrow(/16\.\.256/);
  });
});
