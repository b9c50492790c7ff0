/**
 * What the HomeKit accessories show, computed from the engine's status. Plain functions with no
 * HAP types, so every case is unit-testable; the accessory classes only copy these values out.
 */
import type { FilesystemStatus, StatusReport } from '../retention/engine.js';
import { isUnderMargin, storageProblems } from '../retention/problems.js';

export interface StorageState {
  /** The disk-pressure sensor is "on" (contact open, occupancy or leak detected). */
  pressure: boolean;
  /** Why it is on, for the log: one short phrase per cause. */
  reasons: string[];
  /** Lowest free-space percentage among the measurable recordings filesystems; null when none is. */
  batteryLevel: number | null;
  lowBattery: boolean;
  /** The last sweep failed. */
  fault: boolean;
  /** Every camera folder is available. */
  active: boolean;
}

export function freePercent(fs: FilesystemStatus): number | null {
  if (fs.freeBytes === null || fs.totalBytes === null || fs.totalBytes <= 0) {
    return null;
  }
  return Math.max(0, Math.min(100, Math.round((fs.freeBytes / fs.totalBytes) * 100)));
}

/**
 * @param sweepError set when the last sweep could not even be started or finished by the engine
 *   (the worker threw), which leaves no failed run in the store but is a failure all the same.
 */
export function storageState(status: StatusReport, sweepError: string | null = null): StorageState {
  // The settings screen's banner reads the same list (retention/problems.ts).
  const reasons = storageProblems(status).flatMap((problem) => problem.reasons);
  const unavailable = status.cameras.filter((camera) => !camera.available);

  const levels = status.filesystems.map(freePercent).filter((level): level is number => level !== null);
  return {
    pressure: reasons.length > 0,
    reasons,
    batteryLevel: levels.length > 0 ? Math.min(...levels) : null,
    lowBattery: status.filesystems.some(isUnderMargin),
    fault: sweepError !== null || status.lastSweep?.status === 'failed',
    active: unavailable.length === 0,
  };
}

/** The switch state of each camera, by camera path (the switch's identity: it survives renames). */
export function protectSwitchStates(status: StatusReport): Map<string, boolean> {
  return new Map(status.cameras.map((camera) => [camera.path, camera.protectSwitchOn]));
}
