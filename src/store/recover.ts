import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { FileLock } from './file-lock.js';
import { fsyncFolder, journalPathFor, writeFileAtomic } from './journal.js';
import { lockPathFor } from './lock.js';

/** Moves a damaged index (and its write-ahead log) aside as `<path>.corrupt-<time>`; returns the new name. */
export function moveAside(path: string): string {
  const to = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, to);
  if (existsSync(`${path}-wal`)) {
    renameSync(`${path}-wal`, `${to}-wal`);
  }
  rmSync(`${path}-shm`, { force: true });
  fsyncFolder(dirname(path));
  return to;
}

/**
 * Where the index was last opened, kept in a small file in the Homebridge storage folder
 * (`nvr-retention/index-location.json`): the config holds only the new `databasePath`, so without it a
 * changed path would silently start an empty index and leave the holds behind.
 */
export function locationFileIn(storagePath: string): string {
  return resolve(storagePath, 'nvr-retention', 'index-location.json');
}

interface Location {
  databasePath: string;
  /** Set while the index is being moved: a `<movingTo>` found then is the finished copy. */
  movingTo?: string;
}

function readLocation(file: string): Location | undefined {
  try {
    const location = JSON.parse(readFileSync(file, 'utf8')) as Partial<Location>;
    return typeof location.databasePath === 'string' ? { databasePath: location.databasePath, movingTo: location.movingTo } : undefined;
  } catch {
    return undefined;
  }
}

/** Where the location file says the index is now (another process may have moved it). */
export function indexLocation(file: string): string | undefined {
  return readLocation(file)?.databasePath;
}

function writeLocation(file: string, location: Location): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(location)}\n`);
}

/** Copies `from` to `to` through `to.part`, fsynced before the rename: `to` is whole or absent. */
function copyDurably(from: string, to: string): void {
  const part = `${to}.part`;
  copyFileSync(from, part);
  const fd = openSync(part, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(part, to);
  fsyncFolder(dirname(to));
}

export interface Migration {
  from: string;
  to: string;
  /** The old file's new name, or undefined when there was nothing left to move. */
  keptAs?: string;
  /** An index that was already at the new path, not made by this move, and where it was put. */
  replaced?: string;
  /**
   * Set when the index could not be moved because another process has it (or the one at the new
   * path) open, e.g. Homebridge with its own databasePath while a cron CLI runs without one: the
   * caller uses the index where it is (`from`), and the move happens once nobody has it open.
   */
  inUse?: boolean;
}

/**
 * Moves the index from the path remembered in `locationFile` to `databasePath` when the config
 * changed it. Every step leaves a usable index at one of the two places, so a crash anywhere is
 * finished by the next start:
 *
 * 1. the location file notes the move (`movingTo`);
 * 2. the journal, then the index (after a checkpoint, so the one file is complete) are copied to
 *    `<new>.part`, fsynced and renamed to `<new>`: a `.part` is a copy that did not finish, and is
 *    made again;
 * 3. the old files are renamed `<old>.migrated` (kept, in case the move is regretted);
 * 4. the location file names the new path.
 *
 * An index found at the new path without a noted move (made by an older version, or by hand) holds
 * less than the one being moved: it is put aside as `<new>.replaced-<time>`.
 */
export function migrateDatabase(databasePath: string, locationFile: string): Migration | undefined {
  const location = readLocation(locationFile);
  const previous = location?.databasePath;
  if (previous === undefined || previous === databasePath) {
    if (location?.movingTo !== undefined || previous === undefined) {
      writeLocation(locationFile, { databasePath });
    }
    return undefined;
  }
  const migration: Migration = { from: previous, to: databasePath };
  if (!existsSync(previous)) {
    writeLocation(locationFile, { databasePath });
    return migration;
  }
  // An index another process has open is never moved from under it: it would carry on in the old file, unseen.
  mkdirSync(dirname(databasePath), { recursive: true });
  const locks = [previous, databasePath].map((path) => new FileLock(lockPathFor(path), 'exclusive'));
  try {
    if (!locks.every((lock) => lock.tryTake())) {
      return { ...migration, inUse: true };
    }
    moveIndex(previous, databasePath, { locationFile, location }, migration);
  } finally {
    for (const lock of locks) {
      lock.release();
    }
  }
  writeLocation(locationFile, { databasePath });
  return migration;
}

/** Steps 1 to 3 of migrateDatabase, with nobody else holding either index open. */
function moveIndex(
  previous: string,
  databasePath: string,
  { locationFile, location }: { locationFile: string; location: Location | undefined },
  migration: Migration,
): void {
  const journalFrom = journalPathFor(previous);
  const journalTo = journalPathFor(databasePath);
  if (location?.movingTo !== databasePath) {
    if (existsSync(databasePath)) {
      migration.replaced = `${databasePath}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(databasePath, migration.replaced);
      rmSync(`${databasePath}-wal`, { force: true });
      rmSync(`${databasePath}-shm`, { force: true });
      rmSync(journalTo, { force: true });
    }
    writeLocation(locationFile, { databasePath: previous, movingTo: databasePath });
  }
  rmSync(`${databasePath}.part`, { force: true });
  rmSync(`${journalTo}.part`, { force: true });
  if (!existsSync(databasePath)) {
    mkdirSync(dirname(databasePath), { recursive: true });
    checkpoint(previous);
    if (existsSync(journalFrom)) {
      copyDurably(journalFrom, journalTo);
    }
    copyDurably(previous, databasePath);
  }
  migration.keptAs = `${previous}.migrated`;
  if (existsSync(journalFrom)) {
    renameSync(journalFrom, `${journalFrom}.migrated`);
  }
  renameSync(previous, migration.keptAs);
  rmSync(`${previous}-wal`, { force: true });
  rmSync(`${previous}-shm`, { force: true });
  fsyncFolder(dirname(previous));
}

/** Folds the write-ahead log into the main file, so that copying the main file copies everything. */
function checkpoint(path: string): void {
  try {
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  } catch {
    // A damaged index is copied as it is; opening it at the new place moves it aside and rebuilds.
  }
}
