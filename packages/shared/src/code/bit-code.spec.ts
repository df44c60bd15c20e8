import { describe, expect, it } from 'vitest';
import { bytesToHex, hammingDistance, hexToBytes, packBits, packSigns, unpackBits } from './bit-code.ts';

describe('bit codes', () => {
  it('packs MSB first and round-trips through hex', () => {
    const bits = [1, 0, 0, 0, 0, 0, 0, 1, 1, 1];
    const bytes = packBits(bits);
    expect(Array.from(bytes)).toEqual([0x81, 0xc0]);
    expect(Array.from(unpackBits(bytes, 10))).toEqual(bits);
    expect(bytesToHex(bytes)).toBe('81c0');
    expect(Array.from(hexToBytes('81c0'))).toEqual([0x81, 0xc0]);
  });
  it('packs the signs of projections (> 0 is 1, zero and below 0)', () => {
    expect(Array.from(packSigns(new Float32Array([0.5, -1, 0, 2, -0, 3, 1e-9, -2, 7])))).toEqual([0b10010110, 0x80]);
  });
  it('rejects odd or non-hex strings', () => {
    expect(() => hexToBytes('abc')).toThrow(/hex/);
    expect(() => hexToBytes('zz')).toThrow(/hex/);
  });
  it('counts differing bits', () => {
    expect(hammingDistance(new Uint8Array([0xff, 0]), new Uint8Array([0, 0]))).toBe(8);
    expect(hammingDistance(new Uint8Array([0b1010]), new Uint8Array([0b0101]))).toBe(4);
    expect(() => hammingDistance(new Uint8Array(1), new Uint8Array(2))).toThrow();
  });
});
