import { describe, expect, it } from 'vitest';
import { inputTimes, lastErrorLine, showinfoTime } from './ffmpeg-log.ts';

// Lines as ffmpeg 4.1 writes them with -loglevel level+info.
const SHOWINFO = '[Parsed_showinfo_1 @ 0x3e5ca8c0] [info] n:   2 pts:  51200 pts_time:4.04    pos:    71685 fmt:rgb24 sar:1/1 s:480x270 i:P iskey:1 type:I checksum:936AF544';

describe('ffmpeg log lines', () => {
  it('reads the time of each frame showinfo reports, and nothing from other lines', () => {
    expect(showinfoTime(SHOWINFO)).toBe(4.04);
    expect(showinfoTime('[Parsed_showinfo_1 @ 0x1] [info] n:   0 pts:      0 pts_time:0       pos:       48 fmt:rgb24')).toBe(0);
    expect(showinfoTime('[Parsed_showinfo_1 @ 0x1] [info] color_range:tv color_space:unknown')).toBeNull();
    expect(showinfoTime('[info]   Duration: 00:00:12.00, start: 0.000000, bitrate: 108 kb/s')).toBeNull();
    expect(showinfoTime('[info] frame=  120 fps= 10 q=2.0 Lsize=N/A time=00:08:15.04 bitrate=N/A')).toBeNull();
  });

  it('reads the duration and the start time of the input', () => {
    expect(inputTimes('[info]   Duration: 01:02:03.50, start: 0.000000, bitrate: 108 kb/s')).toEqual({ duration: 3723.5, start: 0 });
    expect(inputTimes('[info]   Duration: 00:00:07.60, start: 0.540000, bitrate: 4813 kb/s')).toEqual({ duration: 7.6, start: 0.54 });
    expect(inputTimes('[info]   Duration: N/A, start: 1.400000, bitrate: N/A')).toEqual({ duration: null, start: 1.4 });
    expect(inputTimes('[info]     DURATION        : 00:00:07.600000000')).toBeNull();
    expect(inputTimes(SHOWINFO)).toBeNull();
  });

  it('names the last error without tags or the temp folder', () => {
    const lines = [
      "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x35f08d80] [warning] Format mov,mp4 detected only with low score of 1",
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x35f08d80] [error] moov atom not found',
      '[error] /tmp/loupe-video-Ab12/input: Invalid data found when processing input',
      '[info] Exiting normally',
    ];
    expect(lastErrorLine(lines, '/tmp/loupe-video-Ab12/')).toBe('input: Invalid data found when processing input');
    expect(lastErrorLine(lines.slice(0, 2))).toBe('moov atom not found');
    expect(lastErrorLine(['[info] Conversion failed!'])).toBe('Conversion failed!');
    expect(lastErrorLine([])).toBe('no output');
  });
});
