import type { GroupJob, Logger, OriginalCriterion } from '@loupe/shared';
import type { QueryService } from '../query.service.ts';
import type { SearchHit } from '../search-types.ts';
import { buildGroup, components, edgeOf, reverseEdge, type DuplicateGroup, type Edge, type ObjectInfo } from './group-builder.ts';
import { SearchBatcher } from './search-batcher.ts';
import { idOfListingKey, listingKey, type GroupChange, type GroupRepository } from './group.repository.ts';

/** Matches one object's search keeps: more copies than this are still grouped, through each other. */
export const GROUP_SEARCH_K = 32;
/**
 * A whole-image match also needs the two perceptual (DCT) codes this close, as a fraction of the
 * bits: on the photo data set light edits (brightness, hue, blur, re-encoding, squashing, resizing)
 * code 0-22 bits of 256 apart, two photos of one scene (stereo pairs, two shots) 84-154, which
 * the CNN codes alone score as high as edits (README, Duplicate groups).
 */
export const GROUP_PERCEPTUAL_MAX = 0.125;
const COMMIT_ATTEMPTS = 20;
const UNCHANGED: GroupChange = { infoSet: [], infoDel: [], edgesSet: [], edgesDel: [], memberDel: [], groupsDel: [], groupsSet: [] };

export interface DuplicateListing {
  groups: DuplicateGroup[];
  nextCursor: string | null;
  total: number;
}

export interface GroupSettings {
  /** LOUPE_GROUP_MIN_SCORE: hits scoring at least this join the object's group. */
  minScore: number;
  /** LOUPE_DUPLICATE_ORIGINAL. */
  criteria: readonly OriginalCriterion[];
}

/**
 * Keeps the duplicate groups current, one object at a time (the loupe-groups worker): an indexed
 * object's matches (ObjectSearchService.searchObjects: one search, batched with the jobs in flight) replace its stored edges, on both
 * ends; a deleted one's edges go. The groups its old and new edges touch are then rebuilt as the
 * connected components of their members' stored edges — so a join merges groups, and a delete or
 * a change that removes a link splits them — and each component of two or more elects its original.
 */
export class DuplicateGroupsService {
  constructor(
    private readonly repo: GroupRepository,
    private readonly query: () => QueryService,
    private readonly settings: GroupSettings,
    private readonly log: Logger,
  ) {}

  private readonly searches = new SearchBatcher((objects: { key: string; size: { width: number; height: number } }[]) =>
    this.query().objects.searchObjects(objects, { k: GROUP_SEARCH_K, minScore: this.settings.minScore }),
  );

  async refresh(job: GroupJob): Promise<void> {
    const key = job.key;
    const known = job.op === 'upsert' ? { w: job.width, h: job.height, bytes: job.bytes ?? 0, v: job.version ?? 0 } : (await this.repo.read([key])).info.get(key);
    // What the index holds now decides, whichever write queued the job: a key deleted since has no codes.
    const hits = known ? await this.searches.search({ key, size: { width: known.w, height: known.h } }) : null;
    const matches = hits ? await this.confirmed(key, hits) : [];
    // Searches overlap; the read-plan-write steps of this process take turns (WATCH is per connection).
    const turn = this.writing.then(() => this.write(key, hits && known ? { info: known, edges: matches.map(edgeOf) } : null));
    this.writing = turn.catch(() => undefined);
    const change = await turn;
    this.log.debug({ key, op: job.op, matches: matches.length, groups: change.groupsSet.length }, 'duplicate groups updated');
  }

  private writing: Promise<unknown> = Promise.resolve();

  /**
   * Plans and commits, again while another process's upkeep changed the groups in between. An
   * object without matches that was linked to nothing (most objects of a bucket) is written in one
   * step instead: no group changes.
   */
  private async write(key: string, now: { info: ObjectInfo; edges: Edge[] } | null): Promise<GroupChange> {
    if (!now?.edges.length && (await this.repo.setUnlinked(key, now?.info ?? null))) return UNCHANGED;
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      await this.repo.watch();
      const change = await this.plan(key, now);
      if (await this.repo.commit(change)) return change;
    }
    throw new Error(`duplicate groups of ${key}: changed by others ${COMMIT_ATTEMPTS} times in a row`);
  }

  /** The hits that are matches: over the threshold, and for whole images, perceptually close too. */
  private async confirmed(key: string, hits: SearchHit[]): Promise<SearchHit[]> {
    const over = hits.filter((h) => h.match);
    const whole = over.filter((h) => h.granularity === 'global' && !h.queryRegion);
    const distances = await this.query().objects.perceptualDistances(key, whole.map((h) => h.key));
    if (!distances) return over;
    const far = new Set(whole.filter((_, i) => !(distances[i]! <= GROUP_PERCEPTUAL_MAX)).map((h) => h.key));
    return over.filter((h) => !far.has(h.key));
  }

  /** The writes that give `key` these matches (null: the key is gone), and rebuild the groups they touch. */
  private async plan(key: string, now: { info: ObjectInfo; edges: Edge[] } | null): Promise<GroupChange> {
    const first = await this.repo.read([key]);
    // Only objects the groups know (indexed since the upkeep ran, not deleted) are linked to.
    const linked = now ? await this.repo.read(now.edges.map((e) => e.to)) : first;
    const edges = now ? now.edges.filter((e) => linked.info.has(e.to)) : [];
    const oldEdges = first.edges.get(key) ?? [];
    const touched = new Set([key, ...oldEdges.map((e) => e.to), ...edges.map((e) => e.to)]);
    const groupIds = new Set([...touched].flatMap((k) => [first.member.get(k), linked.member.get(k)].filter((g): g is string => !!g)));
    const oldGroups = await this.repo.groups([...groupIds]);
    const nodes = new Set([...touched, ...oldGroups.flatMap((g) => [g.id, ...g.members.map((m) => m.key)])]);
    const state = await this.repo.read([...nodes]);

    // The key's edges replaced, on both ends.
    const graph = new Map([...nodes].map((k) => [k, (state.edges.get(k) ?? []).filter((e) => e.to !== key)]));
    if (now) {
      graph.set(key, edges);
      for (const e of edges) graph.get(e.to)!.push(reverseEdge(e, key));
      state.info.set(key, now.info);
    } else {
      graph.delete(key);
      nodes.delete(key);
    }
    const groups = components(nodes, graph)
      .filter((c) => c.length > 1)
      .map((c) => buildGroup(c, graph, state.info, this.settings.criteria));
    const changed = [...touched].filter((k) => graph.has(k));
    return {
      infoSet: now ? [[key, now.info]] : [],
      infoDel: now ? [] : [key],
      edgesSet: changed.filter((k) => graph.get(k)!.length).map((k) => [k, graph.get(k)!]),
      edgesDel: [...touched].filter((k) => !graph.get(k)?.length),
      memberDel: [...nodes, key],
      groupsDel: oldGroups,
      groupsSet: groups,
    };
  }

  /** The group holding `key`, or null. */
  async groupOf(key: string): Promise<DuplicateGroup | null> {
    return this.repo.groupOf(key);
  }

  /**
   * Groups, largest first, then by id (the original's key), after `cursor` (an earlier page's
   * `nextCursor`); `prefix` keeps groups with a member (or the original) under it, `minSize` groups
   * of at least that many objects, the original included. `total` counts every group the filters keep.
   */
  async list(p: { limit: number; cursor?: string; prefix?: string; minSize?: number }): Promise<DuplicateListing> {
    const minSize = p.minSize ?? 2;
    const keep = (g: DuplicateGroup) => g.members.length + 1 >= minSize && (!p.prefix || [g.id, ...g.members.map((m) => m.key)].some((k) => k.startsWith(p.prefix!)));
    const from = p.cursor === undefined ? undefined : decodeCursor(p.cursor);
    const filtered = p.prefix !== undefined || minSize > 2;
    const page: DuplicateGroup[] = [];
    let total = filtered ? 0 : await this.repo.count();
    let more = false;
    // Filtered, every group is read to count them; else from the cursor until one past the page.
    let after = filtered ? undefined : from;
    for (;;) {
      const keys = await this.repo.listingAfter(after, 500);
      if (!keys.length) break;
      const groups = await this.repo.groups(keys.map(idOfListingKey));
      for (const g of groups) {
        if (!keep(g)) continue;
        if (filtered) total++;
        if (from !== undefined && Buffer.compare(Buffer.from(listingKey(g)), Buffer.from(from)) <= 0) continue;
        if (page.length < p.limit) page.push(g);
        else more = true;
      }
      after = keys[keys.length - 1];
      if (!filtered && more) break;
    }
    return { groups: page, nextCursor: more ? Buffer.from(listingKey(page[page.length - 1])).toString('base64url') : null, total };
  }
}

/** A listing cursor is a group's listing key, base64url: opaque to clients. */
function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString();
  if (!/^\d{10}:./s.test(key)) throw new DuplicateCursorError(`cursor ${JSON.stringify(cursor)} is not one a listing gave`);
  return key;
}

export class DuplicateCursorError extends Error {}
