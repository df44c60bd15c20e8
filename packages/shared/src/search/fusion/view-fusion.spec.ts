import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_PLAN, withDctLevel } from '../../view/view-plan.ts';
import type { QueryView } from './query-plan.ts';
import { ViewFusion, type ProbeHit } from './view-fusion.ts';

const view = (name: string, offsets: (number | null)[]): QueryView => ({ name, orientation: 'none', side: 224, offsets });
const code = new Uint8Array(8);
const hit = (key: string, level: number, distance: number, v = 0): ProbeHit => ({ key, level, view: v, distance, width: 100, height: 80 });

describe('ViewFusion', () => {
  const fusion = new ViewFusion(64, 3);

  it('makes one probe per query view and searched level, offsets in bits', () => {
    const probes = fusion.probes([
      { view: view('global', [0, 0.05, 0.05]), code },
      { view: view('small', [null, 0.1, 0.1]), code },
    ]);
    expect(probes.map((p) => [p.queryView, p.level, p.offset])).toEqual([
      ['global', 0, 0],
      ['global', 1, 3.2],
      ['global', 2, 3.2],
      ['small', 1, 6.4],
      ['small', 2, 6.4],
    ]);
    expect(fusion.probes([{ view: view('global', [0, 0, 0]), code }], 'global').map((p) => p.level)).toEqual([0]);
    expect(fusion.probes([{ view: view('global', [0, 0, 0]), code }], 'region').map((p) => p.level)).toEqual([1, 2]);
  });

  it('for a plan with a dct level: counts it as global granularity and drops its hits past maxDistance', () => {
    const plan = withDctLevel(DEFAULT_VIEW_PLAN);
    const withDct = ViewFusion.forPlan(64, plan);
    const dct: QueryView = { ...view('dct', [null, null, null, 0]), kind: 'dct', maxDistance: 0.25 };
    const codes = [
      { view: view('global', [0, 0.05, 0.05, null]), code },
      { view: dct, code },
    ];
    expect(withDct.probes(codes, 'global').map((p) => [p.queryView, p.level])).toEqual([
      ['global', 0],
      ['dct', 3],
    ]);
    expect(withDct.probes(codes, 'region').map((p) => p.level)).toEqual([1, 2]);
    const probes = withDct.probes([{ view: dct, code }]);
    expect(probes[0].maxDistance).toBe(16);
    expect(withDct.fuse(probes, [[hit('near', 3, 16), hit('far', 3, 17)]], 10).map((h) => h.key)).toEqual(['near']);
  });

  it('keeps the best probe per object and orders by distance + offset', () => {
    const probes = fusion.probes([{ view: view('global', [0, 0.05]), code }]);
    const fused = fusion.fuse(probes, [[hit('a', 0, 10), hit('b', 0, 12)], [hit('b', 1, 4, 3), hit('a', 1, 9)]], 10);
    // b: region 4 + 3.2 = 7.2 beats its global 12; a: global 10 beats region 9 + 3.2.
    expect(fused.map((h) => [h.key, h.level, h.view, h.rank])).toEqual([
      ['b', 1, 3, 7.2],
      ['a', 0, 0, 10],
    ]);
  });

  it('ranks a global match before a regional one at equal rank, then by key', () => {
    const probes = fusion.probes([{ view: view('global', [0, 0]), code }]);
    const fused = fusion.fuse(probes, [[hit('z', 0, 5)], [hit('a', 1, 5), hit('m', 1, 5)]], 2);
    expect(fused.map((h) => h.key)).toEqual(['z', 'a']);
  });

  it('refuses hit lists that do not match the probes', () => {
    expect(() => fusion.fuse(fusion.probes([{ view: view('g', [0]), code }]), [], 1)).toThrow(/1 probes/);
  });
});
