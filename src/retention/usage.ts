/**
 * The usage history: each camera's bytes and recordings as measured at every scan and sweep (one row
 * per camera per hour, kept a year), read back as the settings screen's daily chart and as the
 * measured growth its forecast uses. What was measured is shown; nothing is reconstructed from what
 * is left on disk, which sweeps change.
 */
import { DAY_MS } from '../config/units.js';
import type { Store, UsageSample } from '../store/store.js';
import type { Logger } from './logger.js';

/** The history covers a year: enough for the chart and for seasons of a camera's recording rate. */
export const USAGE_HISTORY_KEPT_MS = 365 * DAY_MS;
/** The forecast's growth is measured over the last week, long enough to even out quiet days. */
export const GROWTH_WINDOW_DAYS = 7;

/** Records the index's totals now. A full disk under the index must not fail the scan or sweep that measured. */
export function recordUsage(store: Store, log: Logger, now = Date.now()): void {
  try {
    store.recordUsage(now, USAGE_HISTORY_KEPT_MS);
  } catch (error) {
    log.warn(`the usage history could not be written: ${(error as Error).message}`);
  }
}

/** The end of each of the last `days` UTC days, the last one being `now`. */
export function dayEnds(days: number, now: number): number[] {
  const ends = Array.from({ length: days }, (_, i) => (Math.floor(now / DAY_MS) - (days - 1 - i)) * DAY_MS + DAY_MS);
  ends[ends.length - 1] = now;
  return ends;
}

/**
 * A camera's figure for each day: its last measurement that day, or null for a day nothing measured
 * it (before the plugin ran, or a day Homebridge was off): a gap in the chart, not a guess.
 */
export function dailyFigures(samples: UsageSample[], ends: number[]): (UsageSample | null)[] {
  return ends.map((end) => {
    const dayStart = Math.floor((end - 1) / DAY_MS) * DAY_MS;
    let last: UsageSample | null = null;
    for (const sample of samples) {
      if (sample.at >= dayStart && sample.at <= end) {
        last = sample;
      }
    }
    return last;
  });
}

/**
 * Net growth per day of the cameras' summed usage between the first measurement of the window and
 * the last: what recording adds less what retention deletes. Null while the history spans under a day.
 */
export function measuredGrowth(histories: UsageSample[][], now: number): { bytesPerDay: number; days: number } | null {
  const since = now - GROWTH_WINDOW_DAYS * DAY_MS;
  let first = Infinity;
  let last = -Infinity;
  for (const samples of histories) {
    for (const sample of samples) {
      if (sample.at >= since) {
        first = Math.min(first, sample.at);
        last = Math.max(last, sample.at);
      }
    }
  }
  if (!(last - first >= DAY_MS)) {
    return null;
  }
  // Each camera's figure at both ends: its last sample at or before that moment.
  const at = (samples: UsageSample[], moment: number) => samples.filter((s) => s.at <= moment).pop()?.bytes ?? 0;
  const change = histories.reduce((sum, samples) => sum + at(samples, last) - at(samples, first), 0);
  const days = (last - first) / DAY_MS;
  return { bytesPerDay: change / days, days };
}
