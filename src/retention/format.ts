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

/**
 * "1 recording", "2 recordings": a count and its noun, for log lines, the command's output and the
 * settings page. Digits without grouping, as elsewhere in the log: scripts match "Sweep deleted (\d+)".
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * A path for a line of text output: as it is when it is plain, quoted and escaped as a JSON string
 * when it holds a control character (a newline), a quote or a backslash, or starts or ends with a
 * space: a file name cannot fake a line of its own, nor hide where it ends.
 */
export function printablePath(path: string): string {
  return isPlainText(path) ? path : JSON.stringify(path);
}

function isPlainText(text: string): boolean {
  if (text.trim() !== text) {
    return false;
  }
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // C0 controls, DEL and C1 controls, the quote and the backslash, the Unicode line and paragraph separators.
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x22 || code === 0x5c || code === 0x2028 || code === 0x2029) {
      return false;
    }
  }
  return true;
}
