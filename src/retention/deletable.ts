/**
 * What may be deleted (rules §1): the one home of "held" and "busy". The planner, the sweeper, the
 * deletions by hand and the settings UI ask here; the store's SQL that claims rows and sums held
 * bytes says the same in SQL, and names this file.
 */
import type { Recording } from '../store/store.js';

export type DeletableVerdict = 'deletable' | 'held' | 'busy';

type HoldFields = Pick<Recording, 'protected' | 'keepUntil'>;

/** Held: protected, or under a keep-until date that has not passed. Never deleted automatically. */
export function isHeld(recording: HoldFields, now: number): boolean {
  return recording.protected || (recording.keepUntil !== null && recording.keepUntil > now);
}

/** A live keep-until date, or null when there is none or it has passed. */
export function liveKeepUntil(recording: Pick<Recording, 'keepUntil'>, now: number): number | null {
  return recording.keepUntil !== null && recording.keepUntil > now ? recording.keepUntil : null;
}

/** Being exported: its export lease has not expired. */
export function isExporting(recording: Pick<Recording, 'exportLockUntil'>, now: number): boolean {
  return recording.exportLockUntil !== null && recording.exportLockUntil > now;
}

/** In progress: it ended within the last `minAgeMs` (or is dated in the future): the recorder may still write it. */
export function isInProgress(recording: Pick<Recording, 'endTime'>, now: number, minAgeMs: number): boolean {
  return recording.endTime > now - minAgeMs;
}

/** held = protected or under keep-until; busy = export-locked or in progress; else deletable. */
export function verdict(recording: Recording, now: number, minAgeMs: number): DeletableVerdict {
  if (isHeld(recording, now)) {
    return 'held';
  }
  if (isExporting(recording, now) || isInProgress(recording, now, minAgeMs)) {
    return 'busy';
  }
  return 'deletable';
}
