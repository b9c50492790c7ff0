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
  /** Lowest free-space percentage among the measurable recordings filesystems; null when none is. */
  batteryLevel: number | null;
  lowBattery: boolean;
  /** The last sweep failed. */
  fault: boolean;
  /** Every camera folder is available. */
  active: boolean;
}

/**
 * rules §6.4: the sensor warns before the floor is reached, while free space is within 10 % above it.
 * Compared as free × 10 < floor × 11 so that floating point (50e9 × 1.1 = 55000000000.00001) cannot
 * move the boundary.
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
 */
export function storageState(status: StatusReport, sweepError: string | null = null): StorageState {
  const reasons: string[] = [];
  for (const fs of status.filesystems.filter(isUnderMargin)) {
    const under = fs.freeBytes! < fs.floorBytes! ? 'under' : 'within 10 % of';
    reasons.push(`free space ${under} the floor on the disk of ${fs.cameras.join(', ')}${fs.folder ? ` mounted at ${fs.folder}` : ''}`);
  }
  for (const event of lastSweepEvents(status).filter((e) => UNSATISFIABLE_KINDS.has(e.kind))) {
    reasons.push(event.camera ? `[${event.camera}] ${event.message}` : event.message);
  }
  const unavailable = status.cameras.filter((camera) => !camera.available);
  for (const camera of unavailable) {
    reasons.push(`camera ${camera.name} unavailable${camera.unavailableReason ? ` (${camera.unavailableReason})` : ''}`);
  }

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
