/**
 * End times read from file names (`cameras[].nameTime`, rules §1): for recorders whose mtime lies
 * (viofosync stamps the download time, a copied archive the copy time). The pattern is a regular
 * expression on the path relative to the camera folder, with named groups: `unix` (seconds), or
 * `year`, `month`, `day` and optionally `hour`, `minute`, `second`, `ms`.
 */

const DATE_GROUPS = ['year', 'month', 'day'] as const;

/** Reads the time a relative path names, in ms; undefined when the pattern does not match or names no real time. */
export type NameTimeReader = (relPath: string) => number | undefined;

export interface CompiledNameTime {
  /** Why the pattern cannot be used, in words for the config field. */
  problem?: string;
  regex?: RegExp;
}

export function compileNameTime(pattern: string): CompiledNameTime {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    return { problem: `is not a regular expression that compiles: ${(error as Error).message}` };
  }
  const groups = new Set([...pattern.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]));
  if (!groups.has('unix') && !DATE_GROUPS.every((group) => groups.has(group))) {
    return {
      problem:
        'must have a named group "unix" (seconds), or "year", "month" and "day" (and "hour", "minute", "second" if the name has them)',
    };
  }
  return { regex };
}

/** A reader for a pattern that compiled; `timeZone` undefined: the system's own. */
export function nameTimeReader(pattern: string, timeZone: string | undefined): NameTimeReader {
  const { regex } = compileNameTime(pattern);
  if (!regex) {
    return () => undefined;
  }
  return (relPath) => {
    const groups = regex.exec(relPath)?.groups;
    if (!groups) {
      return undefined;
    }
    if (groups.unix !== undefined) {
      const seconds = Number(groups.unix);
      return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
    }
    const part = (name: string, fallback: number) => (groups[name] === undefined || groups[name] === '' ? fallback : Number(groups[name]));
    // Two digits are this century's (`261130`); four are the year as written.
    const rawYear = part('year', NaN);
    const wall = {
      year: (groups.year ?? '').length <= 2 ? 2000 + rawYear : rawYear,
      month: part('month', NaN),
      day: part('day', NaN),
      hour: part('hour', 0),
      minute: part('minute', 0),
      second: part('second', 0),
      ms: part('ms', 0),
    };
    if (!isRealTime(wall)) {
      return undefined;
    }
    return timeZone === undefined
      ? new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms).getTime()
      : zonedToUtc(wall, timeZone);
  };
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

function isRealTime(t: WallTime): boolean {
  const inRange = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  return (
    inRange(t.year, 1970, 9999) &&
    inRange(t.month, 1, 12) &&
    inRange(t.day, 1, 31) &&
    inRange(t.hour, 0, 23) &&
    inRange(t.minute, 0, 59) &&
    inRange(t.second, 0, 60) &&
    inRange(t.ms, 0, 999)
  );
}

/** The instant a wall-clock time in `timeZone` stands for; twice through the offset, so a DST change in between is met. */
function zonedToUtc(t: WallTime, timeZone: string): number {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second, t.ms);
  let instant = asUtc - offsetAt(asUtc, timeZone);
  instant = asUtc - offsetAt(instant, timeZone);
  return instant;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** How far `timeZone`'s clock is ahead of UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(instant / 1000) * 1000;
}
