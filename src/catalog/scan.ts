import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CameraConfig, RecordingClass } from '../config/types.js';
import type { CameraRow, FolderRow, IgnoredFiles, IndexedFile, Store } from '../store/store.js';
import { type Classifier, extensionOf, type FolderGroup, groupFolder, makeClassifier } from './classify.js';
import { type CameraLayout, cameraLayout } from './layout.js';
import { type FolderAhead, FOLDERS_AHEAD, ScanCalls } from './look-ahead.js';

export { SWITCH_HOLDER } from '../store/journal.js';
import { SWITCH_HOLDER } from '../store/journal.js';

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
  /** Every configured camera: a file that another camera whose folder meets this one's also matches is never this one's. */
  cameras?: CameraConfig[];
  /** The platform's time zone, for times in names when the camera names none. */
  timeZone?: string;
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
  /** Files this camera and another both match: kept out of both, never deleted (camera_overlap). */
  overlaps: CameraLayout['overlaps'];
  /** Recordings indexed now whose name gave no time under nameTime: their mtime was used. */
  nameTimeMisses: CameraLayout['nameTimeMisses'];
  /** The camera's files that are neither recordings nor companions, over its whole folder. */
  ignored?: IgnoredFiles;
  /**
   * Folders below the camera folder that cannot be listed (no permission: a `lost+found` at the root
   * of a disk, a folder of mode 000). Skipped with what is indexed below them kept, not counted as
   * gone; the rest of the camera is swept (rules §3.1).
   */
  unreadableFolders: string[];
  /**
   * The camera folder is on a network filesystem, or its calls took a network's round trip at some
   * time of the scan: the sweep's batches are larger.
   */
  overNetwork: boolean;
}

interface Walk {
  camera: CameraConfig;
  /** Every lstat, listing and access check of the scan goes through here (look-ahead.ts). */
  calls: ScanCalls;
  row: CameraRow;
  classifier: Classifier;
  layout: CameraLayout;
  scanStartedAt: number;
  /** A file written after this may still be being written (minAgeSeconds before the scan). */
  settledBefore: number;
  recentAfter: number;
  /** A set: a file can be seen gone both by its folder listing and by its own stat. */
  removedIds: Set<number>;
  /** Rows of files that are still there but now go with another recording (a new companion rule): not a loss. */
  regroupedIds: Set<number>;
  removedFolders: string[];
  folderMtimes: [number, number | null][];
  /** Folders whose identity (dev, ino) is new or changed: written with the removals. */
  folderIdentities: [number, number, number][];
  result: ScanResult;
}

/** A scan that found nothing yet: what a camera's scan starts from, and what one that never ran reports. */
export function emptyScanResult(camera: CameraRow): ScanResult {
  return {
    camera,
    available: true,
    added: 0,
    updated: 0,
    removed: 0,
    missing: 0,
    foldersRead: 0,
    foldersSkipped: 0,
    unreadableNames: [],
    overlaps: { count: 0 },
    nameTimeMisses: { count: 0 },
    unreadableFolders: [],
    overNetwork: false,
  };
}

/**
 * Brings one camera's rows in line with its folder (rules §3.1, reconcile). Folders whose mtime has
 * not moved since the last scan are not listed again; only their subfolders and their youngest
 * files are looked at, so a rescan of an unchanged tree costs one stat per folder, not per file.
 * Additions are written as they are found; removals wait until the whole camera is seen, because an
 * unmounted NAS must never read as an empty camera.
 *
 * This one makes its calls one after another; `scanCameraAhead` makes them together over a network.
 */
export function scanCamera(store: Store, camera: CameraConfig, options: ScanOptions): ScanResult {
  const steps = scanSteps(store, camera, options, false);
  let step = steps.next();
  while (!step.done) {
    step = steps.next();
  }
  return step.value;
}

/** The same scan, for a caller that can wait: over a network the next folders' calls are made together (look-ahead.ts). */
export async function scanCameraAhead(store: Store, camera: CameraConfig, options: ScanOptions): Promise<ScanResult> {
  const steps = scanSteps(store, camera, options, true);
  let step = steps.next();
  while (!step.done) {
    await step.value.calls.lookAhead(step.value.folders);
    step = steps.next();
  }
  return step.value;
}

/** A scan that may pause before the next folders, for their calls to be made ahead. */
type ScanSteps = Generator<{ calls: ScanCalls; folders: FolderAhead[] }, ScanResult, void>;

function* scanSteps(store: Store, camera: CameraConfig, options: ScanOptions, mayLookAhead: boolean): ScanSteps {
  const row = store.ensureCamera(camera.name, camera.indexKey);
  const now = Date.now();
  const result = emptyScanResult(row);

  const rootProblem = checkRoot(camera.path);
  if (rootProblem) {
    return markUnavailable(store, result, rootProblem, now);
  }
  const calls = new ScanCalls(camera.path, mayLookAhead);

  const walk: Walk = {
    camera,
    calls,
    row,
    classifier: makeClassifier(camera),
    layout: cameraLayout(camera, options.cameras ?? [camera], options.timeZone),
    scanStartedAt: now,
    settledBefore: now - options.minAgeMs,
    recentAfter: (row.lastScanAt ?? 0) - options.minAgeMs,
    removedIds: new Set(),
    regroupedIds: new Set(),
    removedFolders: [],
    folderMtimes: [],
    folderIdentities: [],
    result,
  };
  try {
    const root = store.ensureFolder(row.id, '', null);
    const stack: FolderRow[] = [root];
    while (stack.length > 0) {
      // Over a network the next folders are taken off the stack and their calls made together first;
      // otherwise the stack itself is walked, until its calls turn out to take round trips.
      const ahead = calls.ahead;
      const round = ahead ? stack.splice(-FOLDERS_AHEAD) : stack;
      if (ahead) {
        yield { calls, folders: round.map((folder) => ({ relPath: folder.relPath, willList: (stats) => !isUnchanged(folder, stats) })) };
      }
      const sameWay = () => ahead || !calls.ahead;
      while (round.length > 0 && sameWay()) {
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
              const folder = round.pop()!;
              stack.push(...visitFolder(store, walk, folder));
            } while (round.length > 0 && sameWay() && performance.now() < sliceEnd);
          } catch (error) {
            interruption = error;
          }
        });
        if (interruption) {
          throw interruption;
        }
      }
      calls.forget();
    }
    result.overNetwork = calls.overNetwork;
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
    store.deleteRecordings([...walk.removedIds, ...walk.regroupedIds]);
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
  result.overlaps = walk.layout.overlaps;
  result.nameTimeMisses = walk.layout.nameTimeMisses;
  result.ignored = store.ignoredFiles(row.id);
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
    stats = walk.calls.lstat(absolute);
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
  if (folder.relPath !== '' && !canList(walk, absolute)) {
    return skipUnreadable(walk, folder);
  }
  // Another folder at the same path (a copy moved in, a disk mounted there) is read afresh, whatever its mtime.
  if (!isSameFolder(folder, stats)) {
    walk.folderIdentities.push([folder.id, stats.dev, stats.ino]);
  }
  if (isUnchanged(folder, stats)) {
    walk.result.foldersSkipped++;
    refreshRecentFiles(store, walk, folder);
    return store.childFolders(folder.id);
  }

  try {
    if (walk.layout.isRecordingFolder(folder.relPath)) {
      return visitRecordingFolder(store, walk, folder, stats);
    }
    return readFolder(store, walk, folder, absolute, stats);
  } catch (error) {
    if (folder.relPath === '' || !isNoPermission(error)) {
      throw error;
    }
    return skipUnreadable(walk, folder);
  }
}

function isSameFolder(folder: FolderRow, stats: Stats): boolean {
  return folder.dev === stats.dev && folder.ino === stats.ino;
}

/** The folder the last scan listed, with the same mtime: not listed again. */
function isUnchanged(folder: FolderRow, stats: Stats): boolean {
  return isSameFolder(folder, stats) && folder.mtimeMs !== null && folder.mtimeMs === stats.mtimeMs;
}

/** No permission to list a folder or to look at what is in it (the process's user, not a failing disk). */
function isNoPermission(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function canList(walk: Walk, path: string): boolean {
  try {
    walk.calls.checkListable(path);
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
  const entries = walk.calls.readdir(absolute);
  walk.result.foldersRead++;
  const fileNames: string[] = [];
  const folderNames = new Set<string>();
  for (const entry of entries) {
    if (entry.name.startsWith('.')) {
      continue;
    }
    if (entry.name.includes(REPLACEMENT_CHARACTER) && !exists(walk, join(absolute, entry.name))) {
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
  const overlapsBefore = walk.layout.overlaps.count;
  const ownNames = claimFiles(store, walk, folder, fileNames);
  // A folder holding files two cameras match is read again by every scan, so that every sweep reports them.
  const readAgain = walk.layout.overlaps.count > overlapsBefore;

  const indexed = new Map(store.filesInFolder(folder.id).map((file) => [file.relPath, file]));
  const group = groupFolder(ownNames, walk.classifier, walk.camera.extensions, walk.layout.companions);
  keepHeldRowsApart(folder, indexed, group);
  for (const [name, sidecars] of group.recordings) {
    const relPath = childPath(folder.relPath, name);
    indexFile(store, walk, folder, relPath, [...sidecars, ...walk.layout.companionsBelow(name)], indexed.get(relPath));
    indexed.delete(relPath);
  }
  noteIgnored(store, walk, folder, ownNames, group);
  // A row whose file is still listed went out of use, not missing: it is now a sidecar or companion, or no longer
  // this camera's (match). Only files really gone count toward "gone at once" (rules §3.1).
  const stillThere = new Set(fileNames.map((name) => childPath(folder.relPath, name)));
  for (const vanished of indexed.values()) {
    (stillThere.has(vanished.relPath) ? walk.regroupedIds : walk.removedIds).add(vanished.id);
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
  walk.folderMtimes.push([folder.id, readAgain || stats.mtimeMs > walk.scanStartedAt - RACY_MTIME_MS ? null : stats.mtimeMs]);
  return children;
}

/** In a folder whose listing has not changed, a recorder may still be appending to its newest files. */
function refreshRecentFiles(store: Store, walk: Walk, folder: FolderRow): void {
  const recent = store.filesInFolder(folder.id, walk.recentAfter);
  if (recent.length === 0) {
    return;
  }
  for (const file of recent) {
    const name = file.relPath.slice(file.relPath.lastIndexOf('/') + 1);
    const below = walk.layout.companionsBelow(name).filter((companion) => !file.sidecars.includes(companion));
    indexFile(store, walk, folder, file.relPath, [...file.sidecars, ...below], file);
  }
}

function indexFile(store: Store, walk: Walk, folder: FolderRow, relPath: string, sidecars: string[], known: IndexedFile | undefined): void {
  const absolute = join(walk.camera.path, relPath);
  let stats: Stats;
  try {
    stats = walk.calls.lstat(absolute);
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
  // A folder that is one recording ends with its newest file (ZoneMinder writes frames until the event ends).
  const wholeFolder = walk.layout.isRecordingFolder(folder.relPath);
  let newest = stats.mtimeMs;
  const presentSidecars: string[] = [];
  for (const sidecar of sidecars) {
    try {
      const sidecarStats = walk.calls.lstat(join(folderPath, sidecar));
      if (sidecarStats.isFile()) {
        size += sidecarStats.size;
        presentSidecars.push(sidecar);
        newest = wholeFolder ? Math.max(newest, sidecarStats.mtimeMs) : newest;
      }
    } catch {
      // A sidecar that vanished between listing and stat is simply not there.
    }
  }
  // A file still being written (a sync downloading it) must count as in progress whatever its name says: until its
  // mtime has settled it ends at its mtime, and as a recent file it is looked at again by the next scan.
  const fromName = newest > walk.settledBefore ? undefined : walk.layout.timeFromName?.(relPath);
  const endTime = fromName ?? newest;
  if (
    known &&
    known.fileSize === stats.size &&
    known.fileMtime === stats.mtimeMs &&
    known.endTime === endTime &&
    known.dev === stats.dev &&
    known.ino === stats.ino &&
    known.size === size &&
    sameList(known.sidecars, presentSidecars)
  ) {
    return;
  }
  if (walk.layout.timeFromName && fromName === undefined && newest <= walk.settledBefore) {
    walk.layout.nameTimeMisses.count++;
    walk.layout.nameTimeMisses.example ??= relPath;
  }
  const cls = classify(walk.classifier, relPath, folderPath, presentSidecars);
  if (known) {
    store.updateRecordingFile(known.id, {
      size,
      fileSize: stats.size,
      endTime,
      fileMtime: stats.mtimeMs,
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
      endTime,
      fileMtime: stats.mtimeMs,
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
function exists(walk: Walk, path: string): boolean {
  try {
    walk.calls.lstat(path);
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

// ---------------------------------------------------------------------------------------------
// Layout rules of issue 12 (rules §1): the camera's own files, companions below a recording's
// folder, folders that are one recording, and files the camera ignores.
// ---------------------------------------------------------------------------------------------

/**
 * The names of one folder that are this camera's to index: those its `match` selects and no other
 * camera matches, less the companions of recordings in a folder above (thumbs/x.jpg of x.mp4), which
 * go with their recording and never make a recording of their own.
 */
function claimFiles(store: Store, walk: Walk, folder: FolderRow, names: string[]): string[] {
  const own = names.filter((name) => walk.layout.owns(childPath(folder.relPath, name)));
  const ownerFiles = new Map<string, { folder: FolderRow; files: IndexedFile[] } | undefined>();
  return own.filter((name) => {
    for (const candidate of walk.layout.companionOf(folder.relPath, name)) {
      if (!ownerFiles.has(candidate.ownerFolder)) {
        const ownerFolder = store.folder(walk.row.id, candidate.ownerFolder);
        ownerFiles.set(candidate.ownerFolder, ownerFolder && { folder: ownerFolder, files: store.filesInFolder(ownerFolder.id) });
      }
      const owner = ownerFiles.get(candidate.ownerFolder);
      const file = owner?.files.find((f) => baseOf(f.relPath) === candidate.base);
      if (owner && file) {
        // Written after its recording was indexed (the recorder makes the thumbnail later): it joins the row now.
        if (!file.sidecars.includes(candidate.companion)) {
          indexFile(store, walk, owner.folder, file.relPath, [...file.sidecars, candidate.companion], file);
          file.sidecars = [...file.sidecars, candidate.companion];
        }
        return false;
      }
    }
    return true;
  });
}

/**
 * A file indexed as a recording of its own that the rules now make another's sidecar (an index from
 * before image thumbnails or companions, a new `companions` pattern) and that is held stays a
 * recording of its own: taken as a sidecar, it would go with the other recording, hold or no hold.
 */
function keepHeldRowsApart(folder: FolderRow, indexed: Map<string, IndexedFile>, group: FolderGroup): void {
  for (const [name, sidecars] of group.recordings) {
    const held = sidecars.filter((sidecar) => indexed.get(childPath(folder.relPath, sidecar))?.held);
    for (const sidecar of held) {
      sidecars.splice(sidecars.indexOf(sidecar), 1);
      group.recordings.set(sidecar, []);
    }
    if (held.length > 0) {
      group.recordings.set(name, sidecars);
    }
  }
}

/** A recording's name without its folder and extension: what `{base}` stands for. */
function baseOf(relPath: string): string {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? name : name.slice(0, dot);
}

/** Files of the camera in this folder that are neither recordings nor companions, kept on the folder's row. */
function noteIgnored(store: Store, walk: Walk, folder: FolderRow, names: string[], group: FolderGroup | undefined): void {
  const used = new Set<string>();
  for (const [name, sidecars] of group?.recordings ?? []) {
    used.add(name);
    sidecars.forEach((sidecar) => used.add(sidecar));
  }
  const ignored: IgnoredFiles = { count: 0, bytes: 0, extensions: {} };
  for (const name of names) {
    if (used.has(name)) {
      continue;
    }
    let size: number;
    try {
      size = walk.calls.lstat(join(walk.camera.path, folder.relPath, name)).size;
    } catch {
      continue; // Gone since the listing.
    }
    ignored.count++;
    ignored.bytes += size;
    const sum = (ignored.extensions[extensionOf(name)] ??= [0, 0]);
    sum[0]++;
    sum[1] += size;
  }
  store.setFolderIgnored(folder.id, ignored);
}

/**
 * A folder that is one recording (cameras[].recordingFolders: ZoneMinder's event folders): its main
 * file (the largest video, else the largest recording file) is the row, every other file below the
 * folder goes with it as a companion, and it ends with its newest file. Nothing below is visited on its own.
 */
function visitRecordingFolder(store: Store, walk: Walk, folder: FolderRow, stats: Stats): FolderRow[] {
  walk.result.foldersRead++;
  const files = filesBelow(walk, folder.relPath).filter((relName) => walk.layout.owns(childPath(folder.relPath, relName)));
  const main = mainFile(walk, folder.relPath, files);
  const indexed = new Map(store.filesInFolder(folder.id).map((file) => [file.relPath, file]));
  // Files that were recordings of their own before the folder was one recording: a held one keeps its own row
  // (its hold must keep it, so it does not go with the folder); the others join the folder's recording.
  const heldApart = new Set(files.filter((name) => name !== main && indexed.get(childPath(folder.relPath, name))?.held));
  if (main !== undefined) {
    const relPath = childPath(folder.relPath, main);
    indexFile(
      store,
      walk,
      folder,
      relPath,
      files.filter((name) => name !== main && !heldApart.has(name)),
      indexed.get(relPath),
    );
    indexed.delete(relPath);
  } else {
    noteIgnored(store, walk, folder, files, undefined);
  }
  for (const vanished of indexed.values()) {
    const name = vanished.relPath.slice(folder.relPath.length + 1);
    if (heldApart.has(name)) {
      continue;
    }
    (files.includes(name) ? walk.regroupedIds : walk.removedIds).add(vanished.id);
  }
  // Folders below it that an earlier scan indexed on their own (before it was a recording folder) now go with it.
  for (const child of store.childFolders(folder.id)) {
    forgetFolder(store, walk, child.relPath);
  }
  walk.folderMtimes.push([folder.id, stats.mtimeMs > walk.scanStartedAt - RACY_MTIME_MS ? null : stats.mtimeMs]);
  return [];
}

/** Every plain file below a folder, as paths relative to it; links are never followed, hidden names skipped. */
function filesBelow(walk: Walk, folderRelPath: string): string[] {
  const found: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const below = pending.pop()!;
    const absolute = join(walk.camera.path, folderRelPath, below);
    for (const entry of walk.calls.readdir(absolute)) {
      const relName = childPath(below, entry.name);
      if (entry.name.startsWith('.')) {
        continue;
      }
      if (entry.name.includes(REPLACEMENT_CHARACTER) && !exists(walk, join(absolute, entry.name))) {
        walk.result.unreadableNames.push(childPath(folderRelPath, relName));
      } else if (entry.isDirectory()) {
        pending.push(relName);
      } else if (entry.isFile()) {
        found.push(relName);
      }
    }
  }
  return found.sort();
}

function mainFile(walk: Walk, folderRelPath: string, files: string[]): string | undefined {
  // Only a file right in the folder: its companions are named relative to the main file's folder.
  const recordings = files.filter((name) => !name.includes('/') && walk.classifier.isRecordingName(name));
  const sizeOf = (name: string) => {
    try {
      return walk.calls.lstat(join(walk.camera.path, folderRelPath, name)).size;
    } catch {
      return -1;
    }
  };
  const isImage = (name: string) => ['jpg', 'jpeg', 'png', 'webp'].includes(extensionOf(name));
  const videos = recordings.filter((name) => !isImage(name));
  const pool = videos.length > 0 ? videos : recordings;
  let best: string | undefined;
  let bestSize = -1;
  for (const name of pool) {
    const size = sizeOf(name);
    if (size > bestSize) {
      best = name;
      bestSize = size;
    }
  }
  return best;
}
