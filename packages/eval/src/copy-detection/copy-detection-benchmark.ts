import {
  decodeCanonical,
  levelBoxesUnit,
  prepareImage,
  toPixels,
  type Box,
  ViewFusion,
  CandidateVerifier,
  concatCodes,
  hammingScore,
  type FusedHit,
  type HashModel,
  type QueryPlan,
  type QueryViewCode,
  type QueryPixels,
} from '@loupe/shared';
import { angularDistance, BruteForceIndex, hamming, type IndexedObject } from './brute-force-index.ts';
import { describeDatabaseCodes } from './database-codes.ts';
import { databasePixels } from './database-pixels.ts';
import { DescriptorCache } from './descriptor-cache.ts';
import { queryCellGrids } from './query-cell-grids.ts';
import { queryRegionCodes } from './query-region-codes.ts';
import { perceptualHash } from './perceptual-hash.ts';
import { EVAL_IMAGE_LIMITS, type PhotoSet } from './photo-set.ts';
import { QUERY_SET_VERSION, type CopyQuery } from './query-set.ts';
import { RecallTally } from './recall-tally.ts';
import { sceneOf } from './scene-groups.ts';

export interface CopyDetectionInput {
  set: PhotoSet;
  queries: CopyQuery[];
  model: HashModel;
  /** Query plan to evaluate (default: the model's). */
  queryPlan?: QueryPlan;
  cacheDir: string;
  /** Photo names a trained head saw (artifact meta trainKeys): recall is also tallied without them. */
  trainedOn?: readonly string[];
  /** Names the query set in the descriptor cache's keys (default: the fixed transforms' QUERY_SET_VERSION). */
  querySetId?: string;
  /**
   * 'global' keeps only the database's codes and global floats (describeDatabaseCodes), for sets
   * too large for every view's floats; the fused-float method is then left out. Default 'all'.
   */
  floats?: 'all' | 'global';
  log?: (line: string) => void;
}

/** A ranked answer with the score the query service gives it (1 - rank / bits). */
export interface ScoredHit {
  key: string;
  score: number;
}

export interface CopyDetectionResult {
  loupe: RecallTally;
  /** Loupe's top hit in the source's scene group (see scene-groups.ts). */
  loupeSameScene: RecallTally;
  /** The source among Loupe's first 10 hits: what re-ranking the candidates could reach. */
  loupeTop10: RecallTally;
  /** Loupe on the queries of photos not in `trainedOn` (when given). */
  loupeUnseen?: RecallTally;
  phash: RecallTally;
  floatGlobal: RecallTally;
  /** Undefined with `floats: 'global'`. */
  floatFused?: RecallTally;
  /** Of Loupe's correct crop answers, the share whose matched box overlaps the true crop. */
  cropBoxOverlap: number;
  /** Top hits of Loupe per query (for inspection). */
  top: (FusedHit | undefined)[];
  /** Every query's first 10 answers, per method (for precision-recall over all queries). */
  ranked: { loupe: ScoredHit[][]; floatGlobal: ScoredHit[][]; phash: ScoredHit[][] };
  timings: { dbMs: number; queryMs: number; cachedDb: boolean; cachedQueries: boolean };
}

/**
 * Copy detection on the photos data set: index every photo, query with transformed copies, and
 * count how often the source is the top hit, for
 *  - Loupe: the index codes (prepareImage + HashModel views + head), the query's view codes
 *    (prepareImage + HashModel query views + head) and the query service's ViewFusion;
 *  - a 64-bit pHash of the whole image (DCT baseline);
 *  - the float descriptors before hashing: the global view alone, and through the same fusion.
 */
export async function runCopyDetection(input: CopyDetectionInput): Promise<CopyDetectionResult> {
  const { set, queries, model } = input;
  const plan = input.queryPlan ?? model.queryPlan;
  const log = input.log ?? (() => undefined);
  const cache = new DescriptorCache(input.cacheDir);
  const photoIds = set.photos.map((p) => `${p.name}:${p.bytes.length}`);
  // Cache keys name the CNN part only: a model that adds a dct level shares its descriptors.
  const cnnLevels = model.plan.levels.map((_, l) => l).filter((l) => model.isCnnLevel(l));
  const cnnPlan = { levels: cnnLevels.map((l) => model.plan.levels[l]) };
  const { levelSides } = model.descriptor;
  const cnnDescriptor = { ...model.descriptor, levelSides: levelSides.filter((_, l) => model.isCnnLevel(l)) };
  // Runtimes agree to float rounding only: descriptors are cached per runtime.
  const dbKey = { backbone: model.backbone, runtime: model.runtime, descriptor: cnnDescriptor, dim: model.extractor.dim, plan: cnnPlan };
  // A whole-query descriptor depends on the backbone, pooling and grid only (not on the levels).
  const queryKey = { backbone: model.backbone, runtime: model.runtime, pooling: model.descriptor.pooling, grid: model.descriptor.grid ?? 1, dim: model.extractor.dim, querySet: input.querySetId };

  const tDb = performance.now();
  const viewCount = cnnPlan.levels.reduce((n, l) => n + l.grid * l.grid, 0);
  const allFloats = input.floats !== 'global';
  const codesOnly = allFloats ? undefined : await describeDatabaseCodes(cache, model, set, dbKey, log);
  const db = codesOnly ? { rows: codesOnly.global.map((g) => [g]), cached: codesOnly.cached } : await cache.getOrCompute(
    'db',
    DescriptorCache.key({ ...dbKey, photos: photoIds }),
    { rows: set.photos.length, perRow: viewCount, dim: model.extractor.dim },
    async (from, to) => {
      const inputs = await Promise.all(
        set.photos.slice(from, to).map(async (p) => {
          const img = await prepareImage(p.bytes, EVAL_IMAGE_LIMITS, model.plan);
          return { image: img.canonical, width: img.width, height: img.height, views: img.views };
        }),
      );
      return model.describe(inputs);
    },
    16,
    (done, rows) => log(`  database descriptors ${done}/${rows}`),
  );
  const verifier = CandidateVerifier.forPlan(model.bits, model.plan, plan.verify);
  // Per photo: the codes of levels made from pixels (dct, thumbnail), and the thumbnail the pixel
  // check reads (the pixel level's, or the query service's sourceThumbnail: the same bytes).
  const dbPixels = await databasePixels(cache, model, set, verifier?.pixels?.side, log);
  const dbMs = performance.now() - tDb;

  // One cache file per query view (side, orientation): plans that share views share descriptors.
  const tQ = performance.now();
  let cachedQueries = true;
  const perView: Float32Array[][] = [];
  const cnnViews = plan.views.filter((v) => v.kind !== 'dct');
  // Each query is decoded and squashed once for all the views that still need computing.
  const prepared = new Map<number, Awaited<ReturnType<typeof prepareImage>>>();
  const prepareQuery = async (qi: number) => {
    if (!prepared.has(qi)) prepared.set(qi, await prepareImage(queries[qi].bytes, EVAL_IMAGE_LIMITS, model.plan));
    return prepared.get(qi)!;
  };
  for (const view of cnnViews) {
    const spec = { side: view.side, orientation: view.orientation, ...(view.trim ? { trim: true } : {}), ...(view.tilt ? { tilt: view.tilt } : {}) };
    const got = await cache.getOrCompute(
      `queries-${view.side}-${view.orientation}${view.trim ? '-trim' : ''}${view.tilt ? `-tilt${view.tilt}` : ''}`,
      DescriptorCache.key({ ...queryKey, spec, version: input.querySetId ? undefined : QUERY_SET_VERSION, photos: photoIds, n: queries.length }),
      { rows: queries.length, perRow: 1, dim: model.extractor.dim },
      async (from, to) => {
        const out: Float32Array[][] = [];
        for (let qi = from; qi < to; qi++) {
          const img = await prepareQuery(qi);
          out.push(await model.describeQuery({ image: img.canonical, width: img.width, height: img.height }, { views: [{ ...view, ...spec }] }));
        }
        return out;
      },
      64,
      (done, rows) => log(`  query descriptors (${view.name}: ${view.side} px, ${view.orientation}) ${done}/${rows}`),
    );
    cachedQueries &&= got.cached;
    perView.push(got.rows.map((r) => r[0]));
  }
  const qd = { rows: queries.map((_, qi) => perView.map((v) => v[qi])) };
  const regionCodes = await queryRegionCodes(cache, model, plan, queries, { ...queryKey, photos: photoIds }, prepareQuery, log);
  const grids = verifier ? await queryCellGrids(cache, model, plan, queries, { ...queryKey, photos: photoIds }, prepareQuery, log) : [];
  const hasDct = plan.views.some((v) => v.kind === 'dct');
  const checksPixels = verifier?.pixels !== undefined;
  // The query's perceptual code and grey pixels, from one decode.
  const queryRasters: { dct?: Uint8Array; pixels?: QueryPixels }[] = [];
  for (let qi = 0; qi < queries.length; qi++) {
    if (!hasDct && !checksPixels) break;
    const img = await prepareQuery(qi);
    const raster = await decodeCanonical(img.canonical);
    queryRasters.push({ dct: hasDct ? model.dctCode(raster) : undefined, pixels: checksPixels ? model.queryPixels(raster, img.width, img.height) : undefined });
  }
  const queryMs = performance.now() - tQ;

  // Index layout: level -> views, in the plan's order (describe() returns CNN views level by
  // level); levels made from pixels hold nothing here (filled in for the code index below).
  const byLevel = <T>(views: T[]): T[][] => {
    let o = 0;
    return model.plan.levels.map((l, li) => {
      if (!model.isCnnLevel(li)) return [];
      o += l.grid * l.grid;
      return views.slice(o - l.grid * l.grid, o);
    });
  };
  const objects = <T>(levels: (i: number) => T[][]): IndexedObject<T>[] =>
    set.photos.map((p, i) => ({ key: p.name, width: p.width, height: p.height, levels: levels(i) }));

  const fusion = ViewFusion.forPlan(model.bits, model.plan);
  const dbCodes: Uint8Array[][][] = [];
  for (let i = 0; i < set.photos.length; i++) {
    const cnnCodes = codesOnly ? codesOnly.codes[i] : await Promise.all(byLevel(db.rows[i]).map((views, l) => (model.isCnnLevel(l) ? model.hashLevel(l, views) : [])));
    dbCodes.push(cnnCodes.map((codes, l) => (model.isCnnLevel(l) ? codes : [dbPixels[i].codes[l]])));
  }
  const codeIndex = new BruteForceIndex(
    objects((i) => dbCodes[i]),
    hamming,
  );
  // What the query service reads per candidate: the cell level's codes side by side.
  const cellCodes = new Map(verifier ? codeIndex.objects.map((o) => [o.key, concatCodes(o.levels[verifier.cellLevel])]) : []);
  const thumbs = new Map(set.photos.map((p, i) => [p.name, dbPixels[i].thumb]));
  // Only the global level's floats without allFloats (the fused float method then stays out).
  const floatIndex = new BruteForceIndex(objects((i) => (allFloats ? byLevel(db.rows[i]) : [db.rows[i]])), (a, b) => model.bits * angularDistance(a, b));
  const globalOnly = plan.views.find((v) => v.orientation === 'none') ?? plan.views[0];

  const loupe = new RecallTally('Loupe');
  const loupeSameScene = new RecallTally('Loupe, same scene');
  const loupeTop10 = new RecallTally('Loupe, recall@10');
  const trainedOn = input.trainedOn && new Set(input.trainedOn);
  const loupeUnseen = trainedOn && new RecallTally('Loupe, photos not trained on');
  const floatGlobal = new RecallTally('float, global only');
  const floatFused = allFloats ? new RecallTally('float, fused views') : undefined;
  const top: (FusedHit | undefined)[] = [];
  const ranked: CopyDetectionResult['ranked'] = { loupe: [], floatGlobal: [], phash: [] };
  // Scores as the query service gives them (QueryService.toHit).
  const scored = (hits: FusedHit[]) => hits.slice(0, 10).map((h) => ({ key: h.key, score: Math.min(1, Math.max(0, hammingScore(h.rank, model.bits))) }));
  let cropHits = 0;
  let cropOverlaps = 0;
  const queryCodes = await Promise.all(qd.rows.map((row) => model.hashDescriptors(row)));
  queries.forEach((q, qi) => {
    // A query with no source (a non-copy) is ranked for precision, and tallied nowhere.
    const truth = q.source >= 0 ? set.photos[q.source].name : undefined;
    const cnnCodes = queryCodes[qi];
    let next = 0;
    let nextRegions = 0;
    const codes: QueryViewCode[] = plan.views.map((view) => ({
      view,
      code: view.kind === 'dct' ? queryRasters[qi].dct! : cnnCodes[next++],
      ...(view.regions ? { regions: regionCodes[qi][nextRegions++] } : {}),
    }));
    const probes = fusion.probes(codes);
    let hits = fusion.fuse(probes, codeIndex.search(probes, (p) => p.code), Math.max(10, verifier?.settings.candidates ?? 0));
    if (verifier?.needsCheck(hits)) {
      const evidence = { grids: grids[qi], pixels: queryRasters[qi]?.pixels };
      hits = verifier.rerank(hits, evidence, hits.map((h) => cellCodes.get(h.key)), hits.map((h) => thumbs.get(h.key)));
    }
    top.push(hits[0]);
    ranked.loupe.push(scored(hits));
    const floats = cnnViews.map((view, j) => ({ view, code: qd.rows[qi][j] }));
    const vector = (p: { queryView: string }) => floats.find((c) => c.view.name === p.queryView)!.code;
    const gProbes = fusion.probes([{ view: globalOnly, code: new Uint8Array(0) }], 'global');
    const globalHits = fusion.fuse(gProbes, floatIndex.search(gProbes, () => vector({ queryView: globalOnly.name })), 10);
    ranked.floatGlobal.push(scored(globalHits));
    if (truth === undefined) return;
    loupe.add(q.transform, hits[0]?.key === truth ? 1 : 0);
    loupeSameScene.add(q.transform, hits[0] && sceneOf(hits[0].key) === sceneOf(truth) ? 1 : 0);
    loupeTop10.add(q.transform, hits.slice(0, 10).some((h) => h.key === truth) ? 1 : 0);
    if (trainedOn && !trainedOn.has(truth)) loupeUnseen!.add(q.transform, hits[0]?.key === truth ? 1 : 0);
    if (q.box && hits[0]?.key === truth) {
      cropHits++;
      if (overlaps(hits[0], model, q.box)) cropOverlaps++;
    }

    floatGlobal.add(q.transform, globalHits[0]?.key === truth ? 1 : 0);
    if (!floatFused) return;
    // Floats of whole views only (query regions are coded, not kept as floats).
    const fProbes = fusion.probes(codes.filter((c) => c.view.kind !== 'dct').map(({ regions: _, ...c }) => c));
    floatFused.add(q.transform, fusion.fuse(fProbes, floatIndex.search(fProbes, vector), 1)[0]?.key === truth ? 1 : 0);
  });

  const phash = new RecallTally('pHash 64-bit');
  const dbHashes = dbPixels.map((p) => p.phash);
  for (const q of queries) {
    const h = await perceptualHash(q.bytes);
    const d = dbHashes.map((x) => hamming(h, x));
    const order = d.map((_, i) => i).sort((a, b) => d[a] - d[b]).slice(0, 10);
    ranked.phash.push(order.map((i) => ({ key: set.photos[i].name, score: 1 - d[i] / 64 })));
    if (q.source < 0) continue;
    const best = Math.min(...d);
    const tied = d.filter((x) => x === best).length;
    // Ties are frequent at 64 bits: count the expected recall of a random tie-break.
    phash.add(q.transform, d[q.source] === best ? 1 / tied : 0);
  }

  return {
    loupe,
    loupeSameScene,
    loupeTop10,
    // (no column when every queried photo was trained on)
    loupeUnseen: loupeUnseen?.transforms().length ? loupeUnseen : undefined,
    phash,
    floatGlobal,
    floatFused,
    cropBoxOverlap: cropHits ? cropOverlaps / cropHits : 0,
    top,
    ranked,
    timings: { dbMs, queryMs, cachedDb: db.cached, cachedQueries },
  };
}

/** Does the matched view's box (whole image for a global match) overlap the true crop box? */
function overlaps(hit: FusedHit, model: HashModel, box: Box): boolean {
  const r = toPixels(levelBoxesUnit(model.plan.levels[hit.level])[hit.view], hit.width, hit.height);
  return r.x < box.x + box.w && box.x < r.x + r.w && r.y < box.y + box.h && box.y < r.y + r.h;
}
