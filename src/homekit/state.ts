/**
 * What the HomeKit accessories show, computed from the engine's status. Plain functions with no
 * HAP types, so every case is unit-testable; the accessory classes only copy these values out.
 */
import type { FilesystemStatus, StatusReport } from '../retention/engine.js';
import type { RetentionEvent } from '../store/store.js';

/** Sweep events that mean a limit cannot be met by deleting what may be deleted (rules §6.4). */
const UNSATISFIABLE_KINDS = new Set(['quota_unsatisfiable', 'cap_unsatisfiable']);

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

/** rules §6.4: the sensor is on while a disk is under its floor, and off again once a sweep (or anything) brought it back. */
export const isUnderFloor = (fs: FilesystemStatus): boolean =>
  fs.freeBytes !== null && fs.floorBytes !== null && fs.freeBytes < fs.floorBytes;

/**
 * rules §6.5: the battery warns before the floor is reached, while free space is within 10 % above it
 * (and after a floor sweep, which frees just enough to reach the floor). Compared as free × 10 <
 * floor × 11 so that floating point (50e9 × 1.1 = 55000000000.00001) cannot move the boundary.
 */
const isUnderMargin = (fs: FilesystemStatus): boolean =>
  fs.freeBytes !== null && fs.floorBytes !== null && fs.freeBytes * 10 < fs.floorBytes * 11;

export function freePercent(fs: FilesystemStatus): number | null {
  if (fs.freeBytes === null || fs.totalBytes === null || fs.totalBytes <= 0) {
    return null;
  }
  return Math.max(0, Math.min(100, Math.round((fs.freeBytes / fs.totalBytes) * 100)));
}

/** The events of the last real (not dry-run) sweep; the store keeps its report as stored JSON. */
function lastSweepEvents(status: StatusReport): RetentionEvent[] {
  const report = status.lastSweep?.report as { events?: unknown } | null | undefined;
  return Array.isArray(report?.events) ? (report.events as RetentionEvent[]) : [];
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
  const reasons: string[] = [];
  for (const fs of status.filesystems.filter(isUnderFloor)) {
    reasons.push(`free space under the floor on the disk of ${fs.cameras.join(', ')}${fs.folder ? ` mounted at ${fs.folder}` : ''}`);
  }
  for (const event of lastSweepEvents(status).filter((e) => UNSATISFIABLE_KINDS.has(e.kind))) {
    reasons.push(event.camera ? `[${event.camera}] ${event.message}` : event.message);
  }
  // A folder found missing since the last scan is unavailable now (rules §3.1), not at the next sweep.
  const missingNow = new Set(status.filesystems.filter((fs) => fs.folderMissing).flatMap((fs) => fs.cameras));
  const unavailable = status.cameras.filter((camera) => !camera.available || missingNow.has(camera.name));
  for (const camera of unavailable) {
    const why = camera.available ? 'its folder is missing' : camera.unavailableReason;
    reasons.push(`camera ${camera.name} unavailable${why ? ` (${why})` : ''}`);
  }

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
