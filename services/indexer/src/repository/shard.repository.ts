import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import {
  DELETED_KEY_TTL_MS,
  KEY_MAP_LUA,
  PAGE_BYTES,
  UNVERSIONED,
  encodeVersion,
  etagFingerprint,
  keyFingerprint,
  lookupObjectId,
  type RedisClient,
  type ShardKeys,
} from '@loupe/shared';

const lua = (name: string) => readFileSync(new URL(`../scripts/${name}.lua`, import.meta.url), 'utf8');
/** A script of ./scripts with the shared key-map and version functions in front (TAG is ARGV[1] in both). */
const script = (name: string) => `local TAG = ARGV[1]\nlocal PAGE = ${PAGE_BYTES}\n${KEY_MAP_LUA}\n${lua('object-versions')}\n${lua(name)}`;
const INDEX_OBJECT = script('index-object');
const DELETE_OBJECT = script('delete-object');

/**
 * Bound on each shard's change stream (~29 bytes an entry, so ~0.3 MB a shard). It only has to
 * cover a searcher's reconnect; one that falls further behind reloads its shard (a few seconds
 * at millions of objects) instead of Redis holding every change ever made.
 */
export const CHANGE_STREAM_MAXLEN = 10_000;

export type UpsertOutcome = 'created' | 'replaced' | 'unchanged' | 'stale';

/**
 * What an upsert did. `stale`: nothing written, the shard holds a newer version of the key
 * (`held`): the indexed object's, or a recent delete's (then id is null).
 */
export type UpsertResult =
  | { id: number; outcome: 'created' | 'replaced' | 'unchanged' }
  | { id: number | null; outcome: 'stale'; held: number };

/** What a delete did: `absent` when the key is not indexed, `stale` when a newer version is (`held`). */
export type RemoveResult = { id: number; outcome: 'deleted' } | { id: null; outcome: 'absent' } | { id: number; outcome: 'stale'; held: number };

export interface ShardObject {
  key: string;
  etag: string;
  width: number;
  height: number;
  /** Per level: the codes of all the level's views, concatenated in view order. */
  levels: Uint8Array[];
  /** Object version (object-version.ts); UNVERSIONED when absent. */
  version?: number;
}

type ScriptReply = [number, string, number?];

type EvalArgs = [string, number, ...(string | Buffer)[]];

/** Wraps one shard's keys in Redis; every write is one Lua script, so it is atomic. */
export class ShardRepository {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: ShardKeys,
    /** How long a delete's version is remembered for its key. */
    private readonly deletedKeyTtlMs = DELETED_KEY_TTL_MS,
  ) {}

  async upsert(obj: ShardObject): Promise<UpsertResult> {
    const [id, outcome, held] = (await this.redis.eval(...this.upsertArgs(obj))) as ScriptReply;
    if (outcome === 'stale') return { id: id < 0 ? null : id, outcome, held: held ?? 0 };
    return { id, outcome: outcome as 'created' | 'replaced' | 'unchanged' };
  }

  /** Queues the same atomic upsert into a MULTI or pipeline (several objects in one transaction). */
  upsertIn(batch: ChainableCommander, obj: ShardObject): ChainableCommander {
    return batch.eval(...this.upsertArgs(obj));
  }

  /** Deletes `key` unless the shard holds a newer version of it (UNVERSIONED deletes are the oldest). */
  async remove(key: string, version = UNVERSIONED): Promise<RemoveResult> {
    const [id, outcome, held] = (await this.redis.eval(...this.removeArgs(key, version))) as ScriptReply;
    if (outcome === 'stale') return { id, outcome, held: held ?? 0 };
    if (outcome === 'absent') return { id: null, outcome };
    return { id, outcome: 'deleted' };
  }

  removeIn(batch: ChainableCommander, key: string, version = UNVERSIONED): ChainableCommander {
    return batch.eval(...this.removeArgs(key, version));
  }

  /** The id of an indexed key, or null. */
  async idOf(key: string): Promise<number | null> {
    return lookupObjectId(this.redis, this.keys, key);
  }

  async counters(): Promise<{ created: number; replaced: number; deleted: number; stale: number; ids: number }> {
    const [h, next] = await Promise.all([this.redis.hgetall(this.keys.counters), this.redis.get(this.keys.nextId)]);
    return {
      created: Number(h.created ?? 0),
      replaced: Number(h.replaced ?? 0),
      deleted: Number(h.deleted ?? 0),
      stale: Number(h.stale ?? 0),
      ids: Number(next ?? 0),
    };
  }

  private removeArgs(key: string, version: number): EvalArgs {
    const k = this.keys;
    const keys = [k.keyMapState, k.tombstones, k.counters, k.changes];
    return [DELETE_OBJECT, keys.length, ...keys, k.tag, key, keyFingerprint(key), String(CHANGE_STREAM_MAXLEN),
      encodeVersion(version), String(this.deletedKeyTtlMs)];
  }

  private upsertArgs(obj: ShardObject): EvalArgs {
    const k = this.keys;
    const dims = Buffer.alloc(8);
    dims.writeUInt32BE(obj.width, 0);
    dims.writeUInt32BE(obj.height, 4);
    const keys = [k.keyMapState, k.nextId, k.tombstones, k.counters, k.changes];
    return [INDEX_OBJECT, keys.length, ...keys, k.tag, obj.key, keyFingerprint(obj.key), etagFingerprint(obj.etag), dims,
      String(CHANGE_STREAM_MAXLEN), encodeVersion(obj.version ?? UNVERSIONED), ...obj.levels.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))];
  }
}
