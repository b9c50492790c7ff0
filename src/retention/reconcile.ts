/**
 * The sweep's first step, reconcile (rules §3.1): every camera folder is scanned into the index, and
 * what the scan found that a person must know is raised: a camera unavailable or available again,
 * names that cannot be used, clocks that run ahead.
 */
import { join } from 'node:path';
import { scanCamera, type ScanResult } from '../catalog/scan.js';
import { MINUTE_MS, SECOND_MS } from '../config/units.js';
import type { EngineContext, Raise } from './context.js';

/**
 * A file dated this far in the future is not a recording in progress but a clock that runs ahead. It is
 * kept all the same (its age is unknown), and the user is told: kept silently, such files would fill the disk.
 */
const CLOCK_AHEAD_TOLERANCE_MS = 10 * MINUTE_MS;

export function reconcile(
  ctx: EngineContext,
  options: { acceptMissing?: string[]; shouldStop?: () => boolean },
  raise: Raise,
): ScanResult[] {
  const { store, config, log } = ctx;
  return config.cameras.map((camera) => {
    const wasAvailable = store.cameraByPath(camera.path)?.available ?? true;
    const scan = scanCamera(store, camera, {
      minAgeMs: config.minAgeSeconds * SECOND_MS,
      acceptMissing: options.acceptMissing?.includes(camera.name),
      shouldStop: options.shouldStop,
    });
    if (!scan.available) {
      raise({
        kind: 'camera_unavailable',
        camera: camera.name,
        severity: 'warning',
        message: `camera unavailable, nothing of it is deleted: ${scan.reason}. If the files are really gone, confirm with "nvr-retention scan --accept-missing '${camera.name}'"`,
        reason: scan.reason,
        missing: scan.missing,
      });
    } else if (!wasAvailable) {
      raise({ kind: 'camera_available', camera: camera.name, severity: 'info', message: 'camera available again' });
    }
    if (scan.unreadableNames.length > 0) {
      const names = scan.unreadableNames;
      raise({
        kind: 'unreadable_names',
        camera: camera.name,
        severity: 'warning',
        message: `${names.length} file or folder names cannot be used (not valid UTF-8, or a path longer than the system allows), so they are kept, not counted and never deleted; rename or move them: ${names.slice(0, 5).map(shortened).join(', ')}${names.length > 5 ? ', ...' : ''}`,
        count: names.length,
        names: names.slice(0, 100),
      });
    }
    for (const folder of scan.unreadableFolders) {
      const path = join(camera.path, folder);
      raise({
        kind: 'unreadable_folder',
        camera: camera.name,
        severity: 'warning',
        message: `the folder ${path} cannot be read (no permission?): it is skipped, what was indexed in it is kept, and the rest of the camera is swept`,
        path,
      });
    }
    const ahead = scan.available
      ? store.recordingsEndingAfter(scan.camera.id, Date.now() + CLOCK_AHEAD_TOLERANCE_MS)
      : { count: 0, latest: null };
    if (ahead.count > 0) {
      raise({
        kind: 'clock_ahead',
        camera: camera.name,
        severity: 'warning',
        message: `${ahead.count} recordings are dated in the future (up to ${new Date(ahead.latest!).toISOString()}): the clock of the camera or of the recording machine is ahead. They count as still being recorded, so no rule deletes them until that date; set the clock right`,
        count: ahead.count,
        latest: ahead.latest,
      });
    }
    log.debug(
      `[${camera.name}] scan: ${scan.added} new, ${scan.updated} changed, ${scan.removed} gone; ${scan.foldersRead} folders read, ${scan.foldersSkipped} unchanged`,
    );
    return scan;
  });
}

/** A path too long for the system is too long for a log line too: its start and its end say where it is. */
function shortened(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}…${path.slice(-100)}`;
}
