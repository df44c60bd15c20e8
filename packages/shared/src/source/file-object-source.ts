import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImageRejectedError } from '../image/image-rejected-error.ts';
import { ObjectGoneError, type GetOptions, type ObjectEntry, type ObjectSource } from './object-source.ts';

/**
 * A local folder, walked recursively. Keys are paths relative to the folder with `/`
 * separators. Only regular files are objects: symbolic links are not followed, so nothing
 * outside the folder is ever read.
 *
 * ETag = sha1(size, mtime in ns, inode) instead of a content hash: a poll then costs one stat
 * per file, not a read of every byte, and any write (new mtime) or atomic replace (new inode)
 * changes it. The price: `touch` re-ingests an unchanged file (harmless, jobs are idempotent),
 * and a same-size rewrite that also forges the old mtime onto the same inode goes unseen.
 */
export class FileObjectSource implements ObjectSource {
  readonly url: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
    this.url = FileObjectSource.urlOf(dir);
  }

  /** The url a source on this folder goes by. */
  static urlOf(dir: string): string {
    return pathToFileURL(path.resolve(dir)).href;
  }

  async *list(prefix: string): AsyncIterable<ObjectEntry> {
    yield* this.walk(this.root, '', prefix);
  }

  private async *walk(abs: string, rel: string, prefix: string): AsyncIterable<ObjectEntry> {
    let entries;
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (e) {
      // A sub-folder removed mid-walk is simply gone; a missing root is a real error.
      if (rel !== '' && isNotFound(e)) return;
      throw e;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      const key = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix)) yield* this.walk(path.join(abs, d.name), key, prefix);
      } else if (d.isFile() && key.startsWith(prefix)) {
        const st = await statOrNull(path.join(abs, d.name));
        if (st?.isFile()) yield { key, etag: fileEtag(st), size: Number(st.size) };
      }
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
    const file = this.pathOf(key);
    const st = await statOrNull(file);
    if (!st?.isFile()) throw new ObjectGoneError(key, 'missing');
    if (opts.etag && fileEtag(st) !== opts.etag) throw new ObjectGoneError(key, 'changed');
    if (opts.maxBytes !== undefined && st.size > BigInt(opts.maxBytes)) {
      throw new ImageRejectedError('too-large-bytes', `${st.size} bytes is over the limit of ${opts.maxBytes}`);
    }
    try {
      return await fs.readFile(file);
    } catch (e) {
      if (isNotFound(e)) throw new ObjectGoneError(key, 'missing');
      throw e;
    }
  }

  async stat(key: string): Promise<ObjectEntry | null> {
    const st = await statOrNull(this.pathOf(key));
    return st?.isFile() ? { key, etag: fileEtag(st), size: Number(st.size) } : null;
  }

  async close(): Promise<void> {}

  /** Absolute path of a key; refuses keys that would escape the folder. */
  private pathOf(key: string): string {
    const file = path.resolve(this.root, ...key.split('/'));
    if (!file.startsWith(this.root + path.sep)) throw new ObjectGoneError(key, 'missing');
    return file;
  }
}

export function fileEtag(st: BigIntStats): string {
  return createHash('sha1').update(`${st.size}:${st.mtimeNs}:${st.ino}`).digest('hex');
}

/** lstat (never follows a link); null when absent. */
async function statOrNull(file: string): Promise<BigIntStats | null> {
  try {
    return await fs.lstat(file, { bigint: true });
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
