import type { GradSaveFunc, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { Tf } from '@loupe/shared';

/*
 * TF.js wasm (4.22) runs matMul with transposeA / transposeB on a slow generic path: measured here
 * A^T B for [2000, 1792] operands 77 s vs 3.3 s with an explicit transpose, and the dense-layer
 * gradients (which tfjs computes with those flags) 6 s vs 0.2 s. Every product in training
 * therefore transposes explicitly.
 */

/** a^T b without the transposeA flag. */
export function matMulTA(tf: Tf, a: Tensor2D, b: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.matMul(tf.transpose(a), b));
}

/** a b^T without the transposeB flag. */
export function matMulTB(tf: Tf, a: Tensor2D, b: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}

/** x w for a dense layer, with a gradient that uses explicit transposes (see above). */
export function denseMatMul(tf: Tf, x: Tensor2D, w: Tensor2D): Tensor2D {
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [a, b, save] = args as [Tensor2D, Tensor2D, GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b) as Tensor,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sa, sb] = saved as Tensor2D[];
        return [tf.matMul(dy as Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as Tensor2D)];
      },
    };
  });
  return f(x, w) as Tensor2D;
}
