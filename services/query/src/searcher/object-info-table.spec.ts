import { describe, expect, it } from 'vitest';
import { ObjectInfoTable } from './object-info-table.ts';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('ObjectInfoTable (keys and sizes of a shard\'s objects, by id)', () => {
  it('gives back each id\'s key and size, unknown ids as null and 0 x 0', () => {
    const t = new ObjectInfoTable();
    t.set(0, utf8('a.jpg'), 640, 480);
    t.set(2, utf8('dossier/été 2024/🐟.png'), 1, 2);
    expect(t.get(0)).toEqual({ key: 'a.jpg', width: 640, height: 480 });
    expect(t.get(1)).toEqual({ key: null, width: 0, height: 0 });
    expect(t.get(2)).toEqual({ key: 'dossier/été 2024/🐟.png', width: 1, height: 2 });
    expect(t.get(5000)).toEqual({ key: null, width: 0, height: 0 });
  });

  it('keeps one copy of a key replaced in place (same key, new size) and grows past its first capacity', () => {
    const t = new ObjectInfoTable();
    for (let id = 0; id < 5000; id++) t.set(id, utf8(`k${id}.jpg`), id, id + 1);
    const bytes = t.bytes;
    for (let id = 0; id < 5000; id++) t.set(id, utf8(`k${id}.jpg`), 7, 8);
    expect(t.bytes).toBe(bytes);
    expect(t.get(4999)).toEqual({ key: 'k4999.jpg', width: 7, height: 8 });
    // A size alone (an upsert whose key entry was not read) keeps the key.
    t.set(3, null, 9, 9);
    expect(t.get(3)).toEqual({ key: 'k3.jpg', width: 9, height: 9 });
  });
});
