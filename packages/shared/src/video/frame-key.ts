/**
 * A video's keyframes are indexed as objects of their own under `<video key>#t=<seconds>` (a media
 * fragment, as in `clips/a.mp4#t=12.5`): seconds with at most 3 decimals, no trailing zeros.
 * Discovery skips source keys of that form (isCandidateKey), so every indexed key ending in a `#t=`
 * suffix is a frame and the query service can name the video and the moment.
 */
const FRAME_SUFFIX = /#t=(\d+(?:\.\d{1,3})?)$/;

/** Seconds as a frame key writes them: rounded to the millisecond, no trailing zeros. */
export function formatFrameTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`not a frame time: ${seconds}`);
  return String(Math.round(seconds * 1000) / 1000);
}

export function frameKey(videoKey: string, seconds: number): string {
  return `${videoKey}#t=${formatFrameTime(seconds)}`;
}

/** The video key and time of a frame key; null for any other key. */
export function parseFrameKey(key: string): { key: string; t: number } | null {
  const m = FRAME_SUFFIX.exec(key);
  if (!m || m.index === 0) return null;
  return { key: key.slice(0, m.index), t: Number(m[1]) };
}
