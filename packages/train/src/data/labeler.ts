import { readFile } from 'node:fs/promises';

/**
 * Class label of an object key, or undefined when the key has none (it is then left out of
 * supervised training). Two rules: the first path segment under the source prefix
 * (`cats/001.jpg` -> `cats`), or a manifest mapping keys to labels.
 */
export class Labeler {
  private constructor(
    readonly rule: 'prefix' | 'manifest',
    private readonly manifest: Map<string, string> | undefined,
    private readonly sourcePrefix: string,
  ) {}

  static byPrefix(sourcePrefix = ''): Labeler {
    return new Labeler('prefix', undefined, sourcePrefix);
  }

  static fromManifest(manifest: Map<string, string>, sourcePrefix = ''): Labeler {
    return new Labeler('manifest', manifest, sourcePrefix);
  }

  /**
   * A manifest file: a JSON object {"key": "label", ...}, or text lines `key<TAB or comma>label`
   * (blank lines and lines starting with # are skipped; the label is after the last separator).
   */
  static async load(file: string, sourcePrefix = ''): Promise<Labeler> {
    const text = await readFile(file, 'utf8');
    const map = new Map<string, string>();
    if (text.trimStart().startsWith('{')) {
      const obj = JSON.parse(text) as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${file}: label of "${k}" is not a string`);
        map.set(k, String(v));
      }
    } else {
      text.split(/\r?\n/).forEach((line, i) => {
        if (!line.trim() || line.startsWith('#')) return;
        const cut = Math.max(line.lastIndexOf('\t'), line.lastIndexOf(','));
        if (cut <= 0) throw new Error(`${file}:${i + 1}: expected "key<TAB or comma>label"`);
        map.set(line.slice(0, cut).trim(), line.slice(cut + 1).trim());
      });
    }
    if (map.size === 0) throw new Error(`${file}: no labels`);
    return Labeler.fromManifest(map, sourcePrefix);
  }

  label(key: string): string | undefined {
    if (this.manifest) return this.manifest.get(key) ?? this.manifest.get(this.relative(key));
    const rel = this.relative(key);
    const slash = rel.indexOf('/');
    return slash > 0 ? rel.slice(0, slash) : undefined;
  }

  private relative(key: string): string {
    return this.sourcePrefix && key.startsWith(this.sourcePrefix) ? key.slice(this.sourcePrefix.length).replace(/^\/+/, '') : key;
  }
}
