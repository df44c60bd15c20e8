/**
 * How multi-index hashing splits a code into substrings. The searchers' MultiIndexHash builds its
 * postings in memory from the mirrored codes (Redis holds none: see ShardKeys).
 *
 * Bits are numbered most significant first within each byte (as packBits/unpackBits do); part p
 * covers bits [starts[p], starts[p] + widths[p]) and its value is those bits read as a big-endian
 * unsigned integer. Widths differ by at most one (wider parts first).
 */
export interface MihLayout {
  bits: number;
  parts: number;
  starts: number[];
  widths: number[];
}

/** Widest substring supported: a part's postings use a dense table of 2^width buckets. */
export const MAX_MIH_PART_BITS = 20;

/** 16-bit substrings by default (e.g. 4 parts for 64-bit codes, 16 for 256-bit). */
export function defaultMihParts(bits: number): number {
  return Math.max(1, Math.ceil(bits / 16));
}

/**
 * Parts for an index of `records` codes whose postings carry the codes inline (64-bit codes, see
 * InlinePostings): there a bucket costs one random read and then ~1 ns per entry, so buckets of
 * ~100 entries beat many tiny ones; substrings of about log2(records / 128) bits (8..16).
 * Other code lengths keep defaultMihParts.
 */
export function mihPartsFor(bits: number, records: number): number {
  if (bits !== 64) return defaultMihParts(bits);
  const width = Math.min(16, Math.max(8, Math.round(Math.log2(Math.max(records, 1) / 128))));
  return Math.ceil(bits / width);
}

export function mihLayout(bits: number, parts = defaultMihParts(bits)): MihLayout {
  if (!Number.isInteger(parts) || parts < 1 || parts > bits) throw new RangeError(`cannot split ${bits} bits into ${parts} parts`);
  const base = Math.floor(bits / parts);
  const wider = bits % parts;
  const widths = Array.from({ length: parts }, (_, p) => base + (p < wider ? 1 : 0));
  if (widths[0] > MAX_MIH_PART_BITS) throw new RangeError(`substrings of ${widths[0]} bits are too wide (max ${MAX_MIH_PART_BITS}); use more parts`);
  const starts: number[] = [];
  let at = 0;
  for (const w of widths) {
    starts.push(at);
    at += w;
  }
  return { bits, parts, starts, widths };
}

/** Value of substring `part` of the code stored at `code[offset...]`. */
export function mihSubstring(code: Uint8Array, layout: MihLayout, part: number, offset = 0): number {
  const start = layout.starts[part];
  const width = layout.widths[part];
  const first = offset + (start >> 3);
  // A 32-bit big-endian window holds any part of <= 25 bits at any bit offset.
  const window = ((code[first] << 24) | ((code[first + 1] ?? 0) << 16) | ((code[first + 2] ?? 0) << 8) | (code[first + 3] ?? 0)) >>> 0;
  return (window >>> (32 - (start & 7) - width)) & ((1 << width) - 1);
}

/** Every substring value of one code, in part order. */
export function mihSubstrings(code: Uint8Array, layout: MihLayout): number[] {
  return layout.widths.map((_, p) => mihSubstring(code, layout, p));
}
