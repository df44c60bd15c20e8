import sharp from 'sharp';

const SIDE = 32;
const KEEP = 8;

/** DCT-II basis, row-major [u][x], orthonormal scaling is irrelevant to a median threshold. */
const BASIS = (() => {
  const b = new Float64Array(SIDE * SIDE);
  for (let u = 0; u < SIDE; u++) for (let x = 0; x < SIDE; x++) b[u * SIDE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * SIDE));
  return b;
})();

/**
 * 64-bit perceptual hash (pHash, as in phash.org's ph_dct_imagehash): grayscale, 32x32, 2-D DCT,
 * the 8x8 lowest frequencies without the DC row and column (coefficients 1..8 x 1..8), each bit
 * = coefficient above the median of the 64. Returned as 8 bytes, MSB first.
 */
export async function perceptualHash(bytes: Buffer): Promise<Uint8Array> {
  const pixels = await sharp(bytes, { failOn: 'none', pages: 1 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .grayscale()
    .resize(SIDE, SIDE, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
  return perceptualHashOfGray(pixels);
}

/** pHash of a 32x32 8-bit grayscale raster. */
export function perceptualHashOfGray(pixels: Uint8Array): Uint8Array {
  if (pixels.length !== SIDE * SIDE) throw new Error(`pHash needs ${SIDE}x${SIDE} gray pixels, got ${pixels.length}`);
  // Separable DCT, only the rows/columns 0..KEEP are needed.
  const rows = new Float64Array((KEEP + 1) * SIDE); // [v][x] = sum_y basis[v][y] * p[y][x]
  for (let v = 0; v <= KEEP; v++)
    for (let x = 0; x < SIDE; x++) {
      let s = 0;
      for (let y = 0; y < SIDE; y++) s += BASIS[v * SIDE + y] * pixels[y * SIDE + x];
      rows[v * SIDE + x] = s;
    }
  const coeffs: number[] = [];
  for (let v = 1; v <= KEEP; v++)
    for (let u = 1; u <= KEEP; u++) {
      let s = 0;
      for (let x = 0; x < SIDE; x++) s += BASIS[u * SIDE + x] * rows[v * SIDE + x];
      coeffs.push(s);
    }
  const sorted = [...coeffs].sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  const out = new Uint8Array(8);
  coeffs.forEach((c, i) => {
    if (c > median) out[i >> 3] |= 0x80 >> (i & 7);
  });
  return out;
}
