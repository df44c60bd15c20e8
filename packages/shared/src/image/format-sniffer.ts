/**
 * Names image formats from their magic bytes when sharp cannot decode them, so a BMP or HEIC
 * photo is reported as `unsupported-format` instead of `not-an-image`. Only formats this build
 * of sharp cannot read are listed; everything sharp reads is identified by sharp itself.
 */
const SIGNATURES: { name: string; test: (b: Buffer) => boolean }[] = [
  { name: 'bmp', test: (b) => b.length >= 14 && b.toString('latin1', 0, 2) === 'BM' && b.readUInt32LE(2) >= 14 },
  { name: 'ico', test: (b) => b.length >= 6 && b.readUInt32BE(0) === 0x00000100 && b.readUInt16LE(4) > 0 },
  { name: 'psd', test: (b) => b.toString('latin1', 0, 4) === '8BPS' },
  { name: 'jpeg2000', test: (b) => b.subarray(0, 12).equals(JP2_BOX) || b.subarray(0, 4).equals(J2K_CODESTREAM) },
  { name: 'jpeg-xl', test: (b) => b.subarray(0, 2).equals(JXL_CODESTREAM) || b.subarray(0, 12).equals(JXL_BOX) },
  { name: 'heic', test: (b) => isoBrand(b) !== null && HEIC_BRANDS.has(isoBrand(b)!) },
  { name: 'qoi', test: (b) => b.toString('latin1', 0, 4) === 'qoif' },
];

const JP2_BOX = Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
const J2K_CODESTREAM = Buffer.from([0xff, 0x4f, 0xff, 0x51]);
const JXL_CODESTREAM = Buffer.from([0xff, 0x0a]);
const JXL_BOX = Buffer.from([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
/** HEIF brands carrying HEVC, which the prebuilt libvips cannot decode (AVIF it can). */
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);

/** Major brand of an ISO-BMFF file (`....ftypXXXX`), or null. */
function isoBrand(b: Buffer): string | null {
  return b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' ? b.toString('latin1', 8, 12) : null;
}

/** The name of a known image format sharp cannot decode here, or null. */
export function sniffUndecodableFormat(bytes: Buffer): string | null {
  for (const s of SIGNATURES) if (s.test(bytes)) return s.name;
  return null;
}
