/**
 * Locks the kernel keeps for us: fcntl (POSIX) record locks on a small file beside the index, taken
 * through SQLite, whose unix VFS is the only way Node reaches fcntl without a native addon. The kernel
 * drops them when the holder dies (a crash, SIGKILL, a container stopped), and they hold between every
 * process that sees the same file, whatever PID namespace it lives in (a Docker Homebridge and a CLI
 * on the host). SQLite also keeps them right between connections of one process and its worker
 * threads, where plain fcntl locks would not.
 *
 * The file stays empty. Three kinds of hold, as SQLite's own lock levels:
 * - `shared`: any number at once (a process that has the index open);
 * - `single`: one at a time, beside any number of shared ones (the sweep lock);
 * - `exclusive`: only when nobody holds anything (moving the index away).
 */
import { chownSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type LockKind = 'shared' | 'single' | 'exclusive';

const BEGIN: Record<LockKind, string> = { shared: 'BEGIN DEFERRED', single: 'BEGIN IMMEDIATE', exclusive: 'BEGIN EXCLUSIVE' };

export class FileLock {
  private db: DatabaseSync | undefined;
  private inode: number | undefined;

  constructor(
    readonly path: string,
    readonly kind: LockKind,
  ) {}

  get held(): boolean {
    return this.db !== undefined;
  }

  /**
   * Takes the lock, waiting up to `waitMs` for it (SQLite's busy handler). False when someone else
   * holds it. A lock file deleted or replaced while we took it is taken again on the file now there.
   */
  tryTake(waitMs = 0): boolean {
    if (this.db) {
      return true;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      createOwnedLikeFolder(this.path);
      const db = new DatabaseSync(this.path, { timeout: waitMs });
      try {
        db.exec(BEGIN[this.kind]);
        if (this.kind === 'shared') {
          // A deferred transaction takes its lock at the first read.
          db.prepare('SELECT count(*) FROM sqlite_master').get();
        }
      } catch (error) {
        db.close();
        if (/locked|busy/i.test((error as Error).message)) {
          return false;
        }
        throw error;
      }
      const inode = inodeOf(this.path);
      if (inode !== undefined) {
        this.db = db;
        this.inode = inode;
        return true;
      }
      db.close();
    }
    throw new Error(`the lock file ${this.path} keeps vanishing while it is taken`);
  }

  /** False once the lock file at `path` is no longer the one we locked (deleted or replaced by hand). */
  get stillAtPath(): boolean {
    return this.db === undefined || inodeOf(this.path) === this.inode;
  }

  release(): void {
    const db = this.db;
    this.db = undefined;
    if (db?.isOpen) {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    }
  }
}

/** Runs `work` holding `lock` (waiting up to `waitMs`); throws `busy()` when it cannot be had. */
export function withFileLock<T>(lock: FileLock, waitMs: number, busy: () => Error, work: () => T): T {
  if (lock.held) {
    return work();
  }
  if (!lock.tryTake(waitMs)) {
    throw busy();
  }
  try {
    return work();
  } finally {
    lock.release();
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/**
 * A lock file made by root (a CLI run by cron as root) belongs to the owner of its folder, as the
 * index does: Homebridge, running as its own user, must be able to open it for writing to lock it.
 */
function createOwnedLikeFolder(path: string): void {
  if (existsSync(path)) {
    return;
  }
  closeSync(openSync(path, 'a', 0o664));
  if (process.getuid?.() === 0) {
    const folder = statSync(dirname(path));
    try {
      chownSync(path, folder.uid, folder.gid);
    } catch {
      // A filesystem without owners (a FAT stick, some NAS shares): nothing to give away.
    }
  }
}
