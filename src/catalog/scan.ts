import { accessSync, constants, lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CameraConfig, RecordingClass } from '../config/types.js';
import type { CameraRow, FolderRow, IndexedFile, Store } from '../store/store.js';
import { type Classifier, groupFolder, makeClassifier } from './classify.js';

/** Who a hold made by a camera's protect switch belongs to (rules §5). */
export const SWITCH_HOLDER = 'switch';

/** A folder modified this close to the scan may change again within the same mtime tick: read it next time too. */
const RACY_MTIME_MS = 2000;
/** What Node puts in a file name for bytes that are not UTF-8. */
const REPLACEMENT_CHARACTER = '\uFFFD';
/** A scan holds the index's write lock for about this long at a time (the settings UI may be waiting to write). */
const WRITE_SLICE_MS = 100;
/** Sidecar JSON larger than this is not read for a trigger (it is metadata, not a recording). */
const MAX_SIDECAR_JSON_BYTES = 64 * 1024;

export interface ScanOptions {
  /** Files that ended within this long before the previous scan may still have been growing. */
  minAgeMs: number;
  /** A person confirmed that the missing files are really gone (rules §3.1). */
  acceptMissing?: boolean;
  /** Polled between folders: shutdown must not wait for a whole tree on a slow NAS. */
  shouldStop?: () => boolean;
}

/** Thrown when `shouldStop` asked a scan to end early; what it added is kept, nothing is removed. */
export class ScanStoppedError extends Error {
  constructor() {
    super('the scan was stopped');
  }
}

export interface ScanResult {
  camera: CameraRow;
  available: boolean;
  /** Why the camera is unavailable, in words for the log. */
  reason?: string;
  added: number;
  updated: number;
  removed: number;
  /** Recordings that vanished but were kept because the camera looks unavailable. */
  missing: number;
  foldersRead: number;
  foldersSkipped: number;
  /**
   * Files and folders that cannot be reached by name, so can be neither stat'ed nor deleted: names
   * that are not valid UTF-8 (an NVR writing Latin-1, say; Node shows them with U+FFFD in place of
   * the bad bytes), and paths longer than the system allows. They are kept and reported, never
   * silently left to fill the disk, and never make the rest of the camera unavailable.
   */
  unreadableNames: string[];
  /**
   * Folders below the camera folder that cannot be listed (no permission: a `lost+found` at the root
   * of a disk, a folder of mode 000). Skipped with what is indexed below them kept, not counted as
   * gone; the rest of the camera is swept (rules §3.1).
   */
  unreadableFolders: string[];
}

interface Walk {
  camera: CameraConfig;
  row: CameraRow;
  classifier: Classifier;
  scanStartedAt: number;
  recentAfter: number;
  /** A set: a file can be seen gone both by its folder listing and by its own stat. */
  removedIds: Set<number>;
  removedFolders: string[];
  folderMtimes: [number, number | null][];
  /** Folders whose identity (dev, ino) is new or changed: written with the removals. */
  folderIdentities: [number, number, number][];
  result: ScanResult;
}

/**
 * Brings one camera's rows in line with its folder (rules §3.1, reconcile). Folders whose mtime has
 * not moved since the last scan are not listed again; only their subfolders and their youngest
 * files are looked at, so a rescan of an unchanged tree costs one stat per folder, not per file.
 * Additions are written as they are found; removals wait until the whole camera is seen, because an
 * unmounted NAS must never read as an empty camera.
 */
export function scanCamera(store: Store, camera: CameraConfig, options: ScanOptions): ScanResult {
  const row = store.ensureCamera(camera.name, camera.path);
  const now = Date.now();
  const result: ScanResult = {
    camera: row,
    available: true,
    added: 0,
    updated: 0,
    removed: 0,
    missing: 0,
    foldersRead: 0,
    foldersSkipped: 0,
    unreadableNames: [],
    unreadableFolders: [],
  };

  const rootProblem = checkRoot(camera.path);
  if (rootProblem) {
    return markUnavailable(store, result, rootProblem, now);
  }

  const walk: Walk = {
    camera,
    row,
    classifier: makeClassifier(camera),
    scanStartedAt: now,
    recentAfter: (row.lastScanAt ?? 0) - options.minAgeMs,
    removedIds: new Set(),
    removedFolders: [],
    folderMtimes: [],
    folderIdentities: [],
    result,
  };
  try {
    const root = store.ensureFolder(row.id, '', null);
    const stack: FolderRow[] = [root];
    while (stack.length > 0) {
      // Folders are visited in transactions of about WRITE_SLICE_MS: one commit per folder cost more
      // than the inserts. What a slice found is committed even when it ends in an error or a stop.
      let interruption: unknown;
      store.transaction(() => {
        const sliceEnd = performance.now() + WRITE_SLICE_MS;
        try {
          do {
            if (options.shouldStop?.()) {
              throw new ScanStoppedError();
            }
            const folder = stack.pop()!;
            stack.push(...visitFolder(store, walk, folder));
          } while (stack.length > 0 && performance.now() < sliceEnd);
        } catch (error) {
          interruption = error;
        }
      });
      if (interruption) {
        throw interruption;
      }
    }
  } catch (error) {
    if (error instanceof ScanStoppedError) {
      throw error;
    }
    // A folder that stops answering halfway (the NAS went away) must not turn into "everything is gone".
    return markUnavailable(store, result, `the folder could not be read: ${(error as Error).message}`, now);
  }

  // Files that a sweep was deleting when it stopped are meant to be gone: they are not a loss (rules §3.8).
  const beingDeleted = new Set(
    store
      .interruptedDeletes()
      .filter((recording) => recording.cameraId === row.id)
      .map((recording) => recording.id),
  );
  const indexedBefore = row.recordingCount - beingDeleted.size;
  const gone = [...walk.removedIds].filter((id) => !beingDeleted.has(id)).length;
  if (gone > 0 && gone > indexedBefore / 2 && !options.acceptMissing) {
    result.missing = gone;
    return markUnavailable(store, result, `${gone} of ${indexedBefore} indexed recordings are gone at once (unmounted disk?)`, now);
  }

  store.transaction(() => {
    store.deleteRecordings([...walk.removedIds]);
    for (const relPath of walk.removedFolders) {
      store.deleteFolderTree(row.id, relPath);
    }
    for (const [folderId, mtime] of walk.folderMtimes) {
      store.setFolderMtime(folderId, mtime);
    }
    for (const [folderId, dev, ino] of walk.folderIdentities) {
      store.setFolderIdentity(folderId, dev, ino);
    }
    store.setCameraAvailability(row.id, true, null, now);
    store.setLastScan(row.id, now);
  });
  result.removed = walk.removedIds.size;
  result.camera = store.camera(row.id);
  return result;
}

function checkRoot(path: string): string | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'the folder is missing' : `the folder cannot be read (${code})`;
  }
  if (stats.isSymbolicLink()) {
    return 'the folder is a symbolic link (links are never followed)';
  }
  if (!stats.isDirectory()) {
    return 'the path is not a folder';
  }
  try {
    readdirSync(path);
  } catch (error) {
    return `the folder cannot be read (${(error as NodeJS.ErrnoException).code})`;
  }
  return undefined;
}

function markUnavailable(store: Store, result: ScanResult, reason: string, now: number): ScanResult {
  store.setCameraAvailability(result.camera.id, false, reason, now);
  result.available = false;
  result.reason = reason;
  result.camera = store.camera(result.camera.id);
  return result;
}

/** Reads or skips one folder and returns its subfolders to visit. */
function visitFolder(store: Store, walk: Walk, folder: FolderRow): FolderRow[] {
  const absolute = join(walk.camera.path, folder.relPath);
  let stats: Stats;
  try {
    stats = lstatSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && folder.relPath !== '') {
      forgetFolder(store, walk, folder.relPath);
      return [];
    }
    if (isTooLong(error)) {
      walk.result.unreadableNames.push(folder.relPath);
      return [];
    }
    throw error;
  }
  if (!stats.isDirectory()) {
    // Replaced by a file or a link: what was indexed below it is gone from the camera folder.
    forgetFolder(store, walk, folder.relPath);
    return [];
  }

  // A chmod leaves the mtime alone: a folder that cannot be listed any more must be noticed even unchanged.
  if (folder.relPath !== '' && !canList(absolute)) {
    return skipUnreadable(walk, folder);
  }
  // Another folder at the same path (a copy moved in, a disk mounted there) is read afresh, whatever its mtime.
  const sameFolder = folder.dev === stats.dev && folder.ino === stats.ino;
  if (!sameFolder) {
    walk.folderIdentities.push([folder.id, stats.dev, stats.ino]);
  }
  if (sameFolder && folder.mtimeMs !== null && folder.mtimeMs === stats.mtimeMs) {
    walk.result.foldersSkipped++;
    refreshRecentFiles(store, walk, folder);
    return store.childFolders(folder.id);
  }

  try {
    return readFolder(store, walk, folder, absolute, stats);
  } catch (error) {
    if (folder.relPath === '' || !isNoPermission(error)) {
      throw error;
    }
    return skipUnreadable(walk, folder);
  }
}

/** No permission to list a folder or to look at what is in it (the process's user, not a failing disk). */
function isNoPermission(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function canList(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.X_OK);
    return true;
  } catch (error) {
    if (isNoPermission(error)) {
      return false;
    }
    throw error;
  }
}

/** What is indexed below stays indexed and is not counted as gone; the folder is looked at again next scan. */
function skipUnreadable(walk: Walk, folder: FolderRow): FolderRow[] {
  walk.result.unreadableFolders.push(folder.relPath);
  walk.folderMtimes.push([folder.id, null]);
  return [];
}

function readFolder(store: Store, walk: Walk, folder: FolderRow, absolute: string, stats: Stats): FolderRow[] {
  const entries = readdirSync(absolute, { withFileTypes: true });
  walk.result.foldersRead++;
  const fileNames: string[] = [];
  const folderNames = new Set<string>();
  for (const entry of entries) {
    if (entry.name.startsWith('.')) {
      continue;
    }
    if (entry.name.includes(REPLACEMENT_CHARACTER) && !exists(join(absolute, entry.name))) {
      walk.result.unreadableNames.push(childPath(folder.relPath, entry.name));
      continue;
    }
    // Links are never followed, special files are never recordings.
    if (entry.isDirectory()) {
      folderNames.add(entry.name);
    } else if (entry.isFile()) {
      fileNames.push(entry.name);
    }
  }
  fileNames.sort();

  const indexed = new Map(store.filesInFolder(folder.id).map((file) => [file.relPath, file]));
  const group = groupFolder(fileNames, walk.classifier, walk.camera.extensions);
  for (const [name, sidecars] of group.recordings) {
    const relPath = childPath(folder.relPath, name);
    indexFile(store, walk, folder, relPath, sidecars, indexed.get(relPath));
    indexed.delete(relPath);
  }
  for (const vanished of indexed.values()) {
    walk.removedIds.add(vanished.id);
  }

  const children: FolderRow[] = [];
  const knownChildren = store.childFolders(folder.id);
  for (const child of knownChildren) {
    const name = child.relPath.slice(child.relPath.lastIndexOf('/') + 1);
    if (folderNames.delete(name)) {
      children.push(child);
    } else {
      forgetFolder(store, walk, child.relPath);
    }
  }
  for (const name of folderNames) {
    children.push(store.ensureFolder(walk.row.id, childPath(folder.relPath, name), folder.id));
  }
  walk.folderMtimes.push([folder.id, stats.mtimeMs > walk.scanStartedAt - RACY_MTIME_MS ? null : stats.mtimeMs]);
  return children;
}

/** In a folder whose listing has not changed, a recorder may still be appending to its newest files. */
function refreshRecentFiles(store: Store, walk: Walk, folder: FolderRow): void {
  const recent = store.filesInFolder(folder.id, walk.recentAfter);
  if (recent.length === 0) {
    return;
  }
  for (const file of recent) {
    indexFile(store, walk, folder, file.relPath, file.sidecars, file);
  }
}

function indexFile(store: Store, walk: Walk, folder: FolderRow, relPath: string, sidecars: string[], known: IndexedFile | undefined): void {
  const absolute = join(walk.camera.path, relPath);
  let stats: Stats;
  try {
    stats = lstatSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (known) {
        walk.removedIds.add(known.id);
      }
      return;
    }
    if (isTooLong(error)) {
      walk.result.unreadableNames.push(relPath);
      return;
    }
    throw error;
  }
  if (!stats.isFile()) {
    return;
  }
  const folderPath = join(walk.camera.path, folder.relPath);
  let size = stats.size;
  const presentSidecars: string[] = [];
  for (const sidecar of sidecars) {
    try {
      const sidecarStats = lstatSync(join(folderPath, sidecar));
      if (sidecarStats.isFile()) {
        size += sidecarStats.size;
        presentSidecars.push(sidecar);
      }
    } catch {
      // A sidecar that vanished between listing and stat is simply not there.
    }
  }
  if (
    known &&
    known.fileSize === stats.size &&
    known.endTime === stats.mtimeMs &&
    known.dev === stats.dev &&
    known.ino === stats.ino &&
    known.size === size &&
    sameList(known.sidecars, presentSidecars)
  ) {
    return;
  }
  const cls = classify(walk.classifier, relPath, folderPath, presentSidecars);
  if (known) {
    store.updateRecordingFile(known.id, {
      size,
      fileSize: stats.size,
      endTime: stats.mtimeMs,
      cls,
      sidecars: presentSidecars,
      dev: stats.dev,
      ino: stats.ino,
    });
    walk.result.updated++;
  } else {
    const switchOn = walk.row.protectSwitchOn;
    store.insertRecording({
      cameraId: walk.row.id,
      folderId: folder.id,
      relPath,
      size,
      fileSize: stats.size,
      endTime: stats.mtimeMs,
      cls,
      sidecars: presentSidecars,
      protectedBy: switchOn ? SWITCH_HOLDER : null,
      protectedAt: switchOn ? walk.scanStartedAt : null,
      dev: stats.dev,
      ino: stats.ino,
    });
    walk.result.added++;
  }
}

function classify(classifier: Classifier, relPath: string, folderPath: string, sidecars: string[]): RecordingClass {
  const json = sidecars.find((name) => name.toLowerCase().endsWith('.json'));
  return classifier.classOf(relPath, json ? readTrigger(join(folderPath, json)) : undefined);
}

function readTrigger(path: string): string | undefined {
  try {
    if (lstatSync(path).size > MAX_SIDECAR_JSON_BYTES) {
      return undefined;
    }
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    const trigger = (parsed as { trigger?: unknown } | null)?.trigger;
    return typeof trigger === 'string' ? trigger : undefined;
  } catch {
    return undefined;
  }
}

function forgetFolder(store: Store, walk: Walk, relPath: string): void {
  for (const id of store.recordingIdsBelow(walk.row.id, relPath)) {
    walk.removedIds.add(id);
  }
  walk.removedFolders.push(relPath);
}

/** A path past the system's limit: that entry cannot be used, the rest of the camera still can. */
function isTooLong(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENAMETOOLONG';
}

/** False only when the name does not lead to anything: a name that Node could not decode. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
