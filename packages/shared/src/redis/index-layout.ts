import type { RedisClient } from './redis-connection.ts';
import { DEFAULT_NAMESPACE, indexMetaKey } from './redis-keys.ts';
import { levelBits, viewsAtLevel, type ViewPlan } from '../view/view-plan.ts';

/**
 * What every writer and reader of the index must agree on. Fixed when the index is created
 * (first writer wins) and stored at INDEX_META_KEY.
 */
export interface IndexLayout {
  shards: number;
  bits: number;
  plan: ViewPlan;
  /** Model version the index's codes were made with. */
  model: string;
  /** Key namespace of this index generation (ShardKeys); DEFAULT_NAMESPACE when absent. */
  namespace?: string;
  /** What loads the model (a LOUPE_MODEL value), so encoders and queries can follow a rollout. */
  modelRef?: string;
}

/** A layout as read from Redis: it always knows its namespace. */
export type StoredIndexLayout = IndexLayout & { namespace: string };

export function codeBytes(layout: Pick<IndexLayout, 'bits'>): number {
  return Math.ceil(layout.bits / 8);
}

/** Bytes of each code stored at `level` (a cell level may keep fewer bits than the searched levels, a pixel level holds a thumbnail). */
export function levelCodeBytes(layout: Pick<IndexLayout, 'bits' | 'plan'>, level: number): number {
  return Math.ceil(levelBits(layout.plan, level, layout.bits) / 8);
}

/** Views per object at each level, in plan order. */
export function levelSizes(layout: Pick<IndexLayout, 'plan'>): number[] {
  return layout.plan.levels.map(viewsAtLevel);
}

export async function readIndexLayout(redis: RedisClient, namespace: string = DEFAULT_NAMESPACE): Promise<StoredIndexLayout | null> {
  const h = await redis.hgetall(indexMetaKey(namespace));
  if (!h.shards || !h.bits || !h.plan || !h.model) return null;
  const layout: StoredIndexLayout = { shards: Number(h.shards), bits: Number(h.bits), plan: JSON.parse(h.plan), model: h.model, namespace };
  if (h.modelRef) layout.modelRef = h.modelRef;
  return layout;
}

export class IndexLayoutMismatchError extends Error {}

/** Whether a model's codes fit a stored layout: same code length and view plan. */
export function modelFitsLayout(stored: Pick<IndexLayout, 'bits' | 'plan'>, model: Pick<IndexLayout, 'bits' | 'plan'>): boolean {
  return stored.bits === model.bits && samePlan(stored.plan, model.plan);
}

const samePlan = (a: IndexLayout['plan'], b: IndexLayout['plan']) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates the index layout if absent, else checks the stored one is compatible with `desired`
 * (same shard count, bits and plan). Returns the stored layout.
 */
export async function ensureIndexLayout(redis: RedisClient, desired: IndexLayout): Promise<StoredIndexLayout> {
  const namespace = desired.namespace ?? DEFAULT_NAMESPACE;
  const key = indexMetaKey(namespace);
  // All fields in one script: a reader never sees a half-created layout.
  await redis.eval(
    "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end",
    1,
    key,
    'shards', String(desired.shards), 'bits', String(desired.bits), 'plan', JSON.stringify(desired.plan),
    'model', desired.model, ...(desired.modelRef ? ['modelRef', desired.modelRef] : []), 'createdAt', new Date().toISOString(),
  );
  const stored = await readIndexLayout(redis, namespace);
  if (!stored) throw new Error(`index layout at ${key} is incomplete; delete that key or use a fresh Redis database`);
  const problems: string[] = [];
  if (stored.shards !== desired.shards) problems.push(`shards ${stored.shards} (LOUPE_SHARDS=${desired.shards})`);
  if (stored.bits !== desired.bits) problems.push(`bits ${stored.bits} (model has ${desired.bits})`);
  if (!samePlan(stored.plan, desired.plan)) {
    problems.push(`a view plan other than the model's (index model ${stored.model}, LOUPE_MODEL ${desired.model})`);
  }
  if (problems.length) {
    throw new IndexLayoutMismatchError(
      `the index in Redis was created with ${problems.join(', ')}; use the same settings or a fresh Redis database`,
    );
  }
  return stored;
}
