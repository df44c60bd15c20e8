import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupKeys } from '@loupe/shared';
import { GroupRepository } from '../services/query/src/groups/group.repository.ts';
import { buildGroup } from '../services/query/src/groups/group-builder.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

describe('GroupRepository.setUnlinked (the upkeep of an object linked to nothing, in one step)', () => {
  let server: TestRedis;
  let redis: Redis;
  let repo: GroupRepository;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    repo = new GroupRepository(redis);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('sets and deletes an unlinked object, bumping the epoch so a concurrent WATCHed round retries', async () => {
    await repo.watch();
    expect(await repo.setUnlinked('lonely.jpg', { w: 10, h: 20, bytes: 30, v: 1 })).toBe(true);
    expect((await repo.read(['lonely.jpg'])).info.get('lonely.jpg')).toEqual({ w: 10, h: 20, bytes: 30, v: 1 });
    expect(await redis.get(GroupKeys.epoch)).toBe('1');
    // The WATCH made before the step sees the change: a round planned before it writes nothing.
    const empty = { infoSet: [], infoDel: [], edgesSet: [], edgesDel: [], memberDel: [], groupsDel: [], groupsSet: [] };
    expect(await repo.commit(empty)).toBe(false);
    expect(await repo.setUnlinked('lonely.jpg', null)).toBe(true);
    expect((await repo.read(['lonely.jpg'])).info.size).toBe(0);
  });

  it('refuses, writing nothing, for an object with matches or in a group', async () => {
    const info = new Map([['a.jpg', { w: 100, h: 100, bytes: 1, v: 1 }], ['b.jpg', { w: 50, h: 50, bytes: 1, v: 2 }]]);
    const edges = new Map([['a.jpg', [{ to: 'b.jpg', rel: 'copy' as const, score: 1 }]], ['b.jpg', [{ to: 'a.jpg', rel: 'copy' as const, score: 1 }]]]);
    const group = buildGroup(['a.jpg', 'b.jpg'], edges, info, ['pixels']);
    await repo.watch();
    expect(await repo.commit({ infoSet: [...info], infoDel: [], edgesSet: [...edges], edgesDel: [], memberDel: [], groupsDel: [], groupsSet: [group] })).toBe(true);
    const epoch = await redis.get(GroupKeys.epoch);
    for (const key of ['a.jpg', 'b.jpg']) expect(await repo.setUnlinked(key, { w: 1, h: 1, bytes: 1, v: 9 })).toBe(false);
    // In a group without stored matches of its own (the original's edges deleted by hand): still refused.
    await redis.hdel(GroupKeys.edges, 'a.jpg');
    expect(await repo.setUnlinked('a.jpg', null)).toBe(false);
    expect((await repo.read(['a.jpg', 'b.jpg'])).info).toEqual(info);
    expect(await redis.get(GroupKeys.epoch)).toBe(epoch);
  });
});
