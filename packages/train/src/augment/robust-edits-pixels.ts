import type { SeededRandom } from '@loupe/shared';
import type { SourceRaster } from './copy-transforms.ts';
import { raw, toRaster, type Edit, type EditState } from './robust-edits-raster.ts';

/** Same geometry, new pixels: the regions stay where they are. */
function repainted(state: EditState, raster: SourceRaster, detail: string) {
  return { state: { ...state, raster }, detail };
}

/** Gaussian blur of sigma 1-6 px as seen on a 640-px picture (scaled to this one's longer side). */
export const blur: Edit = async (state, rng) => {
  const sigma640 = rng.uniform(1, 6);
  const sigma = Math.max(0.3, (sigma640 * Math.max(state.raster.width, state.raster.height)) / 640);
  return repainted(state, await toRaster(raw(state.raster).blur(sigma)), `blur ${sigma640.toFixed(1)}px@640`);
};

/** Gaussian noise of sd 5-30 (per channel or the same on all three), or salt and pepper on 1-8% of pixels. */
export const noise: Edit = async (state, rng) => {
  const { data, width, height } = state.raster;
  const out = Buffer.from(data);
  const pixels = width * height;
  if (rng.next() < 0.7) {
    const sd = rng.uniform(5, 30);
    const mono = rng.next() < 0.3;
    const gauss = gaussianSource(rng);
    for (let p = 0; p < pixels; p++) {
      const shared = mono ? gauss() * sd : 0;
      for (let c = 0; c < 3; c++) {
        const i = p * 3 + c;
        out[i] = clampByte(data[i] + (mono ? shared : gauss() * sd));
      }
    }
    return repainted(state, { data: out, width, height }, `noise gaussian ${sd.toFixed(1)}${mono ? ' mono' : ''}`);
  }
  const amount = rng.uniform(0.01, 0.08);
  for (let p = 0; p < pixels; p++) {
    if (rng.next() >= amount) continue;
    out.fill(rng.next() < 0.5 ? 0 : 255, p * 3, p * 3 + 3);
  }
  return repainted(state, { data: out, width, height }, `noise salt-pepper ${amount.toFixed(3)}`);
};

/** Box-Muller normal deviates from `rng` (two per pair of uniforms, the second kept for the next call). */
function gaussianSource(rng: SeededRandom): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(rng.nextNonZero()));
    const a = 2 * Math.PI * rng.next();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Downscaled to 8-25% and blown back up with nearest-neighbour: visible blocks. */
export const pixelate: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const f = rng.uniform(0.08, 0.25);
  const small = await toRaster(raw(state.raster).resize(Math.max(1, Math.round(W * f)), Math.max(1, Math.round(H * f)), { fit: 'fill' }));
  const raster = await toRaster(raw(small).resize(W, H, { fit: 'fill', kernel: 'nearest' }));
  return repainted(state, raster, `pixelate ${f.toFixed(2)}`);
};

/** The copy is saved at JPEG quality 10-50 (the chain's last step, so it only sets the final encoding). */
export const jpeg: Edit = async (state, rng) => {
  const quality = rng.int(10, 50);
  return { state: { ...state, jpegQuality: quality }, detail: `jpeg q${quality}` };
};

/** Darker (0.4-0.7) or brighter (1.3-1.8). */
export const brightness: Edit = async (state, rng) => {
  const b = rng.next() < 0.5 ? rng.uniform(0.4, 0.7) : rng.uniform(1.3, 1.8);
  return repainted(state, await toRaster(raw(state.raster).modulate({ brightness: b })), `brightness ${b.toFixed(2)}`);
};

/** Flatter (0.4-0.7) or harsher (1.4-2) around mid-grey. */
export const contrast: Edit = async (state, rng) => {
  const a = rng.next() < 0.5 ? rng.uniform(0.4, 0.7) : rng.uniform(1.4, 2);
  return repainted(state, await toRaster(raw(state.raster).linear(a, 128 * (1 - a))), `contrast ${a.toFixed(2)}`);
};

/** Washed out (0-0.3) or oversaturated (1.5-2.5). */
export const saturation: Edit = async (state, rng) => {
  const s = rng.next() < 0.5 ? rng.uniform(0, 0.3) : rng.uniform(1.5, 2.5);
  return repainted(state, await toRaster(raw(state.raster).modulate({ saturation: s })), `saturation ${s.toFixed(2)}`);
};

/** Hue turned by 20-180 degrees either way. */
export const hue: Edit = async (state, rng) => {
  const degrees = rng.sign() * rng.int(20, 180);
  return repainted(state, await toRaster(raw(state.raster).modulate({ hue: degrees })), `hue ${degrees}deg`);
};

export const grayscale: Edit = async (state) => repainted(state, await toRaster(raw(state.raster).grayscale()), 'grayscale');

export const invert: Edit = async (state) => repainted(state, await toRaster(raw(state.raster).negate({ alpha: false })), 'invert');
