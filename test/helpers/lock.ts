/**
 * Sweep lock rows planted in a real index, as another process would have written them: a process
 * that died holding the lock (a crash, SIGKILL) or one that still runs. Tests use these instead of
 * writing SQL on the sweep_lock table themselves.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { DatabaseSync } from 'node:sqlite';

/** The process a lock row names: its pid and its start time (/proc/PID/stat field 22), which together name one process for good. */
interface LockOwner {
  pid: number;
  processStart: string;
}

/** The start time the kernel gives `stat` (the text of /proc/PID/stat), as src/store/lock.ts reads it. */
function startTimeIn(stat: string): string {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Writes the one lock row (replacing any) naming `owner` on this host, taken and last beaten just now. */
function plantLock(db: DatabaseSync, owner: LockOwner, purpose: string): void {
  const now = Date.now();
  db.prepare(
    'INSERT OR REPLACE INTO sweep_lock (id, token, pid, process_start, host, purpose, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)',
  ).run(`planted by a test for pid ${owner.pid}`, owner.pid, owner.processStart, hostname(), purpose, now, now);
}

/** A process that has run and exited: its pid is free now (until the kernel hands it out again, far later). */
function deadProcess(): LockOwner {
  const child = spawnSync(process.execPath, ['-e', "process.stdout.write(require('node:fs').readFileSync('/proc/self/stat', 'utf8'))"], {
    encoding: 'utf8',
  });
  if (child.status !== 0 || child.pid === undefined) {
    throw new Error(`the short-lived child process did not run: ${child.stderr || child.error}`);
  }
  return { pid: child.pid, processStart: startTimeIn(child.stdout) };
}

/**
 * Plants the lock row a process left when it died holding the lock: by default a process whose pid
 * is free now; with `pidReused`, one whose pid a live process has since been given (a restarted
 * container starts Homebridge at the same pid), which is this test's own pid with another start time.
 */
export function staleLock(db: DatabaseSync, options: { pidReused?: boolean; purpose?: string } = {}): void {
  const owner = options.pidReused ? { pid: process.pid, processStart: '1' } : deadProcess();
  plantLock(db, owner, options.purpose ?? 'sweep (schedule)');
}

/** Plants the lock row of a process that still runs and holds the lock: this test's own process, seen from another process (the CLI). */
export function liveLock(db: DatabaseSync, purpose = 'sweep (schedule)'): void {
  plantLock(db, { pid: process.pid, processStart: startTimeIn(readFileSync('/proc/self/stat', 'utf8')) }, purpose);
}
