import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hammingDistance } from '../code/bit-code.ts';
import { decodeCanonical, toCanonical, CANONICAL_SIDE } from '../image/canonical-image.ts';
import { createLogger } from '../log/logger.ts';
import { REPO_ROOT } from '../config/config.ts';
import { DEFAULT_VIEW_PLAN, planViews } from '../view/view-plan.ts';
import { writeArtifact } from './artifact/artifact-store.ts';
import { MOBILENET_FEATURE_MAP_NODE, MOBILENET_POOLED_NODE, NsfwjsMobileNetBackbone } from './backbone/nsfwjs-mobilenet-backbone.ts';
import { readNsfwjsBundle } from './backbone/nsfwjs-bundle.ts';
import { initRuntime } from './runtime/select-runtime.ts';
import type { EncodeInput, HashModel } from './hash-model.ts';
import { loadHashModel } from './load-hash-model.ts';
import { CellGridVerifier } from '../search/fusion/cell-grid-verifier.ts';
import { initTf } from './runtime/tf-runtime.ts';

const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');
const logger = createLogger('model-test', 'silent');

/** What ingest does with a file: orient, flatten alpha, canonical JPEG. */
async function canonical(bytes: Buffer): Promise<EncodeInput & { image: Buffer }> {
  const meta = await sharp(bytes).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const image = await toCanonical(sharp(bytes).rotate().flatten({ background: '#ffffff' }));
  return { image, width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}
const photo = (name: string) => readFileSync(path.join(PHOTOS, name));
const hex = (codes: { code: Uint8Array }[]) => codes.map((c) => bytesToHex(c.code));

let model: HashModel;
let horse: EncodeInput & { image: Buffer };
let messi: EncodeInput & { image: Buffer };

beforeAll(async () => {
  model = await loadHashModel('builtin:mobilenetv2-rp64', { logger });
  horse = await canonical(photo('horse.jpg'));
  messi = await canonical(photo('messi.jpg'));
});

describe('backbone', () => {
  it('loads once per runtime and gives the 7x7 / 14x14 feature maps', async () => {
    const runtime = await initRuntime(undefined, logger);
    const t0 = performance.now();
    const backbone = await runtime.loadBackbone(NsfwjsMobileNetBackbone.ID); // cached: same instance
    expect(performance.now() - t0).toBeLessThan(50);
    expect(backbone.id).toBe('nsfwjs:mobilenet_v2_mid');
    const raster = await decodeCanonical(horse.image);
    expect([raster.width, raster.height]).toEqual([CANONICAL_SIDE, CANONICAL_SIDE]);
    const x448 = Float32Array.from(raster.data, (v) => v / 255);
    const x224 = new Float32Array(2 * 224 * 224 * 3);
    const large = await backbone.featureMaps(x448, 1, 448);
    const small = await backbone.featureMaps(x224, 2, 224);
    expect(large.length).toBe(14 * 14 * 1792);
    expect(small.length).toBe(2 * 7 * 7 * 1792);
    expect(large.every((v) => v >= 0 && v <= 6)).toBe(true); // ReLU6
  });

  it('on TF.js: the graph\'s own pooled node is the global average of the feature map we pool regions from', async () => {
    const { tf } = await initTf(logger, { tfjsNode: false });
    const raster = await decodeCanonical(horse.image);
    const x = tf.avgPool(tf.tensor4d(Float32Array.from(raster.data, (v) => v / 255), [1, 448, 448, 3]), 2, 2, 'valid');
    const model = await tf.loadGraphModel(tf.io.fromMemory(await bundleArtifacts()));
    const [map, pooled] = model.execute(x, [MOBILENET_FEATURE_MAP_NODE, MOBILENET_POOLED_NODE]) as import('@tensorflow/tfjs').Tensor[];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(pooled, tf.mean(map, [1, 2])))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x, map, pooled]);
    model.dispose();
  });
});

/** The bundled graph as TF.js loads it (224 input). */
async function bundleArtifacts() {
  const b = await readNsfwjsBundle();
  const w = b.weightData;
  return { modelTopology: b.topology, format: b.format, weightSpecs: b.weightSpecs as never, weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) };
}

describe('hash model', () => {
  it('encodes 14 views (1 global, 2x2, 3x3) with the plan boxes and 64-bit codes', async () => {
    const [views] = await model.encode([horse]);
    expect(model.id).toBe('builtin:mobilenetv2-rp64');
    expect(model.bits).toBe(64);
    expect(views).toHaveLength(14);
    expect(views.map((v) => v.level)).toEqual([0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(views.map(({ level, index, box }) => ({ level, index, box }))).toEqual(planViews(DEFAULT_VIEW_PLAN, horse.width, horse.height));
    expect(views.every((v) => v.code.length === 8)).toBe(true);
    expect(new Set(hex(views)).size).toBeGreaterThan(10); // regions see different content
  });

  it('is deterministic: same raster, alone or batched, gives identical codes', async () => {
    const alone = await model.encode([messi]);
    const again = await model.encode([messi]);
    const batched = await model.encode([horse, messi, { ...messi, image: await decodeCanonical(messi.image) }]);
    expect(hex(again[0])).toEqual(hex(alone[0]));
    expect(hex(batched[1])).toEqual(hex(alone[0]));
    expect(hex(batched[2])).toEqual(hex(alone[0]));
  });

  it('keeps a resized, recompressed copy close at the global level and unrelated photos far', async () => {
    const names = ['horse.jpg', 'messi.jpg', 'board.jpg', 'retina.jpg', 'smarties.jpg'];
    const originals = await Promise.all(names.map((n) => canonical(photo(n))));
    const copies = await Promise.all(
      names.map(async (n) => {
        const meta = await sharp(photo(n)).metadata();
        return canonical(await sharp(photo(n)).resize(Math.round(meta.width! * 0.6)).jpeg({ quality: 60 }).toBuffer());
      }),
    );
    const global = (inputs: EncodeInput[]) => model.encode(inputs.map((i) => ({ ...i, views: [{ level: 0, index: 0, box: { x: 0, y: 0, w: i.width, h: i.height } }] })));
    const [a, b] = [await global(originals), await global(copies)];
    names.forEach((_, i) => {
      const copy = hammingDistance(a[i][0].code, b[i][0].code);
      const unrelated = Math.min(...names.map((_, j) => (j === i ? 64 : hammingDistance(a[i][0].code, a[j][0].code))));
      expect(copy).toBeLessThanOrEqual(12);
      expect(unrelated).toBeGreaterThanOrEqual(14);
      expect(copy).toBeLessThan(unrelated);
    });
  });

  it('finds a cropped region by its regional code (R-MAC boxes match real crops)', async () => {
    const [views] = await model.encode([horse]);
    const box = views[9].box; // 3x3 grid, centre
    const crop = await canonical(await sharp(photo('horse.jpg')).extract({ left: box.x, top: box.y, width: box.w, height: box.h }).toBuffer());
    const [[query]] = await model.encode([{ ...crop, views: [{ level: 0, index: 0, box: { x: 0, y: 0, w: crop.width, h: crop.height } }] }]);
    const [other] = await model.encode([messi]);
    const toRegion = hammingDistance(query.code, views[9].code);
    expect(toRegion).toBeLessThan(Math.min(...other.slice(1).map((v) => hammingDistance(query.code, v.code))));
  });

  it('rejects views of levels the model does not have', async () => {
    await expect(model.encode([{ ...horse, views: [{ level: 3, index: 0, box: { x: 0, y: 0, w: 10, h: 10 } }] }])).rejects.toThrow(/level 3/);
  });

  it('per-crop alternative gives 14 codes and the same global code as R-MAC', async () => {
    const crop = await loadHashModel('builtin:mobilenetv2-rp64-crop', { logger });
    const [c] = await crop.encode([horse]);
    const [r] = await model.encode([horse]);
    expect(c).toHaveLength(14);
    expect(hammingDistance(c[0].code, r[0].code)).toBe(0); // full-image view: same 224 forward, same pooling
  });
});

describe('cell level (-cells64)', () => {
  it('codes every cell of the 448 map in 64 bits, and a crop\'s own cells agree with its source\'s where it was cut', async () => {
    const cells = await loadHashModel('builtin:mobilenetv2-rp256-p448-cells64', { logger });
    const level = cells.plan.levels.findIndex((l) => l.kind === 'cells');
    const codes = (await cells.encode([horse]))[0].filter((v) => v.level === level);
    expect(codes.length).toBe(14 * 14);
    expect(codes.every((c) => c.code.length === 8)).toBe(true);
    // One cell per view, row-major: view 15 is row 1, column 1 of the 14x14 grid.
    expect(codes[15].box).toMatchObject({ x: Math.round(horse.width / 14), y: Math.round(horse.height / 14) });
    // The query side: the upright views code their maps' cells; the crop's grid finds where it was cut.
    const meta = await sharp(photo('horse.jpg')).metadata();
    const left = Math.round(meta.width! * 0.25);
    const top = Math.round(meta.height! * 0.25);
    const crop = await canonical(await sharp(photo('horse.jpg')).extract({ left, top, width: Math.round(meta.width! / 2), height: Math.round(meta.height! / 2) }).toBuffer());
    const query = await cells.encodeQuery(crop);
    const grids = query.flatMap((q) => (q.cells ? [q.cells] : []));
    expect(grids.map((g) => g.side)).toEqual([7, 10]); // global 224 and s320
    const verifier = CellGridVerifier.forPlan(cells.bits, cells.plan, cells.queryPlan.verify)!;
    const stored = Uint8Array.from(codes.flatMap((c) => [...c.code]));
    const m = verifier.match(grids, stored)!;
    // The crop spans cells 3.5..10.5 of the source's map.
    expect(m.cells.c0).toBeGreaterThanOrEqual(3);
    expect(m.cells.c1).toBeLessThanOrEqual(12);
    expect(m.score).toBeGreaterThan(verifier.match(grids, Uint8Array.from((await cells.encode([messi]))[0].filter((v) => v.level === level).flatMap((c) => [...c.code])))!.score + 0.1);
  });
});

describe('artifact file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'loupe-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saves and loads back (file:// URL and plain path) with identical codes', async () => {
    const file = path.join(dir, 'rp64.loupe');
    await writeArtifact(file, model.toArtifact());
    const byUrl = await loadHashModel(pathToFileURL(file).href, { logger });
    const byPath = await loadHashModel(file, { logger });
    expect(byUrl.id).toBe(model.id);
    const want = hex((await model.encode([horse]))[0]);
    expect(hex((await byUrl.encode([horse]))[0])).toEqual(want);
    expect(hex((await byPath.encode([horse]))[0])).toEqual(want);
    await expect(loadHashModel('ftp://host/model.loupe', { logger })).rejects.toThrow(/ftp:/);
  });
});
