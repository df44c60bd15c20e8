import { parseFrameKey } from '@loupe/shared';

/**
 * Which listed objects are image candidates. Content decides, not names: keys without an
 * extension, with a wrong one (`photo.png` that is a JPEG) or an unknown one are all fetched and
 * validated, and whatever is not an image is dead-lettered with its reason. Only names that are
 * plainly not images are skipped, so a folder's README or LICENSE (like samples/LICENSE.md) does
 * not fill the dead-letter queue:
 *  - folder markers (keys ending in `/`) and hidden entries (any path segment starting with `.`:
 *    .DS_Store, .git/, ._AppleDouble files);
 *  - LICENSE, LICENCE, README, NOTICE, COPYING, AUTHORS, CHANGELOG (any extension or none),
 *    Thumbs.db, desktop.ini;
 *  - text, data and archive extensions: md, txt, rst, json, yaml, csv, html, xml, log, pdf, zip...;
 *  - keys ending like a video's keyframe (`#t=<seconds>`, frame-key.ts): the index keeps those names
 *    for frames, so an object named so would be taken for one.
 * Skipped objects are counted in the discovery summary, never stored.
 */
const DOC_NAMES = new Set(['license', 'licence', 'readme', 'notice', 'copying', 'authors', 'changelog']);
const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini']);
const NON_IMAGE_EXTENSIONS = new Set([
  'md', 'markdown', 'txt', 'rst', 'json', 'ndjson', 'yaml', 'yml', 'toml', 'ini', 'csv', 'tsv',
  'html', 'htm', 'xml', 'log', 'pdf', 'zip', 'gz', 'tgz', 'tar', '7z',
]);

export function isCandidateKey(key: string): boolean {
  if (key.endsWith('/') || parseFrameKey(key)) return false;
  const segments = key.split('/');
  if (segments.some((s) => s.startsWith('.'))) return false;
  const name = segments[segments.length - 1].toLowerCase();
  if (SYSTEM_FILES.has(name)) return false;
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  if (DOC_NAMES.has(stem)) return false;
  return !NON_IMAGE_EXTENSIONS.has(ext);
}
