import {
  levelCodeBytes,
  hexToBytes,
  levelSizes,
  shardOf,
  type IndexJob,
  type IndexLayout,
  type Logger,
} from '@loupe/shared';
import type { ShardRepository, UpsertOutcome } from './repository/shard.repository.ts';

/** A job that can never succeed (wrong code size, foreign model): dead-lettered, not retried. */
export class UnindexableJobError extends Error {}

export type IndexOutcome = { op: 'upsert'; shard: number; id: number; outcome: UpsertOutcome } | { op: 'delete'; shard: number; id: number | null };

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

  async handle(job: IndexJob): Promise<IndexOutcome> {
    const shard = shardOf(job.key, this.layout.shards);
    const repo = this.shards[shard];
    if (job.op === 'delete') {
      const id = await repo.remove(job.key);
      this.log.info({ key: job.key, shard, id }, id === null ? 'delete of unindexed key ignored' : 'object deleted');
      return { op: 'delete', shard, id };
    }
    const levels = this.packLevels(job);
    const r = await repo.upsert({ key: job.key, etag: job.etag, width: job.width, height: job.height, levels });
    this.log.debug({ key: job.key, etag: job.etag, shard, ...r }, 'object indexed');
    return { op: 'upsert', shard, ...r };
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
