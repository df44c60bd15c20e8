/**
 * Encoder throughput, one process, on photos brought to ~1.5 megapixels (LOUPE_BENCH_MEGAPIXELS):
 * the default model on each inference runtime side by side (ONNX Runtime and TF.js wasm, in
 * interleaved rounds, best round each), the ingest step (decode the original, orient, squash to
 * the canonical 448x448 JPEG) and the encoder step (decode the canonical JPEG, forwards, pooling,
 * hash head) timed apart, since they run in different services; the encoder's images/s is the
 * figure. Then where an ONNX encode spends its time (stages), so the next cost to cut is visible.
 *
 *   npm run bench:encoder
 *   env: LOUPE_DATASETS, LOUPE_BENCH_IMAGES (16), LOUPE_BENCH_ROUNDS (3), LOUPE_ENCODE_BATCH (8),
 *        LOUPE_BENCH_MEGAPIXELS (1.5; 0 keeps the photos as they are), LOUPE_MODEL (the config default),
 *        LOUPE_BENCH_VARIANTS=1 adds other view plans and the per-crop mode on ONNX
 *
 * Timings on a shared machine are noisy: modes run in interleaved rounds and each reports its
 * best round (other processes only ever add time).
 */
import os from 'node:os';
import sharp from 'sharp';
import {
  createLogger,
  decodeCanonical,
  initTf,
  loadConfig,
  loadHashModel,
  OnnxInferenceRuntime,
  TfInferenceRuntime,
  untrainedModel,
  type EncodeInput,
  type HashModel,
  type InferenceRuntime,
} from '@loupe/shared';
import { loadBenchPhotos, PHOTOS_DIR, toEncodeInput, type BenchPhoto } from './support/bench-photos.ts';
import { stageProfile, type StageTimes } from './support/stage-profile.ts';

sharp.concurrency(1); // one process = one core, as the encoder is deployed
const logger = createLogger('bench', 'warn');
const wanted = Number(process.env.LOUPE_BENCH_IMAGES ?? 16);
const rounds = Number(process.env.LOUPE_BENCH_ROUNDS ?? 3);
const batch = Number(process.env.LOUPE_ENCODE_BATCH ?? 8);
const megapixels = Number(process.env.LOUPE_BENCH_MEGAPIXELS ?? 1.5);
const config = loadConfig({ LOUPE_MODEL: process.env.LOUPE_MODEL });
const defaultModel = config.LOUPE_MODEL;

interface Mode {
  name: string;
  model: HashModel;
  globalOnly?: boolean;
}

interface Row {
  mode: string;
  runtime: string;
  views: number;
  /** Ingest side: original to canonical JPEG. */
  prepMsPerImage: number;
  /** Encoder side: canonical JPEG to codes. */
  encodeMsPerImage: number;
  cpuMsPerImage: number;
  /** The encoder process's rate (its share: canonical decode + model). */
  imagesPerSecond: number;
  /** Ingest step and encoder step back to back in one process. */
  endToEndPerSecond: number;
}

async function prepare(mode: Mode, ps: BenchPhoto[]): Promise<EncodeInput[]> {
  const inputs = [];
  for (const p of ps) inputs.push(await toEncodeInput(p)); // one at a time: ingest's own concurrency is not the point here
  return mode.globalOnly ? inputs.map((i) => ({ ...i, views: [{ level: 0, index: 0, box: { x: 0, y: 0, w: i.width, h: i.height } }] })) : inputs;
}

/** One timed pass of a mode over all photos, in batches, from file bytes to codes. */
async function run(mode: Mode, photos: BenchPhoto[]): Promise<Row> {
  let prepMs = 0;
  let encodeMs = 0;
  let views = 0;
  let cpuUs = 0;
  for (let i = 0; i < photos.length; i += batch) {
    const d0 = performance.now();
    const inputs = await prepare(mode, photos.slice(i, i + batch));
    const cpu0 = process.cpuUsage();
    const e0 = performance.now();
    prepMs += e0 - d0;
    const codes = await mode.model.encode(inputs);
    encodeMs += performance.now() - e0;
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    views += codes.reduce((n, c) => n + c.length, 0);
  }
  const n = photos.length;
  return {
    mode: mode.name,
    runtime: mode.model.runtime,
    views: views / n,
    prepMsPerImage: prepMs / n,
    encodeMsPerImage: encodeMs / n,
    cpuMsPerImage: cpuUs / 1000 / n,
    imagesPerSecond: (1000 * n) / encodeMs,
    endToEndPerSecond: (1000 * n) / (prepMs + encodeMs),
  };
}

const photos = await loadBenchPhotos(wanted, megapixels);
const loadAvgStart = os.loadavg()[0];
const runtimes: Record<'onnx' | 'wasm', InferenceRuntime> = {
  onnx: await OnnxInferenceRuntime.create({ threads: 1, dataDir: config.LOUPE_DATA_DIR, logger }),
  wasm: new TfInferenceRuntime(await initTf(logger, { tfjsNode: false })),
};
const load = async (ref: string, runtime: InferenceRuntime) => {
  const t0 = performance.now();
  const model = await loadHashModel(ref, { logger, runtime });
  return { model, loadMs: performance.now() - t0 };
};
const onnx = await load(defaultModel, runtimes.onnx);
const wasm = await load(defaultModel, runtimes.wasm);
const modes: Mode[] = [
  { name: 'global only, 224', model: onnx.model, globalOnly: true },
  { name: 'default', model: wasm.model },
  { name: 'default', model: onnx.model },
];
if (process.env.LOUPE_BENCH_VARIANTS === '1') {
  // Other view plans of the same backbone: the untrained builtin with another descriptor option.
  const untrained = untrainedModel(defaultModel);
  const variant = (option: string) => untrained.replace(/^(builtin:mobilenetv2-rp\d+)(?:-crop|-r\d+|-p\d+(?:c\d+)?)?(?:-cells\d*)?(?:-px\d+)?/, `$1${option}`);
  for (const [option, what] of [
    ['-crop', 'per-crop, 224 each'],
    ['', 'pyramid 2x2+3x3 of a 320 forward'],
    ['-p448', 'scale-paired, 448 forward'],
    ['-p640', 'scale-paired, 640 forward'],
  ]) {
    modes.push({ name: `${what} (${variant(option).replace('builtin:mobilenetv2-', '')})`, model: (await load(variant(option), runtimes.onnx)).model });
  }
}
const meanMp = (await Promise.all(photos.map(async (p) => { const m = await sharp(p.bytes).metadata(); return (m.width! * m.height!) / 1e6; }))).reduce((a, b) => a + b, 0) / photos.length;
console.log(`model ${defaultModel}, ${photos.length} photos from ${PHOTOS_DIR} at ${meanMp.toFixed(2)} MP (JPEG), batch ${batch}, best of ${rounds} interleaved rounds, 1 process, 1 thread`);
console.log(`model load: onnx ${onnx.loadMs.toFixed(0)} ms, wasm ${wasm.loadMs.toFixed(0)} ms; load average at start ${loadAvgStart.toFixed(2)} (other processes share the 2 cores)`);
for (const mode of modes) await mode.model.encode(await prepare(mode, photos.slice(0, 2))); // warm-up: first forwards plan their shapes
const rows: Row[] = modes.map(() => ({ encodeMsPerImage: Infinity }) as Row);
for (let r = 0; r < rounds; r++) {
  for (const [i, mode] of modes.entries()) {
    const row = await run(mode, photos);
    if (row.encodeMsPerImage < rows[i].encodeMsPerImage) rows[i] = row;
  }
}
const stages: StageTimes = await stageProfile(onnx.model, await prepare(modes[2], photos), batch);

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log('\nencoder = canonical JPEG to codes (the encoder service); ingest = original to canonical JPEG (the ingest service)');
console.log(`${'mode'.padEnd(52)} ${'runtime'.padEnd(7)} ${pad('views', 5)} ${pad('enc ms', 7)} ${pad('cpu ms', 7)} ${pad('enc/s', 6)} ${pad('ingest', 7)} ${pad('both/s', 6)}`);
for (const r of rows) {
  console.log(
    `${r.mode.padEnd(52)} ${r.runtime.padEnd(7)} ${pad(r.views, 5)} ${pad(r.encodeMsPerImage.toFixed(1), 7)} ${pad(r.cpuMsPerImage.toFixed(1), 7)} ` +
      `${pad(r.imagesPerSecond.toFixed(2), 6)} ${pad(r.prepMsPerImage.toFixed(1), 7)} ${pad(r.endToEndPerSecond.toFixed(2), 6)}`,
  );
}
const [wasmRow, onnxRow] = [rows[1], rows[2]];
const ratio = onnxRow.imagesPerSecond / wasmRow.imagesPerSecond;
console.log(`\ndefault model: ONNX ${onnxRow.imagesPerSecond.toFixed(2)} images/s vs wasm ${wasmRow.imagesPerSecond.toFixed(2)}: ${ratio.toFixed(2)}x (targets: >= 4x, >= 10 images/s)`);
console.log(`where an ONNX encode spends its time (ms an image, ${photos.length} photos, batch ${batch}):`);
for (const [stage, ms] of Object.entries(stages)) console.log(`  ${stage.padEnd(28)} ${pad(ms.toFixed(1), 6)}`);
const rssMb = process.memoryUsage().rss / 1e6;
console.log(`rss ${rssMb.toFixed(0)} MB (both runtimes loaded); load average at end ${os.loadavg()[0].toFixed(2)}`);
const round = (v: number, d = 2) => Number(v.toFixed(d));
console.log(
  JSON.stringify({
    bench: 'encoder',
    model: defaultModel,
    wasm_images_per_s: round(wasmRow.imagesPerSecond),
    onnx_images_per_s: round(onnxRow.imagesPerSecond),
    ratio: round(ratio),
    onnx_ms_per_image: round(onnxRow.encodeMsPerImage),
    wasm_ms_per_image: round(wasmRow.encodeMsPerImage),
    ingest_ms_per_image: round(onnxRow.prepMsPerImage),
    global_only_onnx_images_per_s: round(rows[0].imagesPerSecond),
    onnx_stages_ms: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(v)])),
    images: photos.length,
    megapixels: round(meanMp),
    batch,
    rounds,
    rssMb: Math.round(rssMb),
    loadAvgStart: round(loadAvgStart),
    loadAvgEnd: round(os.loadavg()[0]),
    modes: rows.map((r) => ({ mode: r.mode, runtime: r.runtime, views: r.views, encodeMsPerImage: round(r.encodeMsPerImage), imagesPerSecond: round(r.imagesPerSecond), prepMsPerImage: round(r.prepMsPerImage) })),
  }),
);
process.exit(0);
