import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT } from '../../packages/shared/src/index.ts';

/** The bundled samples (samples/*.jpg), in name order. */
export const SAMPLES = path.join(REPO_ROOT, 'samples');
export const samplePhotos = (): string[] => readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort();

export interface SampleQuery {
  /** The sample it was made from (its key in an index of samples/). */
  name: string;
  kind: 'copy' | 'crop-25' | 'crop-10';
  bytes: Buffer;
}

/** For each sample: a resized, recompressed copy (60% of the side, q80) and crops of 25% and 10% of its area. */
export async function sampleQueries(photos = samplePhotos()): Promise<SampleQuery[]> {
  const out: SampleQuery[] = [];
  for (const name of photos) {
    const file = path.join(SAMPLES, name);
    const { width, height } = await sharp(file).metadata();
    out.push({ name, kind: 'copy', bytes: await sharp(file).resize(Math.round(width! * 0.6)).jpeg({ quality: 80 }).toBuffer() });
    for (const [area, kind, fx, fy] of [[0.25, 'crop-25', 0.3, 0.4], [0.1, 'crop-10', 0.8, 0.2]] as const) {
      const w = Math.round(width! * Math.sqrt(area));
      const h = Math.round(height! * Math.sqrt(area));
      const crop = sharp(file).extract({ left: Math.round((width! - w) * fx), top: Math.round((height! - h) * fy), width: w, height: h });
      out.push({ name, kind, bytes: await crop.jpeg({ quality: 85 }).toBuffer() });
    }
  }
  return out;
}
