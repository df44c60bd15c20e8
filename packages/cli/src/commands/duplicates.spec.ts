import { describe, expect, it } from 'vitest';
import { csvLine, reportRows, type ReportGroup } from './duplicates.ts';

describe('loupe duplicates report', () => {
  const group: ReportGroup = {
    id: 'a/photo.jpg',
    original: { key: 'a/photo.jpg', width: 800, height: 600, bytes: 90_000 },
    members: [
      { key: 'a/photo small.jpg', relation: 'copy', score: 0.97, bytes: 30_000 },
      { key: 'b/"crop",1.jpg', relation: 'crop-of', score: 0.8412, box: { x: 10, y: 20, w: 400, h: 300 }, bytes: 20_000 },
    ],
    reclaimableBytes: 50_000,
  };

  it('lists the original first, then each member with its relation, score, bytes and box', () => {
    expect(reportRows([group])).toEqual([
      ['a/photo.jpg', 'a/photo.jpg', 'original', '', '90000', '800x600'],
      ['a/photo.jpg', 'a/photo small.jpg', 'copy', '0.970', '30000', ''],
      ['a/photo.jpg', 'b/"crop",1.jpg', 'crop-of', '0.841', '20000', '10,20 400x300'],
    ]);
  });

  it('quotes CSV fields that hold commas or quotes', () => {
    expect(csvLine(['b/"crop",1.jpg', 'crop-of', '0.841'])).toBe('"b/""crop"",1.jpg",crop-of,0.841\n');
  });
});
