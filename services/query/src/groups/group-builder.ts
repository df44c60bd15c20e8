import type { Box, OriginalCriterion } from '@loupe/shared';
import type { SearchHit } from '../search-types.ts';

/** How a member relates to another: a whole copy (`edited` below COPY_SCORE), inside it (`crop-of`) or holding it (`contains`). */
export type Relation = 'copy' | 'edited' | 'crop-of' | 'contains';

/** One match of an object, stored on both ends. `box`: where the smaller one is, in the larger one's pixels. */
export interface Edge {
  to: string;
  rel: Relation;
  score: number;
  box?: Box;
}

/** What the groups keep of every indexed object: size, file bytes (0: unknown), object version (0: unknown). */
export interface ObjectInfo {
  w: number;
  h: number;
  bytes: number;
  v: number;
}

export interface GroupMember {
  key: string;
  relation: Relation;
  score: number;
  box?: Box;
  bytes: number;
}

export interface DuplicateGroup {
  /** The original's key. */
  id: string;
  original: { key: string; width: number; height: number; bytes: number };
  /** Every member but the original, with its relation to it. */
  members: GroupMember[];
  /** What deleting the members would free. */
  reclaimableBytes: number;
}

/** Whole-image matches scoring at least this are `copy` (a resized or re-encoded copy), below it `edited`. */
export const COPY_SCORE = 0.95;

/** The edge a search hit of `from` makes (ObjectSearchService.searchObjects' hits). */
export function edgeOf(hit: SearchHit): Edge {
  const { key: to, score } = hit;
  if (hit.queryRegion) return { to, rel: 'contains', score, box: hit.queryRegion };
  if (hit.granularity === 'region') return { to, rel: 'crop-of', score, box: hit.region };
  return { to, rel: score >= COPY_SCORE ? 'copy' : 'edited', score };
}

/** The same match seen from its other end (`from` being the key that holds `e`). */
export function reverseEdge(e: Edge, from: string): Edge {
  const rel: Relation = e.rel === 'crop-of' ? 'contains' : e.rel === 'contains' ? 'crop-of' : e.rel;
  return { ...e, to: from, rel };
}

/** Connected components of `nodes` over their edges (edges to keys outside `nodes` are ignored). */
export function components(nodes: Iterable<string>, edges: ReadonlyMap<string, Edge[]>): string[][] {
  const seen = new Set<string>();
  const all = new Set(nodes);
  const out: string[][] = [];
  for (const start of all) {
    if (seen.has(start)) continue;
    const comp: string[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const k = stack.pop()!;
      comp.push(k);
      for (const e of edges.get(k) ?? []) {
        if (all.has(e.to) && !seen.has(e.to)) {
          seen.add(e.to);
          stack.push(e.to);
        }
      }
    }
    out.push(comp.sort());
  }
  return out;
}

const isWhole = (e: Edge) => e.rel === 'copy' || e.rel === 'edited';

/**
 * The group of `keys` (a component of two or more): elects the original and gives every other
 * member its relation to it. Candidates are the members with a whole copy in the group, in the
 * largest set of whole copies of one picture; a crop or a picture holding another is elected only
 * when the group has no whole copies, and then one inside no other member. Ties go by `criteria`
 * (pixels: more first; oldest: smaller object version first; bytes: larger file first), then key.
 */
export function buildGroup(keys: string[], edges: ReadonlyMap<string, Edge[]>, info: ReadonlyMap<string, ObjectInfo>, criteria: readonly OriginalCriterion[]): DuplicateGroup {
  const inGroup = new Set(keys);
  const edgesOf = (k: string) => (edges.get(k) ?? []).filter((e) => inGroup.has(e.to));
  const copies = components(keys, new Map(keys.map((k) => [k, edgesOf(k).filter(isWhole)])));
  const copySetSize = new Map(copies.flatMap((c) => c.map((k) => [k, c.length] as const)));
  const of = (k: string) => info.get(k) ?? { w: 0, h: 0, bytes: 0, v: 0 };
  const rank = (k: string): number[] => {
    const i = of(k);
    const byCriteria = criteria.map((c) => (c === 'pixels' ? -i.w * i.h : c === 'oldest' ? i.v : -i.bytes));
    const whole = edgesOf(k).some(isWhole);
    // Inside another counts only without a whole copy: a photo pasted into a scene is still the original.
    const inside = !whole && edgesOf(k).some((e) => e.rel === 'crop-of');
    return [whole ? 0 : 1, -copySetSize.get(k)!, inside ? 1 : 0, ...byCriteria];
  };
  const ranks = new Map(keys.map((k) => [k, rank(k)]));
  const compare = (a: string, b: string) => {
    const ra = ranks.get(a)!, rb = ranks.get(b)!;
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return a < b ? -1 : a > b ? 1 : 0;
  };
  const original = [...keys].sort(compare)[0];
  const members = relationsTo(original, edgesOf).map((m) => ({ ...m, bytes: of(m.key).bytes }));
  const o = of(original);
  return {
    id: original,
    original: { key: original, width: o.w, height: o.h, bytes: o.bytes },
    members,
    reclaimableBytes: members.reduce((n, m) => n + m.bytes, 0),
  };
}

/**
 * Each member's relation to `original`, along the shortest chain of matches (breadth first): the
 * match itself when they matched directly (with its box); through copies, the relation of the
 * chain's one kind of containment, or copy (edited if any step was); crops and holders mixed: edited.
 * The score is the chain's weakest.
 */
function relationsTo(original: string, edgesOf: (k: string) => Edge[]): Omit<GroupMember, 'bytes'>[] {
  const chain = new Map<string, Edge[]>([[original, []]]);
  const queue = [original];
  while (queue.length) {
    const k = queue.shift()!;
    for (const e of edgesOf(k)) {
      if (chain.has(e.to)) continue;
      // The member's relation to k is the reverse of k's edge to it.
      chain.set(e.to, [reverseEdge(e, k), ...chain.get(k)!]);
      queue.push(e.to);
    }
  }
  const out: Omit<GroupMember, 'bytes'>[] = [];
  for (const [key, steps] of chain) {
    if (key === original) continue;
    const score = Math.min(...steps.map((s) => s.score));
    if (steps.length === 1) {
      const { rel, box } = steps[0];
      out.push({ key, relation: rel, score, ...(box ? { box } : {}) });
      continue;
    }
    const parts = new Set(steps.filter((s) => !isWhole(s)).map((s) => s.rel));
    const relation: Relation = parts.size === 1 ? [...parts][0] : parts.size === 0 && steps.every((s) => s.rel === 'copy') ? 'copy' : 'edited';
    out.push({ key, relation, score });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}
