import { LiveGenerations, type HashModel, type Logger, type RedisClient, type StoredIndexLayout } from '@loupe/shared';

/** An index generation an encode job goes to, and the model its codes are made with. */
export interface EncodeTarget {
  layout: StoredIndexLayout;
  model: HashModel;
}

export type ModelLoader = (ref: string) => Promise<HashModel>;

/**
 * Which models an encode job runs through: one per live index generation (the active one, plus
 * the next one while a rollout is pending), or only the generation the job names. Models are
 * loaded on first use by the generation's modelRef and kept; `fallbackRef` (the encoder's
 * LOUPE_MODEL) stands in for a generation created before layouts recorded their modelRef.
 */
export class GenerationModels {
  private readonly models = new Map<string, Promise<HashModel>>();
  private readonly generations: LiveGenerations;

  constructor(
    redis: RedisClient,
    private readonly load: ModelLoader,
    private readonly fallbackRef: string,
    private readonly log: Logger,
  ) {
    this.generations = new LiveGenerations(redis);
  }

  /** Adds a model already loaded under `ref` (the one the encoder started with). */
  preload(ref: string, model: HashModel): void {
    this.models.set(ref, Promise.resolve(model));
  }

  /** Targets of a job; empty when the generation it names is gone (an aborted or finished rollout). */
  async targets(generation?: string): Promise<EncodeTarget[]> {
    let layouts: StoredIndexLayout[];
    if (generation) {
      const layout = await this.generations.live(generation);
      layouts = layout ? [layout] : [];
    } else layouts = await this.generations.list();
    return Promise.all(layouts.map(async (layout) => ({ layout, model: await this.modelFor(layout) })));
  }

  private async modelFor(layout: StoredIndexLayout): Promise<HashModel> {
    const ref = layout.modelRef ?? this.fallbackRef;
    let model = this.models.get(ref);
    if (!model) {
      this.log.info({ model: ref, generation: layout.namespace }, 'loading the model of an index generation');
      model = this.load(ref);
      this.models.set(ref, model);
      model.catch(() => this.models.delete(ref)); // a failed load is retried by the job's next attempt
    }
    const m = await model;
    if (m.id !== layout.model) {
      throw new Error(`index generation ${layout.namespace} holds codes of model ${layout.model}, but ${ref} loads ${m.id}`);
    }
    return m;
  }
}
