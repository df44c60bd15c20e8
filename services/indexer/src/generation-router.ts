import { LiveGenerations, ShardKeys, type IndexJob, type Logger, type RedisClient, type StoredIndexLayout } from '@loupe/shared';
import { IndexerService, UnindexableJobError, type IndexOutcome } from './indexer.service.ts';
import { ShardRepository } from './repository/shard.repository.ts';

/**
 * Sends each index job to the live index generation(s) it belongs to: an upsert to the one whose
 * model made its codes (the active index, or the next one during a rollout), a delete to every
 * live generation. One IndexerService per generation, created on first use.
 */
export class GenerationRouter {
  private readonly services = new Map<string, IndexerService>();
  private readonly generations: LiveGenerations;

  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
  ) {
    this.generations = new LiveGenerations(redis);
  }

  /** The active layout, once the first encoder created it (null while there is none). */
  async activeLayout(): Promise<StoredIndexLayout | null> {
    return (await this.generations.list())[0] ?? null;
  }

  async handle(job: IndexJob): Promise<IndexOutcome[]> {
    return (await this.write(job)).outcomes;
  }

  /**
   * Writes the job; `changedActive`: it wrote or deleted the key in the active generation (not
   * refused, not unchanged), which the duplicate groups follow.
   */
  async write(job: IndexJob): Promise<{ outcomes: IndexOutcome[]; changedActive: boolean }> {
    const layouts = await this.generations.list();
    const changed = (o: IndexOutcome | undefined) => o?.outcome === 'created' || o?.outcome === 'replaced' || o?.outcome === 'deleted';
    if (job.op === 'delete') {
      const outcomes = await Promise.all(layouts.map((l) => this.serviceFor(l).handle(job)));
      return { outcomes, changedActive: changed(outcomes[0]) };
    }
    const target = layouts.find((l) => l.model === job.model);
    if (!target) {
      throw new UnindexableJobError(`codes made by model ${job.model}, the index uses ${layouts.map((l) => l.model).join(' and ') || 'no model yet'}`);
    }
    const outcome = await this.serviceFor(target).handle(job);
    return { outcomes: [outcome], changedActive: target === layouts[0] && changed(outcome) };
  }

  private serviceFor(layout: StoredIndexLayout): IndexerService {
    const ns = layout.namespace;
    let svc = this.services.get(ns);
    if (!svc) {
      const repos = Array.from({ length: layout.shards }, (_, s) => new ShardRepository(this.redis, new ShardKeys(s, ns)));
      svc = new IndexerService(layout, repos, this.log);
      this.services.set(ns, svc);
      this.log.info({ generation: ns, shards: layout.shards, bits: layout.bits, model: layout.model }, 'indexing into generation');
    }
    return svc;
  }
}
