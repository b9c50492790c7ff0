import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS } from './migrations.js';
import { moveAside } from './recover.js';

/** How long a writer waits for another process's write transaction before giving up. */
export const BUSY_TIMEOUT_MS = 15_000;

/** SQLite's primary result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB. */
const CORRUPTION_CODES = new Set([11, 26]);

/** SQLite's words for those codes, for errors that reach us as text (a failed sweep's report). */
export const CORRUPTION_MESSAGE = /database disk image is malformed|file is not a database/;

/** The index file is damaged: it is moved aside and rebuilt, never repaired in place. */
export class CorruptIndexError extends Error {}

export function isCorruption(error: unknown): boolean {
  if (error instanceof CorruptIndexError) {
    return true;
  }
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && CORRUPTION_CODES.has(code & 0xff);
}

export interface OpenedIndex {
  db: DatabaseSync;
  /** The file was new (or empty): nothing was indexed in it before. */
  created: boolean;
  /** Where a damaged index was moved, and why. */
  movedAside?: { to: string; reason: string };
}

/** Opens (creating if needed) the index, in WAL mode so readers never wait for the sweeper. */
export function openDatabase(path: string): DatabaseSync {
  return openIndex(path).db;
}

/**
 * Opens the index, checked. A damaged file (garbage, truncated, failing `PRAGMA quick_check`) is moved
 * aside as `<path>.corrupt-<time>` and a new, empty index is created in its place: the next scan fills
 * it from the folders, and holds come back from the journal (Store.open).
 */
export function openIndex(path: string, options: IndexOpenOptions = {}): OpenedIndex {
  const quickCheck = options.quickCheck ?? true;
  if (path === ':memory:') {
    return openChecked(path, quickCheck);
  }
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) {
    // A write-ahead log without its database (the file was deleted) would be replayed into the new one.
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
  try {
    return openChecked(path, quickCheck);
  } catch (error) {
    if (!isCorruption(error)) {
      throw error;
    }
    const to = moveAside(path);
    return { ...openChecked(path, quickCheck), movedAside: { to, reason: (error as Error).message } };
  }
}

export interface IndexOpenOptions {
  /**
   * Read every page at open (`PRAGMA quick_check`; its cost is in BENCHMARKS.md). Worth it in
   * the long-lived hosts (the Homebridge worker, the settings UI server), which open once. The CLI, run
   * by cron every few minutes, skips it: damage it meets while reading is moved aside all the same
   * (RetentionEngine.sweep), one run later.
   */
  quickCheck?: boolean;
}

function openChecked(path: string, quickCheck: boolean): OpenedIndex {
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits,
    // and the next scan re-indexes whatever they described.
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    // quick_check reads every page once (integrity_check also cross-checks every index entry, minutes on
    // a large index): it finds torn, truncated and overwritten pages, the damage a crash or a bad disk makes.
    if (quickCheck) {
      const problems = (db.prepare('PRAGMA quick_check(5)').all() as { quick_check: string }[]).map((row) => row.quick_check);
      if (problems.length !== 1 || problems[0] !== 'ok') {
        throw new CorruptIndexError(`the index fails its check: ${problems.join('; ').replace(/\s*\n\s*/g, ' ')}`);
      }
    }
    const created = schemaVersion(db) === 0;
    migrate(db);
    return { db, created };
  } catch (error) {
    db.close();
    throw error;
  }
}

export function schemaVersion(db: DatabaseSync): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
}

function migrate(db: DatabaseSync): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(`the index was written by a newer version of this plugin (schema ${current}); update the plugin`);
  }
  for (const [version, migration] of MIGRATIONS.entries()) {
    if (version < current) {
      continue;
    }
    inTransaction(db, () => {
      db.exec(migration);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}

/** Runs `work` in one IMMEDIATE transaction (the write lock is taken up front, so no deadlock on upgrade). */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) {
      db.exec('ROLLBACK');
    }
    throw error;
  }
}
