/**
 * Emits the WebAssembly SIMD scan module as bytes, in process, so no build step, no artifact and
 * no network are needed, and a worker thread can compile it synchronously.
 *
 * Exports: memory; scan4..scan32 (SIMD) and scalar4..scalar32, each (blockStart, blockEnd,
 * threshold, outCap) -> pairs emitted, following the PopcountKernel.scanBlocks contract for one
 * storage stride; verify4..verify32 (n, threshold, 0, 0) -> pairs emitted (PopcountKernel.verify);
 * probe8 (valueStart, valueEnd, threshold, tableAddr) -> pairs emitted (InlinePostings); multi8x2..multi32x4
 * (blockStart, blockEnd, 0, outCap) -> pairs emitted (PopcountKernel.scanBlocksMulti, wasm-multi-scan.ts).
 *
 * Per 16-record block: v128 loads XOR the tiled query, i8x16.popcnt, then a reduction tree of
 * pairwise widening adds (extadd_pairwise) and saturating narrows packs the 16 distances into one
 * i8x16 (256 saturates to 255, so emitted records are re-checked with an exact scalar i64.popcnt).
 * One i8x16.le_u + bitmask decides the block; only set bits are visited.
 */
import {
  BLOCK_RECORDS,
  CANDIDATES_OFFSET,
  CODES_OFFSET,
  MULTI_PROBES,
  MULTI_QUERY_OFFSET,
  OUT_OFFSET,
  PROBE_TABLE_HEADER_BYTES,
  PROBE_OUT_OFFSET,
  PROBE_VALUES_OFFSET,
  QUERY_OFFSET,
  RESUME_OFFSET,
  STRIDES,
  type Stride,
} from './kernel-layout.ts';
import { I32, I64, V128, get, konst, op, section, set, simd, str, uleb, v, vec } from './wasm-asm.ts';
import { blockLoop, emitPair } from './wasm-block-scan.ts';
import { MULTI_STRIDES, multiScanBody } from './wasm-multi-scan.ts';

// Locals of every scan function: params first, then declared locals.
const B = 0, E = 1, T = 2, CAP = 3, N = 4, P = 5, MASK = 6, J = 7, D = 8, RP = 9, Q0 = 10, Q1 = 11, THR = 12;

/** Popcount bytes of one 16-byte load at block offset `off`, XORed with query vector `q`. */
function pop(off: number, q: number): number[] {
  return [...get(P), ...v(simd.load), 4, ...uleb(off), ...get(q), ...v(simd.xor), ...v(simd.popcnt8)];
}

/** i8x16 of per-byte bit counts holding record r alone (strides 16 and 32). */
function recordVec(stride: Stride, r: number): number[] {
  if (stride === 16) return pop(16 * r, Q0);
  return [...pop(32 * r, Q0), ...pop(32 * r + 16, Q1), ...v(simd.add8)];
}

/** i32x4 of the distances of records 4g..4g+3 of the block. */
function group(stride: Stride, g: number): number[] {
  const e8 = v(simd.extadd8), e16 = v(simd.extadd16), n16 = v(simd.narrow16to8);
  if (stride === 4) return [...pop(16 * g, Q0), ...e8, ...e16];
  if (stride === 8) return [...pop(32 * g, Q0), ...e8, ...pop(32 * g + 16, Q0), ...e8, ...n16, ...e8, ...e16];
  // Two records, four i16 lanes each.
  const pair = (r: number) => [...recordVec(stride, r), ...e8, ...recordVec(stride, r + 1), ...e8, ...n16, ...e8];
  return [...pair(4 * g), ...pair(4 * g + 2), ...n16, ...e8, ...e16];
}

/** i8x16 of the 16 distances of the block (saturated at 255). */
function blockDistances(stride: Stride): number[] {
  const n32 = v(simd.narrow32to16);
  return [...group(stride, 0), ...group(stride, 1), ...n32, ...group(stride, 2), ...group(stride, 3), ...n32, ...v(simd.narrow16to8)];
}

/** Exact distance of the record at address RP, as i32. */
function exactDistance(stride: Stride): number[] {
  if (stride === 4) {
    return [...get(RP), op.i32Load, 2, 0, ...konst(0), op.i32Load, 2, ...uleb(QUERY_OFFSET), op.i32Xor, op.i32Popcnt];
  }
  const out: number[] = [];
  for (let w = 0; w < stride / 8; w++) {
    out.push(...get(RP), op.i64Load, 3, ...uleb(8 * w), ...konst(0), op.i64Load, 3, ...uleb(QUERY_OFFSET + 8 * w));
    out.push(op.i64Xor, op.i64Popcnt);
    if (w > 0) out.push(op.i64Add);
  }
  return [...out, op.i32WrapI64];
}

function scanBody(stride: Stride): number[] {
  const blockBytes = BLOCK_RECORDS * stride;
  const setup = [
    // q0, q1: the tiled query; thr: min(threshold, 255) in every lane.
    ...konst(0), ...v(simd.load), 4, ...uleb(QUERY_OFFSET), ...set(Q0),
    ...konst(0), ...v(simd.load), 4, ...uleb(QUERY_OFFSET + 16), ...set(Q1),
    ...get(T), ...konst(255), ...get(T), ...konst(255), op.i32LtS, op.select, ...v(simd.splat8), ...set(THR),
  ];
  const block = [
    ...blockDistances(stride), ...get(THR), ...v(simd.leU8), ...v(simd.bitmask8), op.localTee, MASK,
    op.if, 0x40,
    op.loop, 0x40,
    // j = lowest set lane; rp = p + j * stride
    ...get(MASK), op.i32Ctz, op.localTee, J, ...konst(stride), op.i32Mul, ...get(P), op.i32Add, ...set(RP),
    ...exactDistance(stride), op.localTee, D, ...get(T), op.i32LeU,
    op.if, 0x40,
    ...get(N), ...konst(3), op.i32Shl, ...get(B), ...konst(4), op.i32Shl, ...get(J), op.i32Or, op.i32Store, 2, ...uleb(OUT_OFFSET),
    ...get(N), ...konst(3), op.i32Shl, ...get(D), op.i32Store, 2, ...uleb(OUT_OFFSET + 4),
    ...get(N), ...konst(1), op.i32Add, ...set(N),
    op.end,
    ...get(MASK), ...get(MASK), ...konst(1), op.i32Sub, op.i32And, op.localTee, MASK, op.brIf, 0,
    op.end,
    op.end,
  ];
  const code = blockLoop(setup, blockBytes, block, BLOCK_RECORDS);
  const locals = vec([[...uleb(6), I32], [...uleb(3), V128]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/**
 * Scalar variant: per record i64.popcnt (i32.popcnt for stride 4) of the XORed words, 16 records
 * unrolled per block, same contract. Which variant is faster depends on the CPU (without AVX-512,
 * V8 lowers i8x16.popcnt to a pshufb nibble lookup), so the kernel can pick either.
 */
function scalarBody(stride: Stride): number[] {
  const blockBytes = BLOCK_RECORDS * stride;
  const wordsPerRecord = stride === 4 ? 1 : stride / 8;
  const QW = (w: number) => 10 + w; // i64 query words (i32 for stride 4) in locals 10..13
  const loads: number[] = [];
  for (let w = 0; w < wordsPerRecord; w++) {
    if (stride === 4) loads.push(...konst(0), op.i32Load, 2, ...uleb(QUERY_OFFSET), ...set(QW(w)));
    else loads.push(...konst(0), op.i64Load, 3, ...uleb(QUERY_OFFSET + 8 * w), ...set(QW(w)));
  }
  const record = (j: number): number[] => {
    const out: number[] = [];
    for (let w = 0; w < wordsPerRecord; w++) {
      if (stride === 4) out.push(...get(P), op.i32Load, 2, ...uleb(j * stride), ...get(QW(w)), op.i32Xor, op.i32Popcnt);
      else {
        out.push(...get(P), op.i64Load, 3, ...uleb(j * stride + 8 * w), ...get(QW(w)), op.i64Xor, op.i64Popcnt);
        if (w > 0) out.push(op.i64Add);
      }
    }
    if (stride !== 4) out.push(op.i32WrapI64);
    out.push(op.localTee, D, ...get(T), op.i32LeU, op.if, 0x40, ...emitPair(j, D), op.end);
    return out;
  };
  const code = blockLoop(loads, blockBytes, Array.from({ length: BLOCK_RECORDS }, (_, j) => record(j)).flat(), BLOCK_RECORDS);
  const locals = vec([[...uleb(6), I32], [...uleb(4), stride === 4 ? I32 : I64]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/**
 * verifyS(n, threshold, -, -): distance of each of the n records listed (u32) at
 * CANDIDATES_OFFSET; emits (record, distance) for those within threshold. A tight gather loop
 * (MIH verification): its random code reads overlap far better than the same loop in JS.
 */
function verifyBody(stride: Stride): number[] {
  const code: number[] = [
    op.block, 0x40,
    op.loop, 0x40,
    ...get(B), ...get(E), op.i32GeU, op.brIf, 1,
    ...get(B), ...konst(2), op.i32Shl, op.i32Load, 2, ...uleb(CANDIDATES_OFFSET), op.localTee, J,
    ...konst(stride), op.i32Mul, ...konst(CODES_OFFSET), op.i32Add, ...set(RP),
    ...exactDistance(stride), op.localTee, D, ...get(T), op.i32LeU,
    op.if, 0x40,
    ...get(N), ...konst(3), op.i32Shl, ...get(J), op.i32Store, 2, ...uleb(OUT_OFFSET),
    ...get(N), ...konst(3), op.i32Shl, ...get(D), op.i32Store, 2, ...uleb(OUT_OFFSET + 4),
    ...get(N), ...konst(1), op.i32Add, ...set(N),
    op.end,
    ...get(B), ...konst(1), op.i32Add, ...set(B),
    op.br, 0,
    op.end,
    op.end,
    ...get(N),
    op.end,
  ];
  const body = [...vec([[...uleb(6), I32]]), ...code];
  return [...uleb(body.length), ...body];
}

/**
 * probe8(valueStart, valueEnd, threshold, tableAddr): for each substring value listed (u32) at
 * PROBE_VALUES_OFFSET [valueStart, valueEnd), walks its bucket of inline codes in the table at
 * tableAddr and emits (record, distance) at PROBE_OUT_OFFSET for entries within threshold of the
 * 64-bit query at QUERY_OFFSET. The caller keeps the entries of one call under PROBE_OUT_CAPACITY.
 */
function probeBody(): number[] {
  // params B (valueStart), E (valueEnd), T (threshold), CAP (tableAddr); locals below.
  const N_ = 4, CODES = 5, END = 6, J_ = 7, D_ = 8, RP_ = 9, IDS = 10, Q = 11, ACC = 12;
  // The entry at J + off: emit (record, distance) when within T; the record = ids[(j - codes) / 8]
  // is read only for the rare emitted entry.
  const entry = (off: number): number[] => [
    ...get(J_), op.i64Load, 3, ...uleb(off), ...get(Q), op.i64Xor, op.i64Popcnt, op.i32WrapI64, op.localTee, D_, ...get(T), op.i32LeU,
    op.if, 0x40,
    ...get(N_), ...konst(3), op.i32Shl,
    ...get(J_), ...konst(off), op.i32Add, ...get(CODES), op.i32Sub, ...konst(1), op.i32ShrU, ...get(IDS), op.i32Add, op.i32Load, 2, 0,
    op.i32Store, 2, ...uleb(PROBE_OUT_OFFSET),
    ...get(N_), ...konst(3), op.i32Shl, ...get(D_), op.i32Store, 2, ...uleb(PROBE_OUT_OFFSET + 4),
    ...get(N_), ...konst(1), op.i32Add, ...set(N_),
    op.end,
  ];
  const code: number[] = [
    ...konst(0), op.i64Load, 3, ...uleb(QUERY_OFFSET), ...set(Q),
    ...get(CAP), op.i32Load, 2, 0, ...set(CODES),
    ...get(CAP), op.i32Load, 2, 4, ...set(IDS),
    // Touch pass: one independent load per bucket start (two cache lines), so the buckets' cache
    // misses overlap instead of being paid one after another in the loop below. The loads feed
    // ACC, stored at 0 so they are not dropped.
    ...get(B), ...set(J_),
    op.block, 0x40,
    op.loop, 0x40,
    ...get(J_), ...get(E), op.i32GeU, op.brIf, 1,
    ...get(CAP), ...get(J_), ...konst(2), op.i32Shl, op.i32Load, 2, ...uleb(PROBE_VALUES_OFFSET), ...konst(2), op.i32Shl, op.i32Add,
    op.i32Load, 2, ...uleb(PROBE_TABLE_HEADER_BYTES), ...konst(3), op.i32Shl, ...get(CODES), op.i32Add, op.localTee, RP_,
    op.i64Load, 3, 0, ...get(RP_), op.i64Load, 3, 64, op.i64Xor, ...get(ACC), op.i64Xor, ...set(ACC),
    ...get(J_), ...konst(1), op.i32Add, ...set(J_),
    op.br, 0,
    op.end,
    op.end,
    ...konst(0), ...get(ACC), op.i64Store, 3, 0,
    op.block, 0x40,
    op.loop, 0x40,
    ...get(B), ...get(E), op.i32GeU, op.brIf, 1,
    // rp = &offsets[value]; the bucket is codes[offsets[value] .. offsets[value + 1])
    ...get(CAP), ...get(B), ...konst(2), op.i32Shl, op.i32Load, 2, ...uleb(PROBE_VALUES_OFFSET), ...konst(2), op.i32Shl, op.i32Add,
    ...konst(PROBE_TABLE_HEADER_BYTES), op.i32Add, op.localTee, RP_,
    op.i32Load, 2, 0, ...konst(3), op.i32Shl, ...get(CODES), op.i32Add, ...set(J_),
    ...get(RP_), op.i32Load, 2, 4, ...konst(3), op.i32Shl, ...get(CODES), op.i32Add, ...set(END),
    // Entries two at a time, then the odd one.
    op.block, 0x40,
    op.loop, 0x40,
    ...get(J_), ...konst(8), op.i32Add, ...get(END), op.i32GeU, op.brIf, 1,
    ...entry(0), ...entry(8),
    ...get(J_), ...konst(16), op.i32Add, ...set(J_),
    op.br, 0,
    op.end,
    op.end,
    ...get(J_), ...get(END), op.i32LtU, op.if, 0x40, ...entry(0), op.end,
    ...get(B), ...konst(1), op.i32Add, ...set(B),
    op.br, 0,
    op.end,
    op.end,
    ...get(N_),
    op.end,
  ];
  const body = [...vec([[...uleb(7), I32], [...uleb(2), I64]]), ...code];
  return [...uleb(body.length), ...body];
}

/** Names of the multi-probe functions (wasm-multi-scan.ts), one per stride and probe count 2..MULTI_PROBES. */
const MULTI = MULTI_STRIDES.flatMap((stride) => Array.from({ length: MULTI_PROBES - 1 }, (_, i) => ({ stride, probes: i + 2 })));

export function multiScanName(stride: Stride, probes: number): string {
  return `multi${stride}x${probes}`;
}

/** The module's bytes (deterministic). */
export function wasmScanModuleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])]]));
  const funcs = section(3, vec([...STRIDES, ...STRIDES, ...STRIDES, 'probe8', ...MULTI].map(() => [0])));
  const memory = section(5, vec([[0x00, ...uleb(CODES_OFFSET / 65536 + 1)]]));
  const first = 3 * STRIDES.length + 1;
  const exports = section(7, vec([
    [...str('memory'), 0x02, 0],
    ...STRIDES.map((s, i) => [...str(`scan${s}`), 0x00, i]),
    ...STRIDES.map((s, i) => [...str(`scalar${s}`), 0x00, STRIDES.length + i]),
    ...STRIDES.map((s, i) => [...str(`verify${s}`), 0x00, 2 * STRIDES.length + i]),
    [...str('probe8'), 0x00, 3 * STRIDES.length],
    ...MULTI.map((m, i) => [...str(multiScanName(m.stride, m.probes)), 0x00, ...uleb(first + i)]),
  ]));
  const codeSec = section(10, vec([...STRIDES.map(scanBody), ...STRIDES.map(scalarBody), ...STRIDES.map(verifyBody), probeBody(), ...MULTI.map((m) => multiScanBody(m.stride, m.probes))]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...funcs, ...memory, ...exports, ...codeSec]);
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled module (synchronous compile, cached per thread), or null when this runtime lacks
 * WebAssembly SIMD. A worker may also receive the Module via postMessage.
 */
export function wasmScanModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const bytes = wasmScanModuleBytes();
  compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  if (compiled) warmUp(compiled);
  return compiled;
}

/**
 * V8 first runs wasm in its baseline compiler (Liftoff) and re-compiles a function with TurboFan
 * once it has run enough; a scan runs as one long call, so without this the first queries of a
 * process would run the slow code. A few ms of scanning zeros in a scratch instance uses up the
 * tier-up budget of every scan function (the optimized code is shared by all instances).
 */
function warmUp(module: WebAssembly.Module): void {
  const blocks = 4096;
  const exp = new WebAssembly.Instance(module, {}).exports as Record<string, unknown>;
  const memory = exp.memory as WebAssembly.Memory;
  memory.grow(Math.ceil((blocks * BLOCK_RECORDS * 32) / 65536));
  // Every distance is maximal (zero codes, all-ones queries): nothing is emitted.
  new Uint8Array(memory.buffer, QUERY_OFFSET, 32).fill(0xff);
  new Uint8Array(memory.buffer, MULTI_QUERY_OFFSET, 32 * MULTI_PROBES).fill(0xff);
  for (const name of Object.keys(exp)) {
    if (typeof exp[name] === 'function') (exp[name] as (b: number, e: number, t: number, c: number) => number)(0, blocks, 0, 4096);
  }
}
