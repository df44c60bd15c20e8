import { SeededRandom } from '../../util/seeded-random.ts';

/**
 * Deterministic standard-normal numbers from a 32-bit seed: mulberry32 uniforms through Box-Muller.
 * The sequence is part of the builtin models' definition: never change it, add a new model id.
 */
export function seededGaussian(seed: number, count: number): Float32Array {
  const rnd = new SeededRandom(seed);
  const uniform = () => rnd.nextNonZero();
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(a);
    if (i + 1 < count) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
