import { describe, expect, it } from 'vitest';
import { isCandidateKey } from './candidate-key.ts';

describe('isCandidateKey', () => {
  it('keeps anything that may be an image, whatever its name says', () => {
    for (const k of ['a.jpg', 'dir/b.PNG', 'no-extension', 'photos/2024/IMG_0001.HEIC', 'x.bin', 'fake.jpg', 'readme-cat.jpg', 'a.svg', 'clip.mp4', 'a#t=x.jpg', '#t=3']) {
      expect(isCandidateKey(k), k).toBe(true);
    }
  });
  it('skips folder markers, hidden entries, docs and text/archive files', () => {
    for (const k of ['photos/', '.DS_Store', 'a/.git/config', 'a/._IMG.jpg', 'LICENSE', 'samples/LICENSE.md', 'README',
      'docs/readme.txt', 'NOTICE', 'Thumbs.db', 'manifest.json', 'labels.csv', 'notes.md', 'backup.zip', 'clips/a.mp4#t=12.5', 'b#t=0']) {
      expect(isCandidateKey(k), k).toBe(false);
    }
  });
});
