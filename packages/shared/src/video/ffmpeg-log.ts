/**
 * Reading ffmpeg's log line by line, as written with `-loglevel level+info` (each line tagged
 * `[info]`, `[error]`...): the log can be long (a warning per damaged frame), so nothing keeps it whole.
 */

/** The `pts_time` of a frame `showinfo` reports (one line per frame written), else null. */
export function showinfoTime(line: string): number | null {
  if (!line.includes('Parsed_showinfo')) return null;
  const m = /\bpts_time:\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/.exec(line);
  return m ? Number(m[1]) : null;
}

/**
 * The input's duration and start time in seconds from its `Duration: 00:00:07.60, start: 0.540000`
 * line (duration null when `N/A`); null for any other line. Frame times count from the start: an
 * MPEG stream's first frame may carry 0.54 s, which a player shows as 0.
 */
export function inputTimes(line: string): { duration: number | null; start: number } | null {
  const m = /^(?:\[\w+\]\s*)?Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N\/A)(?:, start: (-?\d+(?:\.\d+)?))?/.exec(line.trim());
  if (!m) return null;
  return { duration: m[1] === undefined ? null : Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]), start: m[4] === undefined ? 0 : Number(m[4]) };
}

/**
 * The last of `lines` ffmpeg logged as an error (or fatal), without its tags and with `strip` (the
 * temp path) removed; else the last line. What a dead letter says about a video that does not decode.
 */
export function lastErrorLine(lines: string[], strip = ''): string {
  const kept = lines.map((l) => l.trim()).filter(Boolean);
  const line = ([...kept].reverse().find((l) => /\[(error|fatal|panic)\]/.test(l)) ?? kept.at(-1) ?? 'no output')
    .replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '')
    .replace(/^\[(error|fatal|panic|warning|info)\]\s*/, '');
  return (strip ? line.split(strip).join('') : line).slice(0, 300);
}
