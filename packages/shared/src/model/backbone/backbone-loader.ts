import type { Backbone } from './backbone.ts';
import { MOBILENET } from './nsfwjs-mobilenet-backbone.ts';

/**
 * The backbones an artifact may name, each loaded once per runtime and shared by every hash model
 * that uses it. Only the bundled MobileNetV2 exists today; a user graph model would be another id.
 */
export class BackboneLoader {
  private readonly loaded = new Map<string, Promise<Backbone>>();

  /** `loadMobileNet`: the bundled MobileNetV2 on this runtime. */
  constructor(private readonly loadMobileNet: () => Promise<Backbone>) {}

  load(id: string): Promise<Backbone> {
    let p = this.loaded.get(id);
    if (!p) {
      if (id !== MOBILENET.id) return Promise.reject(new Error(`unknown backbone "${id}" (supported: ${MOBILENET.id})`));
      p = this.loadMobileNet();
      this.loaded.set(id, p);
      p.catch(() => this.loaded.delete(id));
    }
    return p;
  }
}
