import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.ts';
import { sniffVideoFormat } from './video-format.ts';

const box = (type: string, brand = '') => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(type + brand, 'latin1'), Buffer.alloc(12)]);
const ebml = (docType: string) => Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]), Buffer.from(docType), Buffer.alloc(16)]);

describe('sniffVideoFormat', () => {
  it('names MP4, MOV, WebM and Matroska from their bytes', () => {
    expect(sniffVideoFormat(box('ftyp', 'isom'))).toBe('mp4');
    expect(sniffVideoFormat(box('ftyp', 'mp42'))).toBe('mp4');
    expect(sniffVideoFormat(box('ftyp', 'qt  '))).toBe('mov');
    expect(sniffVideoFormat(box('moov'))).toBe('mov');
    expect(sniffVideoFormat(ebml('webm'))).toBe('webm');
    expect(sniffVideoFormat(ebml('matroska'))).toBe('mkv');
  });

  it('leaves images, audio and other bytes to the image path', () => {
    expect(sniffVideoFormat(box('ftyp', 'heic'))).toBeNull();
    expect(sniffVideoFormat(box('ftyp', 'avif'))).toBeNull();
    expect(sniffVideoFormat(box('ftyp', 'M4A '))).toBeNull();
    expect(sniffVideoFormat(box('ftyp', 'crx '))).toBeNull();
    expect(sniffVideoFormat(readFileSync(path.join(REPO_ROOT, 'samples/coffee.jpg')))).toBeNull();
    expect(sniffVideoFormat(Buffer.from('hello world, not a video'))).toBeNull();
    expect(sniffVideoFormat(Buffer.alloc(4))).toBeNull();
  });
});
