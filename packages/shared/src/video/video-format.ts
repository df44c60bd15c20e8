/** Video containers Loupe cuts into keyframes (named by their bytes, never by the key's extension). */
export type VideoFormat = 'mp4' | 'mov' | 'webm' | 'mkv';

const EBML_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);
/** ISO-BMFF brands of still images (HEIF, AVIF, Canon CR3 raw) and audio: sharp or nobody reads them, not the video path. */
const NOT_VIDEO_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1', 'avif', 'avis', 'avci', 'crx ', 'M4A ', 'M4B ', 'M4P ']);
/** Top-level atoms an old QuickTime file may start with instead of `ftyp`. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

/**
 * The video container of `bytes`, or null when they are not a video Loupe cuts. MP4 and MOV are
 * ISO-BMFF (`ftyp` and a brand; `qt  ` is QuickTime); WebM and Matroska are EBML documents whose
 * DocType, within the first bytes of the header, says which.
 */
export function sniffVideoFormat(bytes: Buffer): VideoFormat | null {
  if (bytes.length < 12) return null;
  const box = bytes.toString('latin1', 4, 8);
  if (box === 'ftyp') {
    const brand = bytes.toString('latin1', 8, 12);
    if (NOT_VIDEO_BRANDS.has(brand)) return null;
    return brand === 'qt  ' ? 'mov' : 'mp4';
  }
  if (QUICKTIME_ATOMS.has(box) && bytes.readUInt32BE(0) >= 8) return 'mov';
  if (bytes.subarray(0, 4).equals(EBML_MAGIC)) {
    const head = bytes.toString('latin1', 0, Math.min(bytes.length, 64));
    if (head.includes('webm')) return 'webm';
    if (head.includes('matroska')) return 'mkv';
  }
  return null;
}
