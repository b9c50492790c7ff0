/**
 * The folders a batch deletes in, pinned (rules §3.7). Each folder from the camera folder down is
 * opened without following a link (O_NOFOLLOW | O_DIRECTORY), and its identity (st_dev, st_ino) must
 * be the one the scan saw. Files are then reached through the open folder, `/proc/self/fd/N/name`,
 * which the kernel resolves to that very folder (as unlinkat would): a folder swapped for a link, or
 * the camera folder moved away and a link put in its place, cannot send an unlink anywhere else, for
 * as long as the batch runs. Where /proc/self/fd does not work (not Linux), the chain is compared by
 * lstat instead, and the deletion steps compare it again right before each unlink.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, type Stats } from 'node:fs';
import type { CameraConfig } from '../../config/types.js';
import type { Store } from '../../store/store.js';

/** A folder as the scan saw it, to be compared right before an unlink (the lstat way). */
export interface SeenFolder {
  path: string;
  dev: number;
  ino: number;
}

export type FolderPin =
  /** Files of the folder are at `${dir}/${name}`; `recheck` is compared before each unlink (empty when pinned by fd). */
  | { kind: 'pinned'; dir: string; recheck: SeenFolder[] }
  /** The folder is not there any more (its files went with it), the camera folder is. */
  | { kind: 'gone' }
  /** The camera folder itself is not the one the scan saw (a link now, another folder, gone): the camera is unavailable. */
  | { kind: 'camera lost'; reason: string }
  /** The folder cannot be opened for want of permission: its files stay, as the scan's unreadable_folder said. */
  | { kind: 'unreadable' }
  /** The folder cannot be trusted (a link now, another folder, not identified by a scan yet): its files stay. */
  | { kind: 'refused'; error: string };

const OPEN_FOLDER = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FD_FOLDER = '/proc/self/fd';

let fdPathsWork: boolean | undefined;

/** Whether `/proc/self/fd/N/name` reaches `name` inside the folder open as N (Linux with /proc mounted). */
function canPinByFd(): boolean {
  if (fdPathsWork === undefined) {
    let fd: number | undefined;
    try {
      fd = openSync('/', OPEN_FOLDER);
      fdPathsWork = lstatSync(`${FD_FOLDER}/${fd}/.`).ino === fstatSync(fd).ino;
    } catch {
      fdPathsWork = false;
    } finally {
      if (fd !== undefined) {
        closeSync(fd);
      }
    }
  }
  return fdPathsWork;
}

export class FolderPins {
  private readonly pins = new Map<string, FolderPin>();
  private readonly fds: number[] = [];
  private readonly byFd: boolean;

  constructor(
    private readonly store: Store,
    options: { byFd?: boolean } = {},
  ) {
    this.byFd = options.byFd ?? canPinByFd();
  }

  /** The pin of a camera's folder ('' is the camera folder), opened once per batch. */
  pin(camera: CameraConfig, cameraId: number, folder: string): FolderPin {
    const key = `${cameraId}\0${folder}`;
    let pin = this.pins.get(key);
    if (!pin) {
      pin = this.open(camera, cameraId, folder);
      this.pins.set(key, pin);
    }
    return pin;
  }

  /** Closes every folder the batch opened; the batch's unlinks are all done. */
  close(): void {
    for (const fd of this.fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Already closed: nothing was left open.
      }
    }
  }

  private open(camera: CameraConfig, cameraId: number, folder: string): FolderPin {
    const seen = this.store.folder(cameraId, folder);
    if (folder === '') {
      return this.openRoot(camera, seen);
    }
    if (folder.startsWith('/') || folder.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      return { kind: 'refused', error: 'the path leads outside the camera folder; not deleted' };
    }
    const slash = folder.lastIndexOf('/');
    const parent = this.pin(camera, cameraId, slash < 0 ? '' : folder.slice(0, slash));
    if (parent.kind !== 'pinned') {
      return parent;
    }
    if (!seen || seen.dev === null || seen.ino === null) {
      return { kind: 'refused', error: `the folder ${folder} was not identified by a scan yet; kept for the next sweep` };
    }
    const name = folder.slice(slash + 1);
    const path = `${parent.dir}/${name}`;
    const found = this.look(path);
    if (found.code === 'ENOENT') {
      return { kind: 'gone' };
    }
    if (found.code === 'EACCES' || found.code === 'EPERM') {
      return { kind: 'unreadable' };
    }
    if (found.code !== undefined) {
      return { kind: 'refused', error: `the folder ${folder} is not a folder any more (${found.code}: a link?); nothing deleted in it` };
    }
    if (found.stats.dev !== seen.dev || found.stats.ino !== seen.ino) {
      return { kind: 'refused', error: `the folder ${folder} was replaced by another since the scan; nothing deleted in it` };
    }
    return found.fd === undefined
      ? { kind: 'pinned', dir: path, recheck: [...parent.recheck, { path, dev: seen.dev, ino: seen.ino }] }
      : { kind: 'pinned', dir: `${FD_FOLDER}/${found.fd}`, recheck: [] };
  }

  private openRoot(camera: CameraConfig, seen: { dev: number | null; ino: number | null } | undefined): FolderPin {
    if (!seen || seen.dev === null || seen.ino === null) {
      return { kind: 'refused', error: 'the camera folder was not identified by a scan yet; kept for the next sweep' };
    }
    const found = this.look(camera.path);
    if (found.code !== undefined) {
      const what = found.code === 'ENOENT' ? 'is gone' : `is no folder any more (${found.code}: a symbolic link?)`;
      return { kind: 'camera lost', reason: `the camera folder ${what}` };
    }
    if (found.stats.dev !== seen.dev || found.stats.ino !== seen.ino) {
      return { kind: 'camera lost', reason: 'the camera folder was replaced by another folder during the sweep' };
    }
    return found.fd === undefined
      ? { kind: 'pinned', dir: camera.path, recheck: [{ path: camera.path, dev: seen.dev, ino: seen.ino }] }
      : { kind: 'pinned', dir: `${FD_FOLDER}/${found.fd}`, recheck: [] };
  }

  /** Opens (or, the lstat way, looks at) a folder without following a link at its last name. */
  private look(path: string): { code?: undefined; stats: Stats; fd?: number } | { code: string } {
    try {
      if (!this.byFd) {
        const stats = lstatSync(path);
        return stats.isDirectory() ? { stats } : { code: stats.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR' };
      }
      const fd = openSync(path, OPEN_FOLDER);
      this.fds.push(fd);
      return { stats: fstatSync(fd), fd };
    } catch (error) {
      return { code: (error as NodeJS.ErrnoException).code ?? 'error' };
    }
  }
}

/** The camera's folder of a recording: '' for the camera folder itself. */
export function folderOf(relPath: string): string {
  const slash = relPath.lastIndexOf('/');
  return slash < 0 ? '' : relPath.slice(0, slash);
}

/** The file name of a recording inside its folder. */
export function nameOf(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}
