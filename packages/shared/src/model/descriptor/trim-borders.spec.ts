import { describe, expect, it } from 'vitest';
import type { RgbRaster } from '../../image/canonical-image.ts';
import { trimBorders } from './trim-borders.ts';

/** w x h raster: a frame of `frame` colour around a content box of noise. */
function framed(w: number, h: number, box: { x: number; y: number; w: number; h: number }, frame: [number, number, number]): RgbRaster {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h;
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = inside ? (x * 37 + y * 91 + c * 53) % 256 : frame[c] + ((x + y) % 3) * 5; // frame: JPEG-like jitter
    }
  }
  return { data, width: w, height: h };
}

describe('trimBorders', () => {
  it('cuts a uniform frame off every side, down to the content', () => {
    const t = trimBorders(framed(100, 80, { x: 12, y: 5, w: 70, h: 60 }, [200, 30, 30]));
    expect([t.width, t.height]).toEqual([70, 60]);
    expect(Array.from(t.data.subarray(0, 3))).toEqual([(12 * 37 + 5 * 91) % 256, (12 * 37 + 5 * 91 + 53) % 256, (12 * 37 + 5 * 91 + 106) % 256]);
  });

  it('returns the same raster when there is no frame', () => {
    const r = framed(50, 40, { x: 0, y: 0, w: 50, h: 40 }, [0, 0, 0]);
    expect(trimBorders(r)).toBe(r);
  });

  it('keeps at least 40% of each side of a nearly flat image', () => {
    const t = trimBorders(framed(100, 100, { x: 48, y: 48, w: 4, h: 4 }, [128, 128, 128]));
    expect(t.width).toBeGreaterThanOrEqual(40);
    expect(t.height).toBeGreaterThanOrEqual(40);
  });
});
