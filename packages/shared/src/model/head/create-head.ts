import type { HashHead, HeadSpec } from './hash-head.ts';
import { LinearSignHead } from './linear-sign-head.ts';
import { MlpSignHead } from './mlp-sign-head.ts';

/** The head an artifact describes, from its spec and named tensors. */
export function createHead(spec: HeadSpec, tensors: Map<string, Float32Array>): HashHead {
  switch (spec.type) {
    case 'linear-sign':
      return LinearSignHead.fromTensors(spec, tensors);
    case 'mlp-sign':
      return MlpSignHead.fromTensors(spec, tensors);
  }
}
