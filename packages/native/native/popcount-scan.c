/*
 * The scan kernel's two hot loops for 256-bit codes (stride 32) with AVX-512's vpopcntq, for CPUs
 * that have it (WebAssembly cannot use it: there `i64.popcnt` is one x86 popcnt a cycle, four a record
 * and probe). Same memory layout and contract as the WebAssembly functions scalar32 / multi32xP
 * (packages/shared/src/search/kernel): they run over a WebAssembly.Memory's buffer in place.
 *
 *   layout(codes, query, out, resume, multiQuery, multiThresholds)   offsets, set once
 *   supported() -> bool                                                this CPU has AVX-512 VPOPCNTDQ
 *   scan32(buffer, blockStart, blockEnd, threshold, outCap) -> pairs   one probe (threshold unsigned)
 *   multi32(buffer, probes, blockStart, blockEnd, outCap) -> pairs     2..4 probes (thresholds signed)
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#define BLOCK_RECORDS 16
#define STRIDE 32
#define BLOCK_BYTES (BLOCK_RECORDS * STRIDE)
#define MAX_PROBES 4
/*
 * Each block asks for the lines 4 KiB ahead of it: the hardware prefetchers follow a stream only
 * within a 4 KiB page, so without this every page's first lines can be misses the loop waits for.
 * Measured on one shard of 1M (bench:shard-levels, the same build with it on and off, alternated):
 * from -3% to -30% a query depending on the hour (8.3 -> 8.1 ms; 9.3 -> 6.3 ms).
 */
#define PREFETCH_AHEAD 4096

static uint32_t codesAt, queryAt, outAt, resumeAt, multiQueryAt, multiThresholdsAt;
static int layoutSet = 0;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KERNEL __attribute__((target("avx512f,avx512vl,avx512vpopcntdq")))

/* Distances of two records (64 bytes at p) to the query in both halves of q2: each 256-bit half of
 * the result holds its record's distance in every 64-bit lane. */
KERNEL static inline __m512i pairDistances(const uint8_t *p, __m512i q2) {
  __m512i c = _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512((const void *)p), q2));
  c = _mm512_add_epi64(c, _mm512_permutex_epi64(c, 0xB1)); /* lanes (1,0,3,2) */
  return _mm512_add_epi64(c, _mm512_permutex_epi64(c, 0x4E)); /* lanes (2,3,0,1) */
}

/* The lines of the block PREFETCH_AHEAD bytes after p, when that block is still in the scan. */
KERNEL static inline void prefetchAhead(const uint8_t *p, const uint8_t *end) {
  if ((size_t)(end - p) < PREFETCH_AHEAD + BLOCK_BYTES) return;
  for (int line = 0; line < BLOCK_BYTES; line += 64) _mm_prefetch((const char *)(p + PREFETCH_AHEAD + line), _MM_HINT_T0);
}

KERNEL static inline __m512i queryTwice(const uint8_t *q) {
  return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
}

/*
 * The loop both calls share: for each record of blocks [blockStart, blockEnd) and each probe k whose
 * distance is within thr[k] (signed), appends (record, distance | k << 16), record-major then probe
 * (the WebAssembly functions' order); stops after the block that left fewer than 16 x probes free
 * pairs below outCap, stores the next block at the resume offset and returns the pair count.
 */
KERNEL static inline uint32_t scanProbes(uint8_t *mem, const __m512i *q2, const __m512i *thr, uint32_t probes, uint32_t blockStart, uint32_t blockEnd, uint32_t outCap) {
  uint32_t *out = (uint32_t *)(mem + outAt);
  uint32_t n = 0, b = blockStart;
  const uint8_t *end = mem + codesAt + (size_t)blockEnd * BLOCK_BYTES;
  while (b < blockEnd) {
    const uint8_t *p = mem + codesAt + (size_t)b * BLOCK_BYTES;
    prefetchAhead(p, end);
    for (uint32_t i = 0; i < BLOCK_RECORDS / 2; i++) {
      __m512i d[MAX_PROBES];
      __mmask8 within[MAX_PROBES];
      __mmask8 any = 0;
      for (uint32_t k = 0; k < probes; k++) {
        d[k] = pairDistances(p + 64 * i, q2[k]);
        within[k] = _mm512_cmple_epi64_mask(d[k], thr[k]);
        any |= within[k];
      }
      if (!any) continue;
      for (uint32_t half = 0; half < 2; half++) {
        for (uint32_t k = 0; k < probes; k++) {
          if (!(within[k] & (1u << (4 * half)))) continue;
          uint64_t lanes[8];
          _mm512_storeu_si512((void *)lanes, d[k]);
          out[2 * n] = b * BLOCK_RECORDS + 2 * i + half;
          out[2 * n + 1] = (uint32_t)lanes[4 * half] | (k << 16);
          n++;
        }
      }
    }
    b++;
    if (n + BLOCK_RECORDS * probes > outCap) break;
  }
  memcpy(mem + resumeAt, &b, 4);
  return n;
}

/* One probe, the query at the query offset; the threshold is unsigned, as in the WebAssembly scan. */
KERNEL static uint32_t scanBlocks(uint8_t *mem, uint32_t blockStart, uint32_t blockEnd, uint32_t threshold, uint32_t outCap) {
  const __m512i q2 = queryTwice(mem + queryAt);
  const __m512i thr = _mm512_set1_epi64((long long)threshold);
  return scanProbes(mem, &q2, &thr, 1, blockStart, blockEnd, outCap);
}

/* 2..4 probes, their queries and signed thresholds (negative: nothing) at the multi-probe offsets. */
KERNEL static uint32_t scanBlocksMulti(uint8_t *mem, uint32_t probes, uint32_t blockStart, uint32_t blockEnd, uint32_t outCap) {
  __m512i q2[MAX_PROBES], thr[MAX_PROBES];
  for (uint32_t k = 0; k < probes; k++) {
    int32_t t;
    memcpy(&t, mem + multiThresholdsAt + 4 * k, 4);
    q2[k] = queryTwice(mem + multiQueryAt + 32 * k);
    thr[k] = _mm512_set1_epi64((long long)t);
  }
  return scanProbes(mem, q2, thr, probes, blockStart, blockEnd, outCap);
}

static int cpuSupported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq");
}
#else
static int cpuSupported(void) { return 0; }
static uint32_t scanBlocks(uint8_t *mem, uint32_t a, uint32_t b, uint32_t c, uint32_t d) { (void)mem; (void)a; (void)b; (void)c; (void)d; return 0; }
static uint32_t scanBlocksMulti(uint8_t *mem, uint32_t a, uint32_t b, uint32_t c, uint32_t d) { (void)mem; (void)a; (void)b; (void)c; (void)d; return 0; }
#endif

static int u32Args(napi_env env, napi_value *argv, size_t from, size_t count, uint32_t *out) {
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_uint32(env, argv[from + i], &out[i]) != napi_ok) return 0;
  }
  return 1;
}

/* The buffer's memory once the call's blocks, queries and out area are inside it; NULL (a thrown error) otherwise. */
static uint8_t *checkedMemory(napi_env env, napi_value buffer, uint32_t blockEnd, uint32_t outCap) {
  void *data = NULL;
  size_t length = 0;
  if (!layoutSet) {
    napi_throw_error(env, NULL, "popcount-scan: layout() was not called");
    return NULL;
  }
  if (napi_get_arraybuffer_info(env, buffer, &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "popcount-scan: expected an ArrayBuffer");
    return NULL;
  }
  if ((size_t)codesAt + (size_t)blockEnd * BLOCK_BYTES > length || (size_t)outAt + (size_t)outCap * 8 > codesAt) {
    napi_throw_range_error(env, NULL, "popcount-scan: blocks or out area outside the memory");
    return NULL;
  }
  return (uint8_t *)data;
}

static napi_value number(napi_env env, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  return v;
}

static napi_value jsLayout(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint32_t v[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6 || !u32Args(env, argv, 0, 6, v)) {
    napi_throw_type_error(env, NULL, "layout() takes six offsets");
    return NULL;
  }
  codesAt = v[0], queryAt = v[1], outAt = v[2], resumeAt = v[3], multiQueryAt = v[4], multiThresholdsAt = v[5];
  layoutSet = 1;
  return NULL;
}

static napi_value jsSupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, cpuSupported(), &v);
  return v;
}

static napi_value jsScan32(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t v[4];
  int32_t threshold;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || !u32Args(env, argv, 1, 2, v) || napi_get_value_int32(env, argv[3], &threshold) != napi_ok || !u32Args(env, argv, 4, 1, v + 2)) {
    napi_throw_type_error(env, NULL, "scan32(buffer, blockStart, blockEnd, threshold, outCap)");
    return NULL;
  }
  uint8_t *mem = checkedMemory(env, argv[0], v[1], v[2]);
  return mem ? number(env, scanBlocks(mem, v[0], v[1], (uint32_t)threshold, v[2])) : NULL;
}

static napi_value jsMulti32(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t v[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || !u32Args(env, argv, 1, 4, v) || v[0] < 1 || v[0] > MAX_PROBES) {
    napi_throw_type_error(env, NULL, "multi32(buffer, probes 1..4, blockStart, blockEnd, outCap)");
    return NULL;
  }
  uint8_t *mem = checkedMemory(env, argv[0], v[2], v[3]);
  return mem ? number(env, scanBlocksMulti(mem, v[0], v[1], v[2], v[3])) : NULL;
}

napi_value popcountScanExports(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback fn; } fns[] = {
    { "layout", jsLayout }, { "supported", jsSupported }, { "scan32", jsScan32 }, { "multi32", jsMulti32 },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
