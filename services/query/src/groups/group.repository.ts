import { readFileSync } from 'node:fs';
import { GroupKeys, type RedisClient } from '@loupe/shared';
import type { DuplicateGroup, Edge, ObjectInfo } from './group-builder.ts';

/** What the groups hold for some keys (absent keys are left out of each map). */
export interface GroupState {
  info: Map<string, ObjectInfo>;
  edges: Map<string, Edge[]>;
  member: Map<string, string>;
}

/** One upkeep step's writes, applied in one MULTI (GroupRepository.commit). */
export interface GroupChange {
  infoSet: [string, ObjectInfo][];
  infoDel: string[];
  edgesSet: [string, Edge[]][];
  edgesDel: string[];
  memberDel: string[];
  groupsDel: DuplicateGroup[];
  groupsSet: DuplicateGroup[];
}

const SET_UNLINKED_OBJECT = readFileSync(new URL('./scripts/set-unlinked-object.lua', import.meta.url), 'utf8');

/**
 * A group's member of the `ids` sorted set (all at score 0, so in byte order): larger groups first,
 * then by id. It is also the listing's cursor.
 */
export function listingKey(g: DuplicateGroup): string {
  return `${String(1e9 - (g.members.length + 1)).padStart(10, '0')}:${g.id}`;
}

/** The group id of a listing key. */
export function idOfListingKey(k: string): string {
  return k.slice(11);
}

/**
 * The duplicate groups in Redis (GroupKeys): reads, and writes made optimistically — `watch()`,
 * read, then `commit()`, which writes nothing and answers false when another upkeep changed the
 * groups meanwhile. Needs a connection of its own (WATCH is per connection).
 */
export class GroupRepository {
  constructor(private readonly redis: RedisClient) {}

  async watch(): Promise<void> {
    await this.redis.watch(GroupKeys.epoch);
  }

  async unwatch(): Promise<void> {
    await this.redis.unwatch();
  }

  async read(keys: string[]): Promise<GroupState> {
    const state: GroupState = { info: new Map(), edges: new Map(), member: new Map() };
    if (!keys.length) return state;
    const [info, edges, member] = await Promise.all([GroupKeys.objects, GroupKeys.edges, GroupKeys.member].map((h) => this.redis.hmget(h, ...keys)));
    keys.forEach((k, i) => {
      if (info[i]) state.info.set(k, JSON.parse(info[i]!) as ObjectInfo);
      if (edges[i]) state.edges.set(k, JSON.parse(edges[i]!) as Edge[]);
      if (member[i]) state.member.set(k, member[i]!);
    });
    return state;
  }

  /** The groups of these ids (missing ones left out). */
  async groups(ids: string[]): Promise<DuplicateGroup[]> {
    if (!ids.length) return [];
    return (await this.redis.hmget(GroupKeys.groups, ...ids)).flatMap((g) => (g ? [JSON.parse(g) as DuplicateGroup] : []));
  }

  async groupOf(key: string): Promise<DuplicateGroup | null> {
    const id = await this.redis.hget(GroupKeys.member, key);
    return id ? ((await this.groups([id]))[0] ?? null) : null;
  }

  /** Up to `count` listing keys after `after` (exclusive), largest groups first. */
  async listingAfter(after: string | undefined, count: number): Promise<string[]> {
    return this.redis.zrangebylex(GroupKeys.ids, after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, count);
  }

  async count(): Promise<number> {
    return this.redis.zcard(GroupKeys.ids);
  }

  /**
   * Sets `key`'s info (null: deletes it) in one step when it has no stored matches and is in no
   * group; false, writing nothing, when it has or is.
   */
  async setUnlinked(key: string, info: ObjectInfo | null): Promise<boolean> {
    const keys = [GroupKeys.objects, GroupKeys.edges, GroupKeys.member, GroupKeys.epoch];
    return (await this.redis.eval(SET_UNLINKED_OBJECT, keys.length, ...keys, key, info ? JSON.stringify(info) : '')) === 1;
  }

  /** Applies `c` unless the groups changed since watch(): false then, and nothing is written. */
  async commit(c: GroupChange): Promise<boolean> {
    const m = this.redis.multi().incr(GroupKeys.epoch);
    if (c.infoSet.length) m.hset(GroupKeys.objects, ...c.infoSet.flatMap(([k, v]) => [k, JSON.stringify(v)]));
    if (c.infoDel.length) m.hdel(GroupKeys.objects, ...c.infoDel);
    if (c.edgesDel.length) m.hdel(GroupKeys.edges, ...c.edgesDel);
    if (c.edgesSet.length) m.hset(GroupKeys.edges, ...c.edgesSet.flatMap(([k, v]) => [k, JSON.stringify(v)]));
    if (c.memberDel.length) m.hdel(GroupKeys.member, ...c.memberDel);
    if (c.groupsDel.length) m.hdel(GroupKeys.groups, ...c.groupsDel.map((g) => g.id)).zrem(GroupKeys.ids, ...c.groupsDel.map(listingKey));
    for (const g of c.groupsSet) {
      m.hset(GroupKeys.groups, g.id, JSON.stringify(g)).zadd(GroupKeys.ids, 0, listingKey(g));
      m.hset(GroupKeys.member, ...[g.id, ...g.members.map((x) => x.key)].flatMap((k) => [k, g.id]));
    }
    return (await m.exec()) !== null;
  }
}
