/**
 * Encoder throughput, one process, on photos brought to ~1.5 megapixels (LOUPE_BENCH_MEGAPIXELS):
 * the ingest step (decode the original, orient, squash to the canonical 448x448 JPEG) and the
 * encoder step (decode the canonical JPEG, forwards, pooling, hash head) timed apart, since they
 * run in different services; the encoder's images/s is the figure. Modes:
 *   (a) the global view only (one 224 forward),
 *   (b) all granularities, R-MAC (the default model),
 *   (c) all granularities, one forward per cropped view,
 * plus R-MAC variants with other forward sides. Also reports how close R-MAC region descriptors are
 * to per-crop descriptors of the same boxes (mean cosine), a cheap proxy for regional quality.
 *
 *   npm run bench:encoder
 *   env: LOUPE_DATASETS, LOUPE_BENCH_IMAGES (16), LOUPE_BENCH_ROUNDS (3), LOUPE_ENCODE_BATCH (8),
 *        LOUPE_BENCH_MEGAPIXELS (1.5; 0 keeps the photos as they are), LOUPE_MODEL (the config default)
 *
 * Timings on a shared machine are noisy: modes run in interleaved rounds and each reports its
 * best round (other processes only ever add time).
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  isSearchedLevel,
  planViews,
  loadConfig,
  hashModelFromArtifact,
  initTf,
  loadHashModel,
  untrainedModel,
  toCanonical,
  createLogger,
  type DescriptorConfig,
  type EncodeInput,
  type HashModel,
} from '@loupe/shared';

sharp.concurrency(1); // one process = one core, as the encoder is deployed
const logger = createLogger('bench', 'warn');
const datasets = process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
const dir = path.join(datasets, 'photos');
const wanted = Number(process.env.LOUPE_BENCH_IMAGES ?? 16);
const rounds = Number(process.env.LOUPE_BENCH_ROUNDS ?? 3);
const batch = Number(process.env.LOUPE_ENCODE_BATCH ?? 8);
const megapixels = Number(process.env.LOUPE_BENCH_MEGAPIXELS ?? 1.5);
const defaultModel = loadConfig({ LOUPE_MODEL: process.env.LOUPE_MODEL }).LOUPE_MODEL;

interface Photo {
  name: string;
  bytes: Buffer;
}

/** What ingest does: orient, flatten alpha, canonical JPEG (the encoder decodes it). */
async function toInput(p: Photo): Promise<EncodeInput> {
  const meta = await sharp(p.bytes).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const canonical = await toCanonical(sharp(p.bytes, { failOn: 'truncated' }).rotate().flatten({ background: '#ffffff' }));
  return { image: canonical, width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}

/** A real photo resampled to about `megapixels` and re-encoded as JPEG q90, like a camera upload. */
async function atMegapixels(bytes: Buffer): Promise<Buffer> {
  if (!(megapixels > 0)) return bytes;
  const m = await sharp(bytes).metadata();
  const scale = Math.sqrt((megapixels * 1e6) / (m.width! * m.height!));
  return sharp(bytes).rotate().resize(Math.round(m.width! * scale), Math.round(m.height! * scale)).jpeg({ quality: 90 }).toBuffer();
}

async function loadPhotos(): Promise<Photo[]> {
  const names = (await readdir(dir)).filter((f) => /\.(jpe?g|png|tiff?|webp)$/i.test(f)).sort();
  const out: Photo[] = [];
  for (const name of names) {
    if (out.length >= wanted) break;
    try {
      const p = { name, bytes: await atMegapixels(await readFile(path.join(dir, name))) };
      await toInput(p);
      out.push(p);
    } catch {
      /* truncated / unreadable samples are not throughput material */
    }
  }
  return out;
}

interface Mode {
  name: string;
  model: HashModel;
  globalOnly?: boolean;
}

interface Row {
  mode: string;
  views: number;
  msPerImage: number;
  cpuMsPerImage: number;
  /** Ingest side: original to canonical JPEG. */
  prepMsPerImage: number;
  /** Encoder side: canonical JPEG to codes. */
  encodeMsPerImage: number;
  /** The encoder process's rate (its share: canonical decode + model). */
  imagesPerSecond: number;
  /** Ingest step and encoder step back to back in one process. */
  endToEndPerSecond: number;
  ratioVsGlobal?: number;
  regionCosVsCrop?: number;
}

function prepare(mode: Mode) {
  return async (ps: Photo[]) => {
    const inputs = [];
    for (const p of ps) inputs.push(await toInput(p)); // one at a time: ingest's own concurrency is not the point here
    return mode.globalOnly ? inputs.map((i) => ({ ...i, views: [{ level: 0, index: 0, box: { x: 0, y: 0, w: i.width, h: i.height } }] })) : inputs;
  };
}

/** One timed pass of a mode over all photos, in batches, from file bytes to codes. */
async function run(mode: Mode, photos: Photo[]): Promise<Row> {
  const prep = prepare(mode);
  let prepMs = 0;
  let encodeMs = 0;
  let views = 0;
  let cpuUs = 0;
  for (let i = 0; i < photos.length; i += batch) {
    const d0 = performance.now();
    const inputs = await prep(photos.slice(i, i + batch));
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
    views: views / n,
    msPerImage: encodeMs / n,
    cpuMsPerImage: cpuUs / 1000 / n,
    prepMsPerImage: prepMs / n,
    encodeMsPerImage: encodeMs / n,
    imagesPerSecond: (1000 * n) / encodeMs,
    endToEndPerSecond: (1000 * n) / (prepMs + encodeMs),
  };
}

/** Mean cosine between each regional view's pooled descriptor and the same box cropped and forwarded alone. */
async function regionAgreement(model: HashModel, photos: Photo[]): Promise<number> {
  const crop = await variant(model, { ...model.descriptor, mode: 'crop' });
  // Regions only: a cell level's single cells are checked, not searched (and not crops of 224 px).
  const inputs = (await prepare({ name: '', model })(photos)).map((i) => ({ ...i, views: planViews(model.plan, i.width, i.height).filter((v) => isSearchedLevel(model.plan, v.level)) }));
  const [a, b] = [await model.describe(inputs), await crop.describe(inputs)];
  let sum = 0;
  let n = 0;
  a.forEach((views, i) =>
    views.forEach((d, v) => {
      if (v === 0) return; // view 0 is the global view
      let dot = 0;
      for (let k = 0; k < d.length; k++) dot += d[k] * b[i][v][k];
      sum += dot;
      n++;
    }),
  );
  return sum / n;
}

async function variant(base: HashModel, descriptor: DescriptorConfig): Promise<HashModel> {
  const artifact = base.toArtifact();
  artifact.header = { ...artifact.header, id: `${base.id}+${descriptor.levelSides.join('/')}`, descriptor };
  return hashModelFromArtifact(artifact, logger);
}

const photos = await loadPhotos();
const { backend } = await initTf(logger);
const m0 = process.memoryUsage().rss;
const t0 = performance.now();
const rmac = await loadHashModel(defaultModel, { logger });
const loadMs = performance.now() - t0;
// Variants of a builtin default: its descriptor option (-crop, -r<side>, -p<side>[c<cells>][-cells]) swapped for another
// (on the untrained builtin a shipped head was trained from: the same forwards).
const untrained = untrainedModel(defaultModel);
const builtinVariant = (option: string) => untrained.replace(/^(builtin:mobilenetv2-rp\d+)(?:-crop|-r\d+|-p\d+(?:c\d+)?)?(?:-cells\d*)?(?:-px\d+)?/, `$1${option}`);
const crop = await loadHashModel(builtinVariant('-crop'), { logger });
const VARIANTS: [string, string][] = [
  ['', 'pyramid 2x2+3x3 of a 320 forward'],
  ['-r448', 'pyramid of a 448 forward'],
  ['-p448', 'scale-paired, 448 forward'],
  ['-p448c5', 'scale-paired, 448 forward, + 5-cell regions'],
  ['-p448c5-cells64', 'scale-paired, 448 forward, + 5-cell regions, + 64-bit cell level'],
  ['-p512', 'scale-paired, 512 forward'],
  ['-p576', 'scale-paired, 576 forward'],
  ['-p640', 'scale-paired, 640 forward'],
];
const modes: Mode[] = [
  { name: '(a) global only, 224', model: rmac, globalOnly: true },
  { name: `(b) default`, model: rmac },
  { name: '(c) per-crop, 224 each', model: crop },
];
for (const [option, what] of VARIANTS) {
  const id = builtinVariant(option);
  if (id !== untrained) modes.push({ name: `(d) ${what} (${id.replace('builtin:mobilenetv2-', '')})`, model: await loadHashModel(id, { logger }) });
}
const meanMp = (await Promise.all(photos.map(async (p) => { const m = await sharp(p.bytes).metadata(); return (m.width! * m.height!) / 1e6; }))).reduce((a, b) => a + b, 0) / photos.length;
console.log(`backend ${backend}, model ${defaultModel}, ${photos.length} photos from ${dir} at ${meanMp.toFixed(2)} MP (JPEG), batch ${batch}, best of ${rounds} rounds, model load ${loadMs.toFixed(0)} ms, 1 process`);
for (const mode of modes) await mode.model.encode(await prepare(mode)(photos.slice(0, 2))); // warm-up: first forwards allocate
const rows: Row[] = modes.map(() => ({ msPerImage: Infinity }) as Row);
for (let r = 0; r < rounds; r++) {
  for (const [i, mode] of modes.entries()) {
    const row = await run(mode, photos);
    if (row.msPerImage < rows[i].msPerImage) rows[i] = row;
  }
}
for (const [i, mode] of modes.entries()) {
  if (mode.model !== crop && !mode.globalOnly) rows[i].regionCosVsCrop = await regionAgreement(mode.model, photos.slice(0, 4));
}
for (const r of rows) r.ratioVsGlobal = r.msPerImage / rows[0].msPerImage;
const rssMb = process.memoryUsage().rss / 1e6;

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log('encoder = canonical JPEG to codes (the encoder service); ingest = original to canonical JPEG (the ingest service)');
console.log(`${'mode'.padEnd(58)} ${pad('views', 5)} ${pad('enc ms', 7)} ${pad('cpu ms', 7)} ${pad('enc/s', 6)} ${pad('x (a)', 6)} ${pad('ingest', 7)} ${pad('both/s', 6)} ${pad('cos~crop', 8)}`);
for (const r of rows) {
  console.log(
    `${r.mode.padEnd(58)} ${pad(r.views, 5)} ${pad(r.encodeMsPerImage.toFixed(1), 7)} ${pad(r.cpuMsPerImage.toFixed(1), 7)} ${pad(r.imagesPerSecond.toFixed(2), 6)} ` +
      `${pad(r.ratioVsGlobal!.toFixed(2), 6)} ${pad(r.prepMsPerImage.toFixed(1), 7)} ${pad(r.endToEndPerSecond.toFixed(2), 6)} ${pad(r.regionCosVsCrop === undefined ? '-' : r.regionCosVsCrop.toFixed(3), 8)}`,
  );
}
console.log(`rss ${rssMb.toFixed(0)} MB (${((process.memoryUsage().rss - m0) / 1e6).toFixed(0)} MB for models + activations); load avg ${os.loadavg()[0].toFixed(2)} (other processes share the 2 cores)`);
console.log(
  JSON.stringify({
    bench: 'encoder',
    backend,
    model: defaultModel,
    images: photos.length,
    megapixels: round(meanMp),
    batch,
    rounds,
    modelLoadMs: Math.round(loadMs),
    rssMb: Math.round(rssMb),
    loadAvg: Number(os.loadavg()[0].toFixed(2)),
    modes: rows.map((r) => ({ ...r, msPerImage: round(r.msPerImage), cpuMsPerImage: round(r.cpuMsPerImage), prepMsPerImage: round(r.prepMsPerImage), encodeMsPerImage: round(r.encodeMsPerImage), imagesPerSecond: round(r.imagesPerSecond), endToEndPerSecond: round(r.endToEndPerSecond), ratioVsGlobal: round(r.ratioVsGlobal!), regionCosVsCrop: r.regionCosVsCrop === undefined ? undefined : round(r.regionCosVsCrop, 4) })),
  }),
);

function round(v: number, d = 2): number {
  return Number(v.toFixed(d));
}
