import {
  levelCodeBytes,
  hexToBytes,
  levelSizes,
  shardOf,
  versionOf,
  type IndexJob,
  type IndexLayout,
  type Logger,
} from '@loupe/shared';
import type { RemoveResult, ShardRepository, UpsertResult } from './repository/shard.repository.ts';

/** A job that can never succeed (wrong code size, foreign model): dead-lettered, not retried. */
export class UnindexableJobError extends Error {}

export type IndexOutcome = ({ op: 'upsert'; shard: number } & UpsertResult) | ({ op: 'delete'; shard: number } & RemoveResult);

/** Routes each object to its shard and turns the job's per-view codes into packed level strings. */
export class IndexerService {
  private readonly sizes: number[];
  /** Bytes of each code per level. */
  private readonly bytes: number[];

  constructor(
    private readonly layout: IndexLayout,
    private readonly shards: ShardRepository[],
    private readonly log: Logger,
  ) {
    if (shards.length !== layout.shards) throw new Error(`expected ${layout.shards} shard repositories, got ${shards.length}`);
    this.sizes = levelSizes(layout);
    this.bytes = this.sizes.map((_, l) => levelCodeBytes(layout, l));
  }

  /**
   * Writes one job. A write older than the version the shard holds for the key is refused inside
   * the script (counted in the shard's `stale` counter) and logged here; the job still completes.
   */
  async handle(job: IndexJob): Promise<IndexOutcome> {
    const shard = shardOf(job.key, this.layout.shards);
    const repo = this.shards[shard];
    const version = versionOf(job);
    const generation = this.layout.namespace;
    if (job.op === 'delete') {
      const r = await repo.remove(job.key, version);
      if (r.outcome === 'stale') this.logStale(job, shard, r.held);
      else this.log.info({ key: job.key, shard, id: r.id, version, generation }, r.outcome === 'absent' ? 'delete of unindexed key ignored' : 'object deleted');
      return { op: 'delete', shard, ...r };
    }
    const levels = this.packLevels(job);
    const r = await repo.upsert({ key: job.key, etag: job.etag, width: job.width, height: job.height, levels, version });
    if (r.outcome === 'stale') this.logStale(job, shard, r.held);
    else this.log.debug({ key: job.key, etag: job.etag, shard, version, ...r }, 'object indexed');
    return { op: 'upsert', shard, ...r };
  }

  private logStale(job: IndexJob, shard: number, held: number): void {
    this.log.info(
      { event: 'stale-write', op: job.op, key: job.key, etag: job.op === 'upsert' ? job.etag : undefined, version: versionOf(job), held,
        shard, generation: this.layout.namespace },
      `stale ${job.op} refused: the index holds a newer version of the key`,
    );
  }

  private packLevels(job: Extract<IndexJob, { op: 'upsert' }>): Uint8Array[] {
    if (job.model !== this.layout.model) {
      throw new UnindexableJobError(`codes made by model ${job.model}, index uses ${this.layout.model}`);
    }
    if (job.bits !== this.layout.bits) throw new UnindexableJobError(`codes have ${job.bits} bits, index uses ${this.layout.bits}`);
    const levels = this.sizes.map((n, l) => new Uint8Array(n * this.bytes[l]));
    const seen = this.sizes.map((n) => new Uint8Array(n));
    for (const v of job.views) {
      if (v.level >= this.sizes.length || v.index >= this.sizes[v.level]) {
        throw new UnindexableJobError(`view ${v.level}/${v.index} is not in the index's view plan`);
      }
      const code = hexToBytes(v.code);
      const bytes = this.bytes[v.level];
      if (code.length !== bytes) throw new UnindexableJobError(`code of ${code.length} bytes at level ${v.level}, index uses ${bytes}`);
      levels[v.level].set(code, v.index * bytes);
      seen[v.level][v.index] = 1;
    }
    if (seen.some((s) => s.includes(0))) throw new UnindexableJobError('job lacks some views of the view plan');
    return levels;
  }
}
