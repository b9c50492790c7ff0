import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { FileLock, withFileLock } from './file-lock.js';

/**
 * Protection is the one piece of state that is not on the recordings disk: the index can be rebuilt
 * from the folders, holds cannot. So every change to a hold is also appended here, beside the index,
 * and fsynced before the index change commits. Lines are JSON; recordings are named by camera (name
 * and folder) and path relative to the camera folder, which survive a rebuilt index, not by row id.
 */
export type JournalEntry =
  | { op: 'protect'; camera: string; folder: string; paths: string[]; by: string; at: number }
  | { op: 'unprotect'; camera: string; folder: string; paths: string[] }
  /** `by` set: only the holds that `by` made are released (a switch turned off). */
  | { op: 'release'; camera: string; folder: string; by: string }
  | { op: 'keep'; camera: string; folder: string; paths: string[]; until: number | null }
  | { op: 'switch'; camera: string; folder: string; on: boolean; since: number | null };

export interface Hold {
  camera: string;
  folder: string;
  relPath: string;
  protectedBy: string | null;
  protectedAt: number | null;
  keepUntil: number | null;
}

export interface SwitchState {
  camera: string;
  folder: string;
  since: number;
}

/** What the journal says is held now: lasting holds and keep-until dates per recording, and the switches that are on. */
export interface HoldState {
  holds: Hold[];
  switches: SwitchState[];
}

/** What a hold by the Protect switch is recorded as; a hold by anyone else is a hold by hand (rules §5). */
export const SWITCH_HOLDER = 'switch';

/** Past this many lines, and twice as many as the state needs, the journal is rewritten as a snapshot. */
const COMPACT_AFTER_LINES = 1000;

/** Appends, compactions and repairs of one journal wait this long for each other, across processes. */
const JOURNAL_LOCK_WAIT_MS = 30_000;

/** The journal could not be made durable (a full disk, a read-only file): the hold change it was for is not made. */
export class JournalWriteError extends Error {}

/** The journal as read: the holds, and the lines that could not be read (1-based), to be repaired. */
export type JournalRead = HoldState & { damagedLines: number[] };

export function journalPathFor(databasePath: string): string {
  return `${databasePath}.holds.jsonl`;
}

/**
 * Writes `data` to `path` so that a crash leaves the old file or the new one, never half of either.
 * The `.part` name is this process's own: two processes writing the same file never share one.
 */
export function writeFileAtomic(path: string, data: string): void {
  const part = `${path}.${process.pid}-${randomUUID().slice(0, 8)}.part`;
  try {
    const fd = openSync(part, 'w');
    try {
      writeFully(fd, Buffer.from(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(part, path);
  } catch (error) {
    rmSync(part, { force: true });
    throw error;
  }
  fsyncFolder(dirname(path));
}

/** writeSync may write less than asked (a disk filling up): the rest is written, or the error thrown. */
function writeFully(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length;) {
    const written = writeSync(fd, data, done, data.length - done);
    if (written <= 0) {
      throw Object.assign(new Error('no space left on device (a write wrote nothing)'), { code: 'ENOSPC' });
    }
    done += written;
  }
}

/** Makes a rename or a new name in `folder` durable. */
export function fsyncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class HoldsJournal {
  /** Lines in the file, when known; past `compactAt` an append compacts it. */
  private lines: number | undefined;
  private compactAt = COMPACT_AFTER_LINES;
  /** Appends, compaction and repair take it, so no process rewrites the journal under another's append. */
  private readonly lock: FileLock;

  constructor(readonly path: string) {
    this.lock = new FileLock(`${path}.lock`, 'exclusive');
  }

  get exists(): boolean {
    return existsSync(this.path);
  }

  /** Runs `work` holding the journal's lock (re-entrant within this journal). */
  locked<T>(work: () => T): T {
    return withFileLock(
      this.lock,
      JOURNAL_LOCK_WAIT_MS,
      () => new JournalWriteError(`the holds journal ${this.path} stayed locked by another process for ${JOURNAL_LOCK_WAIT_MS / 1000} s`),
      work,
    );
  }

  /**
   * Appends entries, every byte written and fsynced before it returns; otherwise the file is cut back
   * to what it was and JournalWriteError says why (rules §10: a hold is reported only once durable).
   */
  append(...entries: JournalEntry[]): void {
    const useful = entries.filter((entry) => !('paths' in entry) || entry.paths.length > 0);
    if (useful.length === 0) {
      return;
    }
    this.locked(() => {
      const fd = openSync(this.path, 'a+');
      let before: number | undefined;
      try {
        before = fstatSync(fd).size;
        writeFully(fd, Buffer.from(`${endsTorn(fd) ? '\n' : ''}${useful.map((entry) => `${JSON.stringify(entry)}\n`).join('')}`));
        fsyncSync(fd);
      } catch (error) {
        if (before !== undefined) {
          try {
            ftruncateSync(fd, before);
            fsyncSync(fd);
          } catch {
            // Cut back as far as the disk lets us: a torn last line is skipped when read, and repaired.
          }
        }
        throw new JournalWriteError(
          `the holds journal ${this.path} could not be written (${(error as Error).message}), so nothing was changed: free some space there and try again`,
        );
      } finally {
        closeSync(fd);
      }
      if (this.lines !== undefined) {
        this.lines += useful.length;
        // Homebridge runs for months: the journal is kept small while it runs, not only at start-up.
        if (this.lines > this.compactAt) {
          this.compactIfLarge(Date.now());
        }
      }
    });
  }

  /** The state the journal describes, and which lines could not be read (a torn last line after a crash, a damaged one). */
  read(): JournalRead {
    if (!this.exists) {
      return { holds: [], switches: [], damagedLines: [] };
    }
    const text = readFileSync(this.path, 'utf8');
    const holds = new Map<string, Hold>();
    const switches = new Map<string, SwitchState>();
    const damagedLines: number[] = [];
    let lines = 0;
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') {
        continue;
      }
      lines++;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
        applyEntry(entry, holds, switches);
      } catch {
        damagedLines.push(i + 1);
        continue;
      }
    }
    this.lines = lines;
    return { holds: [...holds.values()], switches: [...switches.values()], damagedLines };
  }

  /** Replaces the journal with the entries that make up `state` (write, fsync, rename). */
  writeSnapshot(state: HoldState): void {
    this.locked(() => {
      const entries = snapshotEntries(state);
      writeFileAtomic(this.path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      this.lines = entries.length;
    });
  }

  /**
   * Reads the journal under its lock; when lines are damaged, rewrites it from what could be read plus
   * `fromIndex()` (the index's holds), so the two agree again. Returns what was read, damage included.
   */
  readAndRepair(fromIndex: () => HoldState): JournalRead {
    return this.locked(() => {
      const read = this.read();
      if (read.damagedLines.length > 0) {
        this.writeSnapshot(mergeStates(read, fromIndex()));
      }
      return read;
    });
  }

  /** Rewrites the journal when it has grown well past what its state needs; expired keep-until dates are dropped. */
  compactIfLarge(now: number): void {
    this.locked(() => {
      const state = this.read();
      const needed = snapshotEntries(state).length;
      this.compactAt = Math.max(COMPACT_AFTER_LINES, 2 * needed);
      if ((this.lines ?? 0) > this.compactAt && state.damagedLines.length === 0) {
        this.writeSnapshot({
          switches: state.switches,
          holds: state.holds
            .map((hold) => (hold.keepUntil !== null && hold.keepUntil <= now ? { ...hold, keepUntil: null } : hold))
            .filter((hold) => hold.protectedBy !== null || hold.keepUntil !== null),
        });
      }
    });
  }
}

/** Both states' holds, each recording held as much as either holds it: a repair never drops a hold. */
function mergeStates(a: HoldState, b: HoldState): HoldState {
  const holds = new Map<string, Hold>();
  for (const hold of [...a.holds, ...b.holds]) {
    const key = holdKey(hold.folder, hold.relPath);
    const known = holds.get(key);
    if (!known) {
      holds.set(key, { ...hold });
      continue;
    }
    if (known.protectedBy === null || (known.protectedBy === SWITCH_HOLDER && hold.protectedBy !== null)) {
      known.protectedBy = hold.protectedBy ?? known.protectedBy;
      known.protectedAt = hold.protectedAt ?? known.protectedAt;
    }
    known.keepUntil = Math.max(known.keepUntil ?? 0, hold.keepUntil ?? 0) || null;
  }
  const switches = new Map([...a.switches, ...b.switches].map((s) => [s.folder, s]));
  return { holds: [...holds.values()], switches: [...switches.values()] };
}

/** A crash mid-append leaves a line without its newline: the next entry must not be glued to it. */
function endsTorn(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) {
    return false;
  }
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

function holdKey(folder: string, relPath: string): string {
  return `${folder}\0${relPath}`;
}

function applyEntry(entry: JournalEntry, holds: Map<string, Hold>, switches: Map<string, SwitchState>): void {
  const touch = (relPath: string): Hold => {
    const key = holdKey(entry.folder, relPath);
    let hold = holds.get(key);
    if (!hold) {
      hold = { camera: entry.camera, folder: entry.folder, relPath, protectedBy: null, protectedAt: null, keepUntil: null };
      holds.set(key, hold);
    }
    hold.camera = entry.camera;
    return hold;
  };
  const settle = (hold: Hold) => {
    if (hold.protectedBy === null && hold.keepUntil === null) {
      holds.delete(holdKey(hold.folder, hold.relPath));
    }
  };
  switch (entry.op) {
    case 'protect':
      for (const relPath of entry.paths) {
        const hold = touch(relPath);
        // As in the index, a recording already protected keeps its first protector, except that a hold
        // by hand replaces the switch's: it must outlive the switch being turned off (rules §5).
        if (hold.protectedBy === null || (hold.protectedBy === SWITCH_HOLDER && entry.by !== SWITCH_HOLDER)) {
          hold.protectedBy = entry.by;
          hold.protectedAt = entry.at;
        }
      }
      break;
    case 'unprotect':
      for (const relPath of entry.paths) {
        const hold = touch(relPath);
        hold.protectedBy = null;
        hold.protectedAt = null;
        settle(hold);
      }
      break;
    case 'release':
      for (const hold of holds.values()) {
        if (hold.folder === entry.folder && hold.protectedBy === entry.by) {
          hold.protectedBy = null;
          hold.protectedAt = null;
          settle(hold);
        }
      }
      break;
    case 'keep':
      for (const relPath of entry.paths) {
        const hold = touch(relPath);
        hold.keepUntil = entry.until;
        settle(hold);
      }
      break;
    case 'switch':
      if (entry.on) {
        switches.set(entry.folder, { camera: entry.camera, folder: entry.folder, since: entry.since ?? 0 });
      } else {
        switches.delete(entry.folder);
      }
      break;
  }
}

/** The fewest entries that rebuild `state`: one protect line per camera, holder and time, one keep line per date. */
function snapshotEntries(state: HoldState): JournalEntry[] {
  const entries = new Map<string, JournalEntry & { paths: string[] }>();
  const add = (key: string, make: () => JournalEntry & { paths: string[] }, relPath: string) => {
    let entry = entries.get(key);
    if (!entry) {
      entry = make();
      entries.set(key, entry);
    }
    entry.paths.push(relPath);
  };
  for (const hold of state.holds) {
    const { camera, folder } = hold;
    if (hold.protectedBy !== null) {
      const by = hold.protectedBy;
      const at = hold.protectedAt ?? 0;
      add(JSON.stringify(['protect', folder, by, at]), () => ({ op: 'protect', camera, folder, paths: [], by, at }), hold.relPath);
    }
    if (hold.keepUntil !== null) {
      const until = hold.keepUntil;
      add(JSON.stringify(['keep', folder, until]), () => ({ op: 'keep', camera, folder, paths: [], until }), hold.relPath);
    }
  }
  const switches: JournalEntry[] = state.switches.map((s) => ({
    op: 'switch',
    camera: s.camera,
    folder: s.folder,
    on: true,
    since: s.since,
  }));
  return [...switches, ...entries.values()];
}
