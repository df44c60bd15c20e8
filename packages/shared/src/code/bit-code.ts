/** Bits <-> packed bytes <-> hex, and the reference Hamming distance every kernel is tested against. */

/** Packs an array of 0/1 (or booleans) into bytes, most significant bit first. */
export function packBits(bits: ArrayLike<number | boolean>): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

/** The signs of `values` (1 where > 0) packed MSB first, as packBits would pack them. */
export function packSigns(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) if (values[i] > 0) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

export function unpackBits(bytes: Uint8Array, nBits = bytes.length * 8): Uint8Array {
  const out = new Uint8Array(nBits);
  for (let i = 0; i < nBits; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error('code must be an even-length hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Set bits of each byte value. */
export const POPCOUNT8 = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT8[i] = (i & 1) + POPCOUNT8[i >> 1];

/** Codes of equal length side by side (a level's views as the index stores them). */
export function concatCodes(codes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(codes.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of codes) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Reference Hamming distance between two equal-length codes (slow, obviously correct). */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`code lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT8[a[i] ^ b[i]];
  return d;
}

/** Similarity in [0,1] shown to users: 1 - distance / bits. */
export function hammingScore(distance: number, bits: number): number {
  return Math.round((1 - distance / bits) * 1e4) / 1e4;
}
