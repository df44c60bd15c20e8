import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Labeler } from './labeler.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'loupe-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Labeler', () => {
  it('prefix rule: first folder under the source prefix; root objects have no label', () => {
    const l = Labeler.byPrefix('photos/');
    expect(l.label('photos/cats/a/1.jpg')).toBe('cats');
    expect(l.label('photos/dogs/2.jpg')).toBe('dogs');
    expect(l.label('photos/loose.jpg')).toBeUndefined();
    expect(Labeler.byPrefix().label('birds/x.png')).toBe('birds');
  });

  it('reads JSON and "key,label" / "key<TAB>label" manifests, by full or source-relative key', async () => {
    const json = path.join(dir, 'm.json');
    writeFileSync(json, JSON.stringify({ 'a.jpg': 'shoe', 'sub/b.jpg': 3 }));
    const j = await Labeler.load(json, 'bucket-prefix/');
    expect(j.label('bucket-prefix/a.jpg')).toBe('shoe');
    expect(j.label('sub/b.jpg')).toBe('3');
    expect(j.label('c.jpg')).toBeUndefined();
    const csv = path.join(dir, 'm.csv');
    writeFileSync(csv, '# key,label\nx/with,comma.jpg,bag\ny.jpg\tcoat\n\n');
    const c = await Labeler.load(csv);
    expect(c.label('x/with,comma.jpg')).toBe('bag');
    expect(c.label('y.jpg')).toBe('coat');
    writeFileSync(csv, 'no-separator\n');
    await expect(Labeler.load(csv)).rejects.toThrow(/m.csv:1/);
  });
});
