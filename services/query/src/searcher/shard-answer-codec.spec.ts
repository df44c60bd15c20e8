import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from './object-info-table.ts';
import { packAnswer, ShardAnswerReader } from './shard-answer-codec.ts';

describe('shard answer codec', () => {
  it('gives back the hits per query and every named object, keys of any characters and missing keys included', () => {
    const infos = new Map<number, ObjectInfo>([
      [7, { key: 'photos/a.jpg', width: 4000, height: 3000 }],
      [12, { key: 'über/🐱 cat\n.png', width: 1, height: 2 }],
      [99, { key: null, width: 0, height: 0 }],
      [4_000_000_000, { key: '', width: 5, height: 6 }],
    ]);
    const results = [
      [{ id: 7, view: 3, distance: 10 }, { id: 12, view: 0, distance: 11 }],
      [],
      [{ id: 99, view: 24, distance: 256 }, { id: 7, view: 1, distance: 256 }, { id: 4_000_000_000, view: 0, distance: 0 }],
    ];
    const reader = new ShardAnswerReader(structuredClone(packAnswer(results, (id) => infos.get(id)!)));
    expect(reader.results()).toEqual(results);
    results.forEach((list, q) =>
      list.forEach((hit, i) => {
        expect(reader.id(reader.first(q) + i)).toBe(hit.id);
        expect(reader.objectOf(reader.first(q) + i)).toEqual(infos.get(hit.id));
      }),
    );
    // One entry per object, however many hits name it.
    expect(reader.answer.keyLengths).toHaveLength(infos.size);
  });

  it('packs an answer without hits', () => {
    const packed = packAnswer([[], []], () => ({ key: 'x', width: 1, height: 1 }));
    expect(new ShardAnswerReader(packed).results()).toEqual([[], []]);
    expect(packed.objects).toHaveLength(0);
  });
});
