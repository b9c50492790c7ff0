import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

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

/** Past this many lines, and twice as many as the state needs, the journal is rewritten as a snapshot. */
const COMPACT_AFTER_LINES = 1000;

export function journalPathFor(databasePath: string): string {
  return `${databasePath}.holds.jsonl`;
}

/** Writes `data` to `path` so that a crash leaves the old file or the new one, never half of either. */
export function writeFileAtomic(path: string, data: string): void {
  const part = `${path}.part`;
  const fd = openSync(part, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(part, path);
  fsyncFolder(dirname(path));
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

  constructor(readonly path: string) {}

  get exists(): boolean {
    return existsSync(this.path);
  }

  /** Appends entries and fsyncs them; throws when they cannot be made durable (a full disk). */
  append(...entries: JournalEntry[]): void {
    const useful = entries.filter((entry) => !('paths' in entry) || entry.paths.length > 0);
    if (useful.length === 0) {
      return;
    }
    const fd = openSync(this.path, 'a+');
    try {
      writeSync(fd, `${endsTorn(fd) ? '\n' : ''}${useful.map((entry) => `${JSON.stringify(entry)}\n`).join('')}`);
      fsyncSync(fd);
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
  }

  /** The state the journal describes. A torn last line (a crash mid-append) is skipped: its index change never committed. */
  read(): HoldState {
    if (!this.exists) {
      return { holds: [], switches: [] };
    }
    const text = readFileSync(this.path, 'utf8');
    const holds = new Map<string, Hold>();
    const switches = new Map<string, SwitchState>();
    let lines = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') {
        continue;
      }
      lines++;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        continue;
      }
      applyEntry(entry, holds, switches);
    }
    this.lines = lines;
    return { holds: [...holds.values()], switches: [...switches.values()] };
  }

  /** Replaces the journal with the entries that make up `state` (write, fsync, rename). */
  writeSnapshot(state: HoldState): void {
    const entries = snapshotEntries(state);
    writeFileAtomic(this.path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    this.lines = entries.length;
  }

  /** Rewrites the journal when it has grown well past what its state needs; expired keep-until dates are dropped. */
  compactIfLarge(now: number): void {
    const state = this.read();
    const needed = snapshotEntries(state).length;
    this.compactAt = Math.max(COMPACT_AFTER_LINES, 2 * needed);
    if ((this.lines ?? 0) > this.compactAt) {
      this.writeSnapshot({
        switches: state.switches,
        holds: state.holds
          .map((hold) => (hold.keepUntil !== null && hold.keepUntil <= now ? { ...hold, keepUntil: null } : hold))
          .filter((hold) => hold.protectedBy !== null || hold.keepUntil !== null),
      });
    }
  }
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
        // As in the index, a recording already protected keeps its first protector.
        if (hold.protectedBy === null) {
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
