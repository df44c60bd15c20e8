/*
 * Native baseline for bench/search.ts: exact Hamming top-k over packed codes, one core.
 * Same job as Loupe's scanner: distance of every record to the query (XOR + popcount over
 * 64-bit words), top-k by (distance, record). Compiled at bench time with gcc -O3 -march=native.
 *
 * usage: popcount_scan CODES_FILE CODE_BYTES COUNT QUERIES_FILE N_QUERIES K REPS
 * prints one JSON line: {"mcodes_per_s":..,"ms_per_query":..,"first":[[record,distance],..]}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 4096

static uint8_t *read_file(const char *path, size_t want) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  uint8_t *buf = aligned_alloc(64, (want + 64) / 64 * 64);
  if (fread(buf, 1, want, f) != want) { fprintf(stderr, "short read %s\n", path); exit(2); }
  fclose(f);
  return buf;
}

/* Distances of n records (stride bytes, W 64-bit words used) into out. W is a constant per call site. */
#define DEFINE_DIST(W)                                                                       \
  static void dist_##W(const uint8_t *codes, size_t n, size_t stride, const uint64_t *q, uint16_t *out) { \
    for (size_t i = 0; i < n; i++) {                                                         \
      const uint8_t *p = codes + i * stride;                                                 \
      unsigned d = 0;                                                                        \
      for (int w = 0; w < W; w++) { uint64_t x; memcpy(&x, p + 8 * w, 8); d += __builtin_popcountll(x ^ q[w]); } \
      out[i] = (uint16_t)d;                                                                  \
    }                                                                                        \
  }
DEFINE_DIST(1)
DEFINE_DIST(2)
DEFINE_DIST(3)
DEFINE_DIST(4)

typedef struct { uint32_t record; uint32_t distance; } hit_t;

/* Top-k by (distance, record) with a sorted insertion array; threshold skips almost everything. */
static int topk(const uint8_t *codes, size_t count, size_t code_bytes, const uint8_t *query, int k, hit_t *best) {
  size_t words = (code_bytes + 7) / 8;
  uint64_t q[4] = {0, 0, 0, 0};
  memcpy(q, query, code_bytes);
  /* Codes are stored packed; for sizes that are not a multiple of 8 the extra bytes belong to the
     next record, so mask them off the last word. */
  uint64_t last_mask = code_bytes % 8 ? ((uint64_t)1 << (8 * (code_bytes % 8))) - 1 : ~(uint64_t)0;
  static uint16_t dist[CHUNK];
  int size = 0;
  unsigned threshold = (unsigned)(code_bytes * 8);
  for (size_t base = 0; base < count; base += CHUNK) {
    size_t n = count - base < CHUNK ? count - base : CHUNK;
    const uint8_t *chunk = codes + base * code_bytes;
    if (code_bytes % 8 == 0) {
      switch (words) {
        case 1: dist_1(chunk, n, code_bytes, q, dist); break;
        case 2: dist_2(chunk, n, code_bytes, q, dist); break;
        case 3: dist_3(chunk, n, code_bytes, q, dist); break;
        default: dist_4(chunk, n, code_bytes, q, dist); break;
      }
    } else {
      for (size_t i = 0; i < n; i++) {
        const uint8_t *p = chunk + i * code_bytes;
        unsigned d = 0;
        for (size_t w = 0; w < words; w++) {
          uint64_t x = 0;
          size_t len = w + 1 < words ? 8 : code_bytes - 8 * w;
          memcpy(&x, p + 8 * w, len);
          d += __builtin_popcountll((x ^ q[w]) & (w + 1 < words ? ~(uint64_t)0 : last_mask));
        }
        dist[i] = (uint16_t)d;
      }
    }
    for (size_t i = 0; i < n; i++) {
      unsigned d = dist[i];
      if (d > threshold) continue;
      if (size == k && d >= best[k - 1].distance) continue;
      int j = size < k ? size++ : k - 1;
      while (j > 0 && best[j - 1].distance > d) { best[j] = best[j - 1]; j--; }
      best[j].record = (uint32_t)(base + i);
      best[j].distance = d;
      if (size == k) threshold = best[k - 1].distance;
    }
  }
  return size;
}

/* Fused variant: distance and threshold test in one pass, no distance buffer (W words per code). */
#define DEFINE_FUSED(W)                                                                      \
  static int fused_##W(const uint8_t *codes, size_t count, const uint64_t *q, int k, hit_t *best) { \
    int size = 0;                                                                            \
    unsigned threshold = 64 * W;                                                             \
    for (size_t i = 0; i < count; i++) {                                                     \
      const uint8_t *p = codes + i * 8 * W;                                                  \
      unsigned d = 0;                                                                        \
      for (int w = 0; w < W; w++) { uint64_t x; memcpy(&x, p + 8 * w, 8); d += __builtin_popcountll(x ^ q[w]); } \
      if (__builtin_expect(d > threshold, 1)) continue;                                      \
      if (size == k && d >= best[k - 1].distance) continue;                                  \
      int j = size < k ? size++ : k - 1;                                                     \
      while (j > 0 && best[j - 1].distance > d) { best[j] = best[j - 1]; j--; }              \
      best[j].record = (uint32_t)i;                                                          \
      best[j].distance = d;                                                                  \
      if (size == k) threshold = best[k - 1].distance;                                       \
    }                                                                                        \
    return size;                                                                             \
  }
DEFINE_FUSED(1)
DEFINE_FUSED(2)
DEFINE_FUSED(3)
DEFINE_FUSED(4)

static int topk_fused(const uint8_t *codes, size_t count, size_t code_bytes, const uint8_t *query, int k, hit_t *best) {
  uint64_t q[4] = {0, 0, 0, 0};
  memcpy(q, query, code_bytes);
  switch (code_bytes / 8) {
    case 1: return fused_1(codes, count, q, k, best);
    case 2: return fused_2(codes, count, q, k, best);
    case 3: return fused_3(codes, count, q, k, best);
    default: return fused_4(codes, count, q, k, best);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 8) { fprintf(stderr, "usage: %s CODES CODE_BYTES COUNT QUERIES NQ K REPS\n", argv[0]); return 2; }
  size_t code_bytes = strtoul(argv[2], 0, 10), count = strtoul(argv[3], 0, 10);
  size_t nq = strtoul(argv[5], 0, 10);
  int k = atoi(argv[6]), reps = atoi(argv[7]);
  if (code_bytes < 1 || code_bytes > 32 || k < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
  uint8_t *codes = read_file(argv[1], count * code_bytes);
  uint8_t *queries = read_file(argv[4], nq * code_bytes);
  hit_t *best = malloc(sizeof(hit_t) * (size_t)k), *first = malloc(sizeof(hit_t) * (size_t)k);
  /* Two strategies (chunked distances then select; fused); the faster one is reported. */
  int (*const variants[2])(const uint8_t *, size_t, size_t, const uint8_t *, int, hit_t *) = {topk, topk_fused};
  const char *names[2] = {"chunked", "fused"};
  int n_variants = code_bytes % 8 == 0 ? 2 : 1;
  double best_ms = 1e300;
  int best_variant = 0;
  int first_n = topk(codes, count, code_bytes, queries, k, first); /* warm-up + result check */
  volatile unsigned sink = 0;
  for (int v = 0; v < n_variants; v++) {
    variants[v](codes, count, code_bytes, queries, k, best);
    double t0 = now_ms();
    for (int r = 0; r < reps; r++)
      for (size_t i = 0; i < nq; i++) sink += (unsigned)variants[v](codes, count, code_bytes, queries + i * code_bytes, k, best);
    double ms = (now_ms() - t0) / ((double)reps * (double)nq);
    if (ms < best_ms) { best_ms = ms; best_variant = v; }
  }
  double ms = best_ms;
  printf("{\"variant\":\"%s\",\"mcodes_per_s\":%.1f,\"ms_per_query\":%.3f,\"first\":[", names[best_variant], count / ms / 1e3, ms);
  for (int i = 0; i < first_n; i++) printf("%s[%u,%u]", i ? "," : "", first[i].record, first[i].distance);
  printf("]}\n");
  return 0;
}
