/**
 * A tiny WebAssembly assembler: opcodes, LEB128 and section encoders, local access helpers. The scan
 * module (wasm-scan-module.ts) and its multi-probe functions (wasm-multi-scan.ts) are written with it.
 */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const V128 = 0x7b;
export const SIMD = 0xfd;
export const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i64Load: 0x29, i32Store: 0x36, i32Const: 0x41,
  i32LtS: 0x48, i32LtU: 0x49, i32LeS: 0x4c, i32GtU: 0x4b, i32LeU: 0x4d, i32GeU: 0x4f,
  i32Ctz: 0x68, i32Popcnt: 0x69, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72,
  i32Xor: 0x73, i32Shl: 0x74, i32ShrU: 0x76, i64Popcnt: 0x7b, i64Add: 0x7c, i64Xor: 0x85, i64Store: 0x37, i32WrapI64: 0xa7,
} as const;
export const simd = {
  load: 0x00, splat8: 0x0f, leU8: 0x2a, xor: 0x51, popcnt8: 0x62, bitmask8: 0x64, narrow16to8: 0x66,
  add8: 0x6e, extadd8: 0x7d /* i16x8.extadd_pairwise_i8x16_u */,
  extadd16: 0x7e /* i32x4.extadd_pairwise_i16x8_s: pmaddwd; lanes are small and positive */,
  narrow32to16: 0x86,
} as const;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
export const v = (code: number): number[] => [SIMD, ...uleb(code)];

export const get = (i: number) => [op.localGet, i];
export const set = (i: number) => [op.localSet, i];
export const konst = (n: number) => [op.i32Const, ...sleb(n)];
