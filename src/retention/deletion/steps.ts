/**
 * Deleting one recording, written as the file-system calls it takes (rules §3.7): a generator
 * yields each call, whoever runs it (in place or overlapped) makes the call and sends back its
 * answer. So the rules of one deletion are written once, whatever way the files go.
 */
import { realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { CameraConfig } from '../../config/types.js';
import type { Recording } from '../../store/store.js';

/** One file-system call that deleting a recording needs, and its answer. */
export interface FileCall {
  op: 'lstat' | 'unlink' | 'count entries';
  path: string;
}
export interface CallAnswer {
  mtimeMs?: number;
  entries?: number;
  error?: NodeJS.ErrnoException;
}

/** What became of one recording's file. Every outcome but `deleted` keeps the file and its row. */
export type FileOutcome =
  /** The file and its sidecars are gone (or the file already was). */
  | { kind: 'deleted' }
  /** It could not or must not be deleted: an unlink error, a path that leads outside the camera. */
  | { kind: 'failed'; error: string }
  /** Written after it was indexed (still recording, or rewritten in place): not what was planned. */
  | { kind: 'stale' }
  /** Not tried: the sweep was asked to stop. */
  | { kind: 'untried' };

/** The check's answer for a recording whose unlinks may go ahead. */
export type CheckOutcome = FileOutcome | { kind: 'passed' };

export const DELETED: FileOutcome = Object.freeze({ kind: 'deleted' });
export const STALE: FileOutcome = Object.freeze({ kind: 'stale' });
export const UNTRIED: FileOutcome = Object.freeze({ kind: 'untried' });
export const PASSED: CheckOutcome = Object.freeze({ kind: 'passed' });

export type Steps<T> = Generator<FileCall, T, CallAnswer>;

/** First the check. `safe`: the recording's folder was found to be inside its camera folder. */
export function* checkSteps(camera: CameraConfig, recording: Recording, safe: boolean): Steps<CheckOutcome> {
  if (!safe) {
    return (
      (yield* cameraFolderVanished(camera)) ?? { kind: 'failed', error: 'the path leads outside the camera folder (a link?); not deleted' }
    );
  }
  // A folder whose listing did not change is not re-read by the scan, so a file rewritten in place
  // (a camera overwriting latest.jpg) can be newer than its row: it is not what was planned (rules §1, in progress).
  const current = yield { op: 'lstat', path: join(camera.path, recording.relPath) };
  // The file's own mtime: the end time may come from its name or, for a folder that is one recording, its newest file.
  if (current.mtimeMs !== undefined && current.mtimeMs !== (recording.fileMtime ?? recording.endTime)) {
    return STALE;
  }
  return PASSED;
}

/** Then, for a recording that passed its check, the unlinks: the file first, then its sidecars. */
export function* unlinkSteps(camera: CameraConfig, recording: Recording): Steps<FileOutcome> {
  const absolute = join(camera.path, recording.relPath);
  const removal = yield { op: 'unlink', path: absolute };
  const code = removal.error?.code;
  if (removal.error && code !== 'ENOENT') {
    return { kind: 'failed', error: `${code ?? 'error'}: ${removal.error.message}` };
  }
  if (removal.error) {
    const vanished = yield* cameraFolderVanished(camera);
    if (vanished) {
      return vanished;
    }
  }
  const folderPath = dirname(absolute);
  for (const sidecar of recording.sidecars) {
    // A sidecar that cannot go is left behind: the recording is gone, so its row goes, and the
    // sidecar is found again as a plain file.
    yield { op: 'unlink', path: join(folderPath, sidecar) };
  }
  return DELETED;
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

/** True when the folder of `relPath`, links resolved, is still the same folder inside the camera's. */
export function isInsideCamera(cameraPath: string, relPath: string): boolean {
  if (relPath.startsWith('/') || relPath.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    return false;
  }
  try {
    const root = realpathSync(cameraPath);
    const folder = dirname(relPath);
    const expected = folder === '.' ? root : join(root, folder);
    return realpathSync(join(cameraPath, folder)) === expected && (expected === root || expected.startsWith(root + sep));
  } catch {
    return false;
  }
}
