/**
 * Memory layout shared by every popcount kernel (wasm and JS), so the scanner writes codes and
 * queries the same way whichever kernel runs. Offsets are in bytes.
 */

/** u32: block index where the last scanBlocks call stopped. */
export const RESUME_OFFSET = 0;
/** 32 bytes: the query repeated to fill a v128 (strides 4/8/16) or spanning two (stride 32). */
export const QUERY_OFFSET = 64;
/** Emitted (record u32, distance u32) pairs. */
export const OUT_OFFSET = 128;
/** Pairs the out area holds; a scan call returns before it could overflow. */
export const OUT_CAPACITY = 4096;
/** u32 record numbers to verify (PopcountKernel.verify), up to CANDIDATE_CAPACITY of them. */
export const CANDIDATES_OFFSET = OUT_OFFSET + OUT_CAPACITY * 8;
export const CANDIDATE_CAPACITY = 4096;
/**
 * Multi-probe scans (PopcountKernel.scanBlocksMulti): up to MULTI_PROBES queries of 32 bytes each
 * (zero padded past the stride) and their thresholds (i32 each, negative: emit nothing).
 */
export const MULTI_PROBES = 4;
export const MULTI_QUERY_OFFSET = CANDIDATES_OFFSET + CANDIDATE_CAPACITY * 4;
export const MULTI_THRESHOLDS_OFFSET = MULTI_QUERY_OFFSET + MULTI_PROBES * 32;
/** Codes start here (page aligned), record i at CODES_OFFSET + i * stride. */
export const CODES_OFFSET = 65536;
/** Records per kernel block: one i8x16 of distances. */
export const BLOCK_RECORDS = 16;
/** Storage strides the kernels support; a code is zero-padded to the next one. */
export const STRIDES = [4, 8, 16, 32] as const;
export type Stride = (typeof STRIDES)[number];

export const MIN_CODE_BYTES = 4;
export const MAX_CODE_BYTES = 32;

export function strideFor(codeBytes: number): Stride {
  if (!Number.isInteger(codeBytes) || codeBytes < MIN_CODE_BYTES || codeBytes > MAX_CODE_BYTES) {
    throw new RangeError(`code size must be ${MIN_CODE_BYTES}..${MAX_CODE_BYTES} bytes, got ${codeBytes}`);
  }
  return STRIDES.find((s) => s >= codeBytes)!;
}

/*
 * Inline MIH postings (InlinePostings, 64-bit codes): a separate instance's memory holding, per
 * substring, a table: a header (addresses of its codes and of its records, u32 each), the CSR
 * offsets of its 2^width values (u32), then the codes of its entries (u64, bucket by bucket) and
 * the entries' record numbers (u32, same order), so verifying a bucket reads its codes sequentially.
 */
/** u32 substring values to probe. */
export const PROBE_VALUES_OFFSET = 1024;
export const PROBE_VALUES_CAPACITY = 16384;
/** Emitted (record u32, distance u32) pairs; a call's buckets never hold more entries than this. */
export const PROBE_OUT_OFFSET = PROBE_VALUES_OFFSET + 4 * PROBE_VALUES_CAPACITY;
export const PROBE_OUT_CAPACITY = 65536;
/** First table (page aligned). */
export const PROBE_TABLES_OFFSET = Math.ceil((PROBE_OUT_OFFSET + 8 * PROBE_OUT_CAPACITY) / 65536) * 65536;
/** Bytes before a table's offsets (its codes and records addresses). */
export const PROBE_TABLE_HEADER_BYTES = 8;
