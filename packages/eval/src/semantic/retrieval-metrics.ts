/** Packed binary codes, `rows` x `bytes`, MSB first (as packBits / CodeMatrix). */
export interface PackedCodes {
  rows: number;
  bits: number;
  bytes: number;
  data: Uint8Array;
}

export interface RetrievalMetrics {
  queries: number;
  /** Mean average precision over the full Hamming ranking of the database. */
  map: number;
  /** Mean over queries of the 11-point interpolated average precision (recall 0, 0.1, ..., 1). */
  map11: number;
  /** Mean precision of the items within Hamming radius `radius` (0 for a query with none). */
  precisionAtRadius: number;
  radius: number;
}

/**
 * Hamming-ranking retrieval metrics with single labels: an item is relevant to a query when their
 * labels are equal. The database is ranked by Hamming distance with ties broken by database
 * index (a stable counting sort, so exact and O(database) per query). Queries with no relevant
 * item count as AP 0.
 */
export function hammingRankingMetrics(
  db: PackedCodes,
  dbLabels: ArrayLike<number>,
  queries: PackedCodes,
  queryLabels: ArrayLike<number>,
  radius = 2,
): RetrievalMetrics {
  if (db.bits !== queries.bits || db.bytes !== queries.bytes) throw new Error('database and query codes differ in length');
  if (dbLabels.length !== db.rows || queryLabels.length !== queries.rows) throw new Error('one label per code is needed');
  const words = Math.ceil(db.bytes / 4);
  const dbw = toWords(db, words);
  const qw = toWords(queries, words);
  const n = db.rows;
  const bits = db.bits;
  const dist = new Uint16Array(n);
  const count = new Int32Array(bits + 1);
  const rel = new Int32Array(bits + 1);
  const start = new Int32Array(bits + 1);
  const relBefore = new Int32Array(bits + 1);
  const seen = new Int32Array(bits + 1);
  const seenRel = new Int32Array(bits + 1);
  let precAt = new Float64Array(0);
  let sumAp = 0;
  let sumAp11 = 0;
  let sumPr = 0;
  for (let q = 0; q < queries.rows; q++) {
    const label = queryLabels[q];
    count.fill(0);
    rel.fill(0);
    const qo = q * words;
    for (let i = 0; i < n; i++) {
      let d = 0;
      const o = i * words;
      for (let w = 0; w < words; w++) d += popcount32(dbw[o + w] ^ qw[qo + w]);
      dist[i] = d;
      count[d]++;
      if (dbLabels[i] === label) rel[d]++;
    }
    let total = 0;
    let totalRel = 0;
    for (let d = 0; d <= bits; d++) {
      start[d] = total;
      relBefore[d] = totalRel;
      total += count[d];
      totalRel += rel[d];
    }
    let inRadius = 0;
    let relInRadius = 0;
    for (let d = 0; d <= Math.min(radius, bits); d++) {
      inRadius += count[d];
      relInRadius += rel[d];
    }
    sumPr += inRadius > 0 ? relInRadius / inRadius : 0;
    if (totalRel === 0) continue;
    if (precAt.length < totalRel) precAt = new Float64Array(totalRel);
    seen.fill(0);
    seenRel.fill(0);
    let ap = 0;
    for (let i = 0; i < n; i++) {
      const d = dist[i];
      const pos = start[d] + seen[d]++;
      if (dbLabels[i] !== label) continue;
      const j = relBefore[d] + seenRel[d]++;
      const p = (j + 1) / (pos + 1);
      precAt[j] = p;
      ap += p;
    }
    sumAp += ap / totalRel;
    sumAp11 += elevenPoint(precAt, totalRel);
  }
  const m = Math.max(1, queries.rows);
  return { queries: queries.rows, map: sumAp / m, map11: sumAp11 / m, precisionAtRadius: sumPr / m, radius };
}

/**
 * 11-point interpolated AP from the precision at each relevant item's rank (precAt[j] = precision
 * when the (j+1)-th relevant item is retrieved, recall (j+1)/R): P_interp(r) = max precision at
 * any recall >= r, averaged over r = 0, 0.1, ..., 1.
 */
export function elevenPoint(precAt: Float64Array, relevant: number): number {
  const best = new Float64Array(relevant);
  let max = 0;
  for (let j = relevant - 1; j >= 0; j--) {
    max = Math.max(max, precAt[j]);
    best[j] = max;
  }
  let s = 0;
  for (let t = 0; t <= 10; t++) {
    // smallest j with (j + 1) / R >= t / 10 (a small epsilon guards 0.1 * 10 style rounding)
    const j = Math.max(0, Math.ceil((t / 10) * relevant - 1e-9) - 1);
    s += best[j];
  }
  return s / 11;
}

function toWords(c: PackedCodes, words: number): Uint32Array {
  const out = new Uint32Array(c.rows * words);
  for (let r = 0; r < c.rows; r++)
    for (let b = 0; b < c.bytes; b++) out[r * words + (b >> 2)] |= c.data[r * c.bytes + b] << (8 * (b & 3));
  return out;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
