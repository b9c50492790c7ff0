/**
 * What is wrong right now, from the engine's status: a disk under (or near) its floor, a quota or cap
 * the last sweep could not meet, cameras unavailable. One list, so the HomeKit sensor (its reasons)
 * and the settings screen (its banner) can never disagree. Pure: no I/O, no Homebridge.
 */
import type { FilesystemStatus, StatusReport } from './engine.js';
import { formatBytes } from './format.js';
import type { RetentionEvent } from '../store/store.js';

/** Sweep events that mean a limit cannot be met by deleting what may be deleted (rules §6.4). */
const UNSATISFIABLE_KINDS = new Set(['quota_unsatisfiable', 'cap_unsatisfiable']);

export interface Problem {
  kind: 'floor' | 'near-floor' | 'unsatisfiable' | 'unavailable' | 'mount-missing';
  severity: 'warning' | 'error';
  /** For a person, in full sentences: the settings screen's banner. */
  message: string;
  /** One short phrase per cause, for the log (the HomeKit sensor's reasons). */
  reasons: string[];
  cameras: string[];
  /** The folder where several unavailable cameras' folders are missing: likely an unmounted disk. */
  mount?: string;
}

/** rules §6.4: the sensor is on while a disk is under its floor, and off again once a sweep (or anything) brought it back. */
export const isUnderFloor = (fs: FilesystemStatus): boolean =>
  fs.freeBytes !== null && fs.floorBytes !== null && fs.freeBytes < fs.floorBytes;

/**
 * rules §6.5: the battery (and the banner, as a warning) tells while free space is within 10 % above
 * the floor (also after a floor sweep, which frees just enough to reach it); the sensor does not.
 * Compared as free × 10 < floor × 11 so that floating point (50e9 × 1.1 = 55000000000.00001) cannot
 * move the boundary.
 */
export const isUnderMargin = (fs: FilesystemStatus): boolean =>
  fs.freeBytes !== null && fs.floorBytes !== null && fs.freeBytes * 10 < fs.floorBytes * 11;

/** The events of the last real (not dry-run) sweep; the store keeps its report as stored JSON. */
function lastSweepEvents(status: StatusReport): RetentionEvent[] {
  const report = status.lastSweep?.report as { events?: unknown } | null | undefined;
  return Array.isArray(report?.events) ? (report.events as RetentionEvent[]) : [];
}

const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;

function listOf(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function storageProblems(status: StatusReport): Problem[] {
  const problems: Problem[] = [];
  for (const fs of status.filesystems.filter(isUnderMargin)) {
    const under = isUnderFloor(fs);
    const disk = `the disk of ${fs.cameras.join(', ')}${fs.folder ? ` mounted at ${fs.folder}` : ''}`;
    problems.push({
      kind: under ? 'floor' : 'near-floor',
      severity: under ? 'error' : 'warning',
      message: under
        ? `The disk of ${listOf(fs.cameras)} has ${formatBytes(fs.freeBytes!)} free, less than the ${formatBytes(fs.floorBytes!)} it must keep free. Sweeps delete the oldest recordings that may go until there is room again.`
        : `The disk of ${listOf(fs.cameras)} has ${formatBytes(fs.freeBytes!)} free, close to the ${formatBytes(fs.floorBytes!)} it must keep free.`,
      // Only under the floor is the sensor on: the margin shows as the battery's low flag (rules §6.4, §6.5).
      reasons: under ? [`free space under the floor on ${disk}`] : [],
      cameras: fs.cameras,
    });
  }
  for (const event of lastSweepEvents(status).filter((e) => UNSATISFIABLE_KINDS.has(e.kind))) {
    problems.push({
      kind: 'unsatisfiable',
      severity: 'warning',
      message: sentence(event.camera ? `${event.camera}: ${event.message}` : event.message),
      reasons: [event.camera ? `[${event.camera}] ${event.message}` : event.message],
      cameras: event.camera ? [event.camera] : [],
    });
  }
  // A folder found missing since the last scan is unavailable now (rules §3.1), not at the next sweep.
  const missingNow = new Set(status.filesystems.filter((fs) => fs.folderMissing).flatMap((fs) => fs.cameras));
  const unavailable = status.cameras
    .filter((camera) => !camera.available || missingNow.has(camera.name))
    .map((camera) => (camera.available ? { ...camera, unavailableReason: 'its folder is missing' } : camera));
  const byMount = new Map<string, typeof unavailable>();
  for (const camera of unavailable) {
    const key = camera.missingBelow ?? `camera:${camera.name}`;
    byMount.set(key, [...(byMount.get(key) ?? []), camera]);
  }
  for (const [mount, cameras] of byMount) {
    const reasons = cameras.map(
      (camera) => `camera ${camera.name} unavailable${camera.unavailableReason ? ` (${camera.unavailableReason})` : ''}`,
    );
    const names = cameras.map((camera) => camera.name);
    if (cameras.length > 1) {
      problems.push({
        kind: 'mount-missing',
        severity: 'error',
        message: `${cameras.length} cameras under ${mount} are unavailable (${listOf(names)}): is the NAS or disk at ${mount} mounted? Nothing of theirs is deleted until their files are back.`,
        reasons,
        cameras: names,
        mount,
      });
    } else {
      const [camera] = cameras;
      problems.push({
        kind: 'unavailable',
        severity: 'error',
        message: `${camera!.name} is unavailable${camera!.unavailableReason ? `: ${camera!.unavailableReason}` : ''}. Nothing of it is deleted until its files are back.`,
        reasons,
        cameras: names,
      });
    }
  }
  return problems;
}
