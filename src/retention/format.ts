/** Sizes for people: decimal units, as in the config (1 GB = 1,000,000,000 bytes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Characters that would let a file name pass for something else in a line of text: controls, quotes, backslashes. */
const UNSAFE_IN_TEXT = /[\u0000-\u001f\u007f-\u009f"\\\u2028\u2029]|^\s|\s$/;

/**
 * A path for a line of text output: as it is when it is plain, quoted and escaped as a JSON string
 * when not, so a name with a newline cannot fake a line of its own.
 */
export function printablePath(path: string): string {
  return UNSAFE_IN_TEXT.test(path) ? JSON.stringify(path) : path;
}
