import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DatabaseSync } from 'node:sqlite';
import { inTransaction } from './database.js';
import { FileLock } from './file-lock.js';

/** A sweep that starts while the lock is being looked at (the settings UI's status) waits this long for it. */
const ACQUIRE_GRACE_MS = 250;

export interface LockHolder {
  token: string;
  pid: number;
  processStart: string;
  host: string;
  purpose: string;
  acquiredAt: number;
  heartbeatAt: number;
}

export class SweepLockHeldError extends Error {
  constructor(readonly holder: LockHolder) {
    super(
      holder.token === ''
        ? 'another sweep is running (in a process that opened the index before it was deleted or replaced)'
        : `another sweep is running (${holder.purpose}, pid ${holder.pid} on ${holder.host}, since ${new Date(holder.acquiredAt).toISOString()})`,
    );
  }
}

/** The holder when the index has no row for it: the holder wrote its row into an index since deleted or replaced. */
function unknownHolder(): LockHolder {
  return { token: '', pid: 0, processStart: '', host: '?', purpose: 'sweep', acquiredAt: Date.now(), heartbeatAt: 0 };
}

/** The lock file of an index: beside it, never inside it, so it outlives an index deleted or replaced while in use. */
export function lockPathFor(databasePath: string): string {
  return `${databasePath}.lock`;
}

/**
 * The one-sweep-at-a-time lock (rules §3.9). Who may sweep is decided by the kernel: a `single` lock on
 * the file beside the index (file-lock.ts), which dies with its holder, whatever its PID namespace or
 * host name, and which a new index made at the same path (the old one deleted mid-sweep) still sees.
 * A row in the index says who holds it, for messages and the settings UI only.
 */
export class SweepLock {
  private token: string | undefined;
  private readonly kernel: FileLock | undefined;

  constructor(
    private readonly db: DatabaseSync,
    lockFile: string | undefined,
  ) {
    this.kernel = lockFile === undefined ? undefined : new FileLock(lockFile, 'single');
  }

  /** Takes the lock or throws SweepLockHeldError naming the holder. */
  acquire(purpose: string, now = Date.now()): void {
    if (this.kernel && !this.kernel.tryTake(ACQUIRE_GRACE_MS)) {
      throw new SweepLockHeldError(this.holderRow() ?? unknownHolder());
    }
    const row = this.kernel ? undefined : this.holderRow();
    if (row && row.token !== this.token) {
      // An index in memory (tests): only this connection can hold it, so a row means a holder.
      throw new SweepLockHeldError(row);
    }
    const token = randomUUID();
    try {
      inTransaction(this.db, () => {
        this.db
          .prepare(
            'INSERT OR REPLACE INTO sweep_lock (id, token, pid, process_start, host, purpose, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(token, process.pid, '', hostname(), purpose, now, now);
      });
    } catch (error) {
      this.kernel?.release();
      throw error;
    }
    this.token = token;
  }

  /** Waits up to `timeoutMs` for the lock, polling; throws SweepLockHeldError if it never frees. */
  async acquireWithin(purpose: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.acquire(purpose);
        return;
      } catch (error) {
        if (!(error instanceof SweepLockHeldError) || Date.now() >= deadline) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  get held(): boolean {
    return this.token !== undefined;
  }

  /**
   * Beats the holder row's heart; false when the lock can no longer be trusted: its file was deleted
   * or replaced by hand, so another process may be holding a lock on the new one.
   */
  heartbeat(now = Date.now()): boolean {
    if (this.token) {
      try {
        this.db.prepare('UPDATE sweep_lock SET heartbeat_at = ? WHERE token = ?').run(now, this.token);
      } catch {
        // A full disk under the index: the row is for people only; the kernel's lock is what counts.
      }
    }
    return this.kernel?.stillAtPath ?? true;
  }

  release(): void {
    if (!this.token) {
      return;
    }
    this.token = undefined;
    try {
      this.db.prepare('DELETE FROM sweep_lock WHERE id = 1').run();
    } catch {
      // A row left behind (a full disk) names nobody once the kernel's lock is free: holder() ignores it.
    } finally {
      this.kernel?.release();
    }
  }

  /** Who holds the lock now, or undefined when nobody does (a row left by a dead holder does not count). */
  holder(): LockHolder | undefined {
    if (this.token !== undefined || !this.kernel) {
      return this.holderRow();
    }
    const probe = new FileLock(this.kernel.path, 'single');
    if (probe.tryTake()) {
      probe.release();
      return undefined;
    }
    return this.holderRow() ?? unknownHolder();
  }

  private holderRow(): LockHolder | undefined {
    const row = this.db
      .prepare('SELECT token, pid, process_start, host, purpose, acquired_at, heartbeat_at FROM sweep_lock WHERE id = 1')
      .get() as
      | { token: string; pid: number; process_start: string; host: string; purpose: string; acquired_at: number; heartbeat_at: number }
      | undefined;
    return (
      row && {
        token: row.token,
        pid: row.pid,
        processStart: row.process_start,
        host: row.host,
        purpose: row.purpose,
        acquiredAt: row.acquired_at,
        heartbeatAt: row.heartbeat_at,
      }
    );
  }
}
