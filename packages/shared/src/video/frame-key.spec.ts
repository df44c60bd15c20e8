import { describe, expect, it } from 'vitest';
import { formatFrameTime, frameKey, parseFrameKey } from './frame-key.ts';

describe('frame keys', () => {
  it('names a frame by its video and its time, to the millisecond and without trailing zeros', () => {
    expect(frameKey('clips/a.mp4', 12.5)).toBe('clips/a.mp4#t=12.5');
    expect(frameKey('clips/a.mp4', 0)).toBe('clips/a.mp4#t=0');
    expect(frameKey('a.webm', 3.04)).toBe('a.webm#t=3.04');
    expect(formatFrameTime(1.23456)).toBe('1.235');
    expect(formatFrameTime(7.0004)).toBe('7');
    expect(() => formatFrameTime(-1)).toThrow(RangeError);
  });

  it('splits a frame key back into the video key and the time', () => {
    expect(parseFrameKey('clips/a.mp4#t=12.5')).toEqual({ key: 'clips/a.mp4', t: 12.5 });
    expect(parseFrameKey('x#t=1#t=2')).toEqual({ key: 'x#t=1', t: 2 });
    for (const t of [0, 0.04, 59.96, 3600.123]) expect(parseFrameKey(frameKey('v.mkv', t))).toEqual({ key: 'v.mkv', t });
  });

  it('leaves every other key alone', () => {
    for (const k of ['a.jpg', 'a.mp4', 'a.mp4#t=', 'a.mp4#t=1.2345', 'a.mp4#t=-1', 'a.mp4#t=1e3', '#t=3', 'a.mp4#t=3 ', 'a.mp4#T=3']) {
      expect(parseFrameKey(k), k).toBeNull();
    }
  });
});
