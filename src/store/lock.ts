import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DatabaseSync } from 'node:sqlite';
import { MINUTE_MS } from '../config/units.js';
import { inTransaction } from './database.js';

/** A holder on another host that has not beaten its heart for this long is presumed dead. */
const FOREIGN_HOLDER_STALE_MS = 10 * MINUTE_MS;

/**
 * When a process started, as the kernel tells it (/proc/PID/stat field 22): with the pid it names one
 * process for good, in every one of its threads, even after the pid is reused (a container restarts
 * Homebridge at the same low pid). Undefined where there is no /proc.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

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
      `another sweep is running (${holder.purpose}, pid ${holder.pid} on ${holder.host}, since ${new Date(holder.acquiredAt).toISOString()})`,
    );
  }
}

/**
 * The one-sweep-at-a-time lock, kept as a row in the shared index so that the Homebridge process,
 * the settings UI's server and the CLI all see it. A holder whose process is gone (a crash, SIGKILL)
 * is recognised and replaced, so a crash never leaves retention stuck.
 */
export class SweepLock {
  private token: string | undefined;

  constructor(private readonly db: DatabaseSync) {}

  /** Takes the lock or throws SweepLockHeldError naming the holder. */
  acquire(purpose: string, now = Date.now()): void {
    const token = randomUUID();
    inTransaction(this.db, () => {
      const holder = this.holder();
      // Our own lock, left by a release that could not be written (a full disk), is ours to take again.
      if (holder && isAlive(holder, now) && holder.token !== this.token) {
        throw new SweepLockHeldError(holder);
      }
      this.db
        .prepare(
          'INSERT OR REPLACE INTO sweep_lock (id, token, pid, process_start, host, purpose, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(token, process.pid, processStart(process.pid) ?? '', hostname(), purpose, now, now);
    });
    // Only once committed: a commit that fails (a full disk) leaves the lock as it was, and our token with it.
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

  heartbeat(now = Date.now()): void {
    if (this.token) {
      this.db.prepare('UPDATE sweep_lock SET heartbeat_at = ? WHERE token = ?').run(now, this.token);
    }
  }

  release(): void {
    if (this.token) {
      this.db.prepare('DELETE FROM sweep_lock WHERE token = ?').run(this.token);
      this.token = undefined;
    }
  }

  holder(): LockHolder | undefined {
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

function isAlive(holder: LockHolder, now: number): boolean {
  if (holder.host !== hostname()) {
    return now - holder.heartbeatAt < FOREIGN_HOLDER_STALE_MS;
  }
  const start = processStart(holder.pid);
  if (start !== undefined && holder.processStart !== '') {
    return start === holder.processStart;
  }
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user; it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
