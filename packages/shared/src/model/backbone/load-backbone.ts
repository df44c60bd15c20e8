import type { Tf } from '../runtime/tf-runtime.ts';
import type { Backbone } from './backbone.ts';
import { NsfwjsMobileNetBackbone } from './nsfwjs-mobilenet-backbone.ts';

const loaded = new Map<string, Promise<Backbone>>();

/**
 * The backbone named by a model artifact, loaded once per process and shared by every hash model
 * that uses it. Only the bundled MobileNetV2 exists today; a user TF.js graph model (file:// or
 * s3:// model.json) would be another id here.
 */
export function loadBackbone(tf: Tf, id: string): Promise<Backbone> {
  let p = loaded.get(id);
  if (!p) {
    p = createBackbone(tf, id);
    loaded.set(id, p);
    p.catch(() => loaded.delete(id));
  }
  return p;
}

async function createBackbone(tf: Tf, id: string): Promise<Backbone> {
  if (id === NsfwjsMobileNetBackbone.ID) return NsfwjsMobileNetBackbone.load(tf);
  throw new Error(`unknown backbone "${id}" (supported: ${NsfwjsMobileNetBackbone.ID})`);
}
