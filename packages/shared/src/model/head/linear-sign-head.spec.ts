import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log/logger.ts';
import { initTf, type Tf } from '../runtime/tf-runtime.ts';
import { LinearSignHead } from './linear-sign-head.ts';
import { seededGaussian } from './seeded-gaussian.ts';

const IN = 96;
const BITS = 64;
const head = new LinearSignHead(IN, seededGaussian(1, IN), seededGaussian(2, BITS * IN), seededGaussian(3, BITS));
const descriptors = Array.from({ length: 40 }, (_, i) => seededGaussian(100 + i, IN));
let tf: Tf;

beforeAll(async () => {
  tf = (await initTf(createLogger('head-test', 'silent'))).tf;
});

describe('LinearSignHead.hashMany', () => {
  it('gives the codes hash() gives, one product for many descriptors', () => {
    expect(head.hashMany(tf, descriptors)).toEqual(descriptors.map((d) => head.hash(d)));
  });

  it('codes a descriptor the same whatever batch it sits in', () => {
    const alone = descriptors.map((d) => head.hashMany(tf, [d])[0]);
    expect(head.hashMany(tf, descriptors)).toEqual(alone);
  });

  it('keeps the first bits when asked for a shorter code, and refuses more bits than it has', () => {
    expect(head.hashMany(tf, descriptors, 16)).toEqual(descriptors.map((d) => head.hash(d).slice(0, 2)));
    expect(() => head.hashMany(tf, descriptors, 72)).toThrow(/72 of 64 bits/);
  });
});
