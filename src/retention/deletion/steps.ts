/**
 * Deleting one recording, written as the file-system calls it takes (rules §3.7): a generator
 * yields each call, whoever runs it (in place or overlapped) makes the call and sends back its
 * answer. So the rules of one deletion are written once, whatever way the files go.
 *
 * Everything that decides whether the file may go is asked in the same steps as its unlink, right
 * before it: the folder is the pinned one (folder-pins.ts), the file is still the very file the scan
 * saw (device, inode, mtime), and no hold or lease came since the claim. Run overlapped, these checks
 * are in flight with the other files' unlinks; nothing waits for a whole batch in between.
 */
import type { CameraConfig } from '../../config/types.js';
import type { Recording } from '../../store/store.js';
import { type FolderPin, nameOf } from './folder-pins.js';

/** One file-system call that deleting a recording needs, and its answer. */
export interface FileCall {
  op: 'lstat' | 'unlink' | 'count entries';
  path: string;
}
export interface FileIdentity {
  dev: number;
  ino: number;
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}
export interface CallAnswer {
  stats?: FileIdentity;
  entries?: number;
  error?: NodeJS.ErrnoException;
}

/** What became of one recording's file. Every outcome but `deleted` keeps the file and its row. */
export type FileOutcome =
  /** The file and its sidecars are gone (or the file already was). */
  | { kind: 'deleted' }
  /** It could not or must not be deleted: an unlink error, a folder that is a link now. */
  | { kind: 'failed'; error: string }
  /** Not the file that was indexed any more (still recording, rewritten in place, replaced): not what was planned. */
  | { kind: 'stale' }
  /** Protected, kept or leased since its row was claimed: the hold wins. */
  | { kind: 'held' }
  /** Its camera folder is not the one the scan saw: the camera is unavailable until the next scan. */
  | { kind: 'camera lost'; reason: string }
  /** In a folder this process may not open (reported by the scan as unreadable_folder): left alone. */
  | { kind: 'unreadable' }
  /** Not tried: the sweep was asked to stop. */
  | { kind: 'untried' };

export const DELETED: FileOutcome = Object.freeze({ kind: 'deleted' });
export const STALE: FileOutcome = Object.freeze({ kind: 'stale' });
export const HELD: FileOutcome = Object.freeze({ kind: 'held' });
export const UNTRIED: FileOutcome = Object.freeze({ kind: 'untried' });

export type Steps<T> = Generator<FileCall, T, CallAnswer>;

/** One claimed recording to delete, with the folder it is pinned in. */
export interface DeletionJob {
  camera: CameraConfig;
  recording: Recording;
  pin: FolderPin;
  /** Asked right before the unlink: false when a hold or lease came since the claim. */
  stillDeletable: () => boolean;
}

export function* deletionSteps(job: DeletionJob): Steps<FileOutcome> {
  const { camera, recording, pin } = job;
  switch (pin.kind) {
    case 'camera lost':
      return { kind: 'camera lost', reason: pin.reason };
    case 'refused':
      return { kind: 'failed', error: pin.error };
    case 'unreadable':
      return { kind: 'unreadable' };
    case 'gone':
      // Its folder went with the files in it: already deleted, unless the whole camera folder is away.
      return (yield* cameraFolderVanished(camera)) ?? DELETED;
    case 'pinned':
      break;
  }
  // Without pinning by fd, the folders are compared here, as close to the unlink as a path allows.
  for (const folder of pin.recheck) {
    const seen = yield { op: 'lstat', path: folder.path };
    if (!seen.stats || seen.stats.dev !== folder.dev || seen.stats.ino !== folder.ino) {
      return { kind: 'failed', error: `the folder ${folder.path} changed during the sweep (a link?); not deleted` };
    }
  }
  const path = `${pin.dir}/${nameOf(recording.relPath)}`;
  const current = yield { op: 'lstat', path };
  if (current.error) {
    if (current.error.code !== 'ENOENT') {
      return { kind: 'failed', error: `${current.error.code ?? 'error'}: ${current.error.message}` };
    }
    const vanished = yield* cameraFolderVanished(camera);
    if (vanished) {
      return vanished;
    }
  } else if (!isTheIndexedFile(current.stats!, recording)) {
    // Rewritten in place (a ring recorder reusing names), replaced, or still recording: its mtime is
    // no longer the one the plan judged, so it is not what was planned (rules §1, in progress).
    return STALE;
  } else if (!job.stillDeletable()) {
    return HELD;
  } else {
    const removal = yield { op: 'unlink', path };
    const code = removal.error?.code;
    if (removal.error && code !== 'ENOENT') {
      return { kind: 'failed', error: `${code ?? 'error'}: ${removal.error.message}` };
    }
  }
  for (const sidecar of recording.sidecars) {
    // A companion below the recording's folder (thumbs/x.jpg, a file of an event folder) is reached
    // through folders the pin does not hold: each must still be a plain folder, not a link, right
    // before the unlink; otherwise the companion stays.
    if (!(yield* plainFoldersOnTheWay(pin.dir, sidecar))) {
      continue;
    }
    // A sidecar that cannot go is left behind: the recording is gone, so its row goes, and the
    // sidecar is found again as a plain file.
    yield { op: 'unlink', path: `${pin.dir}/${sidecar}` };
  }
  return DELETED;
}

/** Whether every folder between `dir` and the file at `relName` below it is a folder, not a link. */
function* plainFoldersOnTheWay(dir: string, relName: string): Steps<boolean> {
  const parts = relName.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const folder = yield { op: 'lstat', path: `${dir}/${parts.slice(0, i).join('/')}` };
    if (!folder.stats?.isDirectory) {
      return false;
    }
  }
  return true;
}

/** The same file (device and inode, when the scan recorded them) with the same mtime, and still a plain file. */
function isTheIndexedFile(stats: FileIdentity, recording: Recording): boolean {
  // The file's own mtime: the end time may come from its name or, for a folder that is one recording, its newest file.
  if (!stats.isFile || stats.mtimeMs !== (recording.fileMtime ?? recording.endTime)) {
    return false;
  }
  return recording.ino === undefined || recording.ino === null || (stats.ino === recording.ino && stats.dev === recording.dev);
}

/**
 * A file that is not there is already deleted, unless the whole camera folder went away under the
 * sweep (a NAS unmounted mid-sweep leaves an empty mount point): then the row stays, and the next
 * scan tells an unavailable camera from deleted files.
 */
function* cameraFolderVanished(camera: CameraConfig): Steps<FileOutcome | undefined> {
  const listing = yield { op: 'count entries', path: camera.path };
  return listing.error || listing.entries === 0
    ? { kind: 'failed', error: 'the camera folder is gone or empty (unmounted?); kept for the next scan to tell' }
    : undefined;
}
