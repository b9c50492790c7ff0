/**
 * The sweep's first step, reconcile (rules §3.1): every camera folder is scanned into the index, and
 * what the scan found that a person must know is raised: a camera unavailable or available again,
 * names that cannot be used, clocks that run ahead.
 */
import { join } from 'node:path';
import { emptyScanResult, scanCameraAhead, type ScanResult } from '../catalog/scan.js';
import { describeOverlap, identityOverlaps } from '../config/folder-identity.js';
import { pathsMeet } from '../config/schema.js';
import type { CameraConfig } from '../config/types.js';
import { GB, MINUTE_MS, SECOND_MS } from '../config/units.js';
import type { HoldsSync } from '../store/store.js';
import type { EngineContext, Raise } from './context.js';
import { formatBytes, plural } from './format.js';

/**
 * A file dated this far in the future is not a recording in progress but a clock that runs ahead. It is
 * kept all the same (its age is unknown), and the user is told: kept silently, such files would fill the disk.
 */
const CLOCK_AHEAD_TOLERANCE_MS = 10 * MINUTE_MS;

export async function reconcile(
  ctx: EngineContext,
  options: { acceptMissing?: string[]; shouldStop?: () => boolean },
  raise: Raise,
): Promise<ScanResult[]> {
  const { store, config, log } = ctx;
  tellHoldsSync(store.syncHoldsFromJournal(), raise);
  const overlapping = overlapsByIdentity(config.cameras);
  const scans: ScanResult[] = [];
  for (const [i, camera] of config.cameras.entries()) {
    const overlap = overlapping.get(i);
    if (overlap !== undefined) {
      scans.push(refuseOverlapping(ctx, camera, overlap, raise));
      continue;
    }
    const wasAvailable = store.cameraByPath(camera.indexKey)?.available ?? true;
    const scan = await scanCameraAhead(store, camera, {
      minAgeMs: config.minAgeSeconds * SECOND_MS,
      acceptMissing: options.acceptMissing?.includes(camera.name),
      shouldStop: options.shouldStop,
      cameras: config.cameras,
      timeZone: config.timezone,
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
        message: `${plural(ahead.count, 'recording is', 'recordings are')} dated in the future (up to ${new Date(ahead.latest!).toISOString()}): the clock of the camera or of the recording machine is ahead. They count as still being recorded, so no rule deletes them until that date; set the clock right`,
        count: ahead.count,
        latest: ahead.latest,
      });
    }
    raiseLayoutFindings(camera.name, scan, raise);
    log.debug(
      `[${camera.name}] scan: ${scan.added} new, ${scan.updated} changed, ${scan.removed} gone; ${scan.foldersRead} folders read, ${scan.foldersSkipped} unchanged${scan.overNetwork ? ' (over a network: calls made ahead, many at a time)' : ''}`,
    );
    scans.push(scan);
  }
  return scans;
}

/** Ignored files warn past either share: a missing extension (Blue Iris .bvr, Dahua .dav) must never be silent. */
const IGNORED_WARN_BYTES = GB;
const IGNORED_WARN_SHARE = 0.1;

/** What the layout rules found (rules §1): files two cameras match, names without a time, files the camera ignores. */
function raiseLayoutFindings(camera: string, scan: ScanResult, raise: Raise): void {
  const { overlaps, nameTimeMisses, ignored } = scan;
  if (overlaps.count > 0) {
    raise({
      kind: 'camera_overlap',
      camera,
      severity: 'warning',
      message: `${overlaps.count} files are matched by this camera and by "${overlaps.other}", so they belong to neither and are never deleted, e.g. ${overlaps.example}; make the cameras' "match" tell them apart`,
      count: overlaps.count,
      example: overlaps.example,
      other: overlaps.other,
    });
  }
  if (nameTimeMisses.count > 0) {
    raise({
      kind: 'name_time_missing',
      camera,
      severity: 'warning',
      message: `${nameTimeMisses.count} recordings have no time in their name that "nameTime" reads, so their file time is used instead, e.g. ${nameTimeMisses.example}`,
      count: nameTimeMisses.count,
      example: nameTimeMisses.example,
    });
  }
  const folderBytes = scan.camera.bytes + (ignored?.bytes ?? 0);
  if (ignored && ignored.count > 0 && (ignored.bytes > IGNORED_WARN_BYTES || ignored.bytes > IGNORED_WARN_SHARE * folderBytes)) {
    const top = Object.entries(ignored.extensions)
      .sort(([, a], [, b]) => b[1] - a[1])
      .slice(0, 3)
      .map(([extension, [count, bytes]]) => ({ extension: extension === '' ? '(none)' : extension, count, bytes }));
    raise({
      kind: 'ignored_files',
      camera,
      severity: 'warning',
      message: `${ignored.count} files (${formatBytes(ignored.bytes)}, ${Math.round((100 * ignored.bytes) / folderBytes)}% of the folder) are neither recordings nor companions, so no rule deletes them; most are ${top.map((t) => `.${t.extension} (${t.count})`).join(', ')}. If they are recordings, add their extension to "extensions" (or choose the camera's "recorder")`,
      count: ignored.count,
      bytes: ignored.bytes,
      extensions: top,
    });
  }
}

/** A path too long for the system is too long for a log line too: its start and its end say where it is. */
function shortened(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}…${path.slice(-100)}`;
}

/** What bringing the index's holds in line with the journal found (rules §10), for the user. */
export function tellHoldsSync(sync: HoldsSync, raise: Raise): void {
  if (sync.journalDamagedLines.length > 0) {
    const lines = sync.journalDamagedLines;
    raise({
      kind: 'journal_damaged',
      camera: null,
      severity: 'warning',
      message: `the holds journal had ${lines.length} unreadable lines (line ${lines.slice(0, 10).join(', ')}${lines.length > 10 ? ', ...' : ''}); it was rewritten from the index's holds and its readable lines`,
      lines: lines.slice(0, 100),
    });
  }
  if (sync.reappliedHolds > 0) {
    raise({
      kind: 'holds_restored',
      camera: null,
      severity: 'warning',
      message: `${sync.reappliedHolds} holds of the holds journal were missing from the index (another process's index, a folder back after a sweep); they hold again`,
      holds: sync.reappliedHolds,
    });
  }
}

/**
 * Mounts change while Homebridge runs: two camera folders that have become one directory, or one
 * inside the other, by identity (a bind mount made since start-up) are both left alone, as the config
 * check refuses both at start-up. Returns why, by camera index.
 */
function overlapsByIdentity(cameras: CameraConfig[]): Map<number, string> {
  const found = new Map<number, string>();
  for (const { a, b, overlap } of identityOverlaps(cameras.map((camera) => camera.path))) {
    const other = cameras[b]!;
    // Folders whose paths meet were judged by the config check (cameras with "match" may share one).
    if (!found.has(a) && !pathsMeet(cameras[a]!.path, other.path)) {
      found.set(a, `its folder must not ${describeOverlap(overlap, `camera "${other.name}" (${other.path})`)}`);
    }
  }
  return found;
}

function refuseOverlapping(ctx: EngineContext, camera: CameraConfig, why: string, raise: Raise): ScanResult {
  const { store } = ctx;
  const row = store.ensureCamera(camera.name, camera.indexKey);
  const reason = `${why}; nothing of it is deleted until the folders are apart again`;
  store.setCameraAvailability(row.id, false, reason, Date.now());
  raise({ kind: 'camera_overlap', camera: camera.name, severity: 'error', message: `camera unavailable: ${reason}`, reason });
  return { ...emptyScanResult(store.camera(row.id)), available: false, reason };
}
