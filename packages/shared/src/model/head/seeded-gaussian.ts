/**
 * Deterministic standard-normal numbers from a 32-bit seed: mulberry32 uniforms through Box-Muller.
 * The sequence is part of the builtin models' definition: never change it, add a new model id.
 */
export function seededGaussian(seed: number, count: number): Float32Array {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    // (0, 1]: never 0, so log() below stays finite.
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < count) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
