/**
 * What the HomeKit accessories show, computed from the engine's status. Plain functions with no
 * HAP types, so every case is unit-testable; the accessory classes only copy these values out.
 */
import type { FilesystemStatus, StatusReport } from '../retention/engine.js';
import { isUnderMargin, storageProblems } from '../retention/problems.js';

export { isUnderFloor } from '../retention/problems.js';

export interface StorageState {
  /** The disk-pressure sensor is "on" (contact open, occupancy or leak detected). */
  pressure: boolean;
  /** Why it is on, for the log: one short phrase per cause. */
  reasons: string[];
  /** Lowest free-space percentage among the recordings disks (a missing one at its last level); null when none was ever measured. */
  batteryLevel: number | null;
  lowBattery: boolean;
  /** The last sweep failed. */
  fault: boolean;
  /** Every camera folder is available. */
  active: boolean;
  /** Each camera's last measured free-space percentage, by camera name: pass it to the next call (rules §6.5). */
  levels: Map<string, number>;
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
 * @param lastLevels the `levels` of the previous call: a disk that cannot be measured now (a NAS gone)
 *   keeps its last level in the battery's minimum instead of dropping out of it.
 */
export function storageState(
  status: StatusReport,
  sweepError: string | null = null,
  lastLevels: ReadonlyMap<string, number> = new Map(),
): StorageState {
  // The settings screen's banner reads the same list (retention/problems.ts).
  const reasons = storageProblems(status).flatMap((problem) => problem.reasons);
  const missingNow = new Set(status.filesystems.filter((fs) => fs.folderMissing).flatMap((fs) => fs.cameras));
  const unavailable = status.cameras.filter((camera) => !camera.available || missingNow.has(camera.name));

  const levels = new Map(lastLevels);
  const shown: number[] = [];
  for (const fs of status.filesystems) {
    const level = freePercent(fs);
    if (level !== null) {
      shown.push(level);
      for (const camera of fs.cameras) {
        levels.set(camera, level);
      }
    } else {
      shown.push(...fs.cameras.flatMap((camera) => levels.get(camera) ?? []));
    }
  }
  return {
    pressure: reasons.length > 0,
    reasons,
    batteryLevel: shown.length > 0 ? Math.min(...shown) : null,
    lowBattery: status.filesystems.some(isUnderMargin),
    fault: sweepError !== null || status.lastSweep?.status === 'failed',
    active: unavailable.length === 0,
    levels,
  };
}

/** The switch state of each camera, by camera key (the switch's identity: its folder, which survives renames, unless the folder is shared). */
export function protectSwitchStates(status: StatusReport): Map<string, boolean> {
  return new Map(status.cameras.map((camera) => [camera.key, camera.protectSwitchOn]));
}
