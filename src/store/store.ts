import { statSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RecordingClass } from '../config/types.js';
import { HOUR_MS } from '../config/units.js';
import { type IndexOpenOptions, inTransaction, openIndex } from './database.js';
import { type HoldState, HoldsJournal, type JournalEntry, journalPathFor, SWITCH_HOLDER } from './journal.js';
import { FileLock } from './file-lock.js';
import { lockPathFor, SweepLock } from './lock.js';

/** Rows are read in pages of this many, so no query ever holds a million rows in memory. */
export const PAGE_SIZE = 1000;

/** The index is compacted when more than this share of its pages are free ... */
const VACUUM_FREE_SHARE = 0.5;
/** ... and it has at least this many pages (4 MB at SQLite's 4 kB pages): a small index is not worth it. */
const VACUUM_MIN_PAGES = 1024;

export const CLASS_CODE: Record<RecordingClass, 0 | 1> = { continuous: 0, event: 1 };
export const CLASS_NAME: Record<0 | 1, RecordingClass> = { 0: 'continuous', 1: 'event' };

export interface CameraRow {
  id: number;
  path: string;
  name: string;
  available: boolean;
  unavailableReason: string | null;
  unavailableSince: number | null;
  lastScanAt: number | null;
  protectSwitchOn: boolean;
  protectSwitchSince: number | null;
  recordingCount: number;
  bytes: number;
  protectedCount: number;
  protectedBytes: number;
  eventCount: number;
  eventBytes: number;
}

/** One measurement of a camera's usage (the usage history's row of an hour). */
export interface UsageSample {
  at: number;
  bytes: number;
  count: number;
  eventBytes: number;
  eventCount: number;
}

/** What the planner and the sweeper need of a recording. */
export interface Recording {
  id: number;
  cameraId: number;
  relPath: string;
  size: number;
  endTime: number;
  cls: RecordingClass;
  protected: boolean;
  keepUntil: number | null;
  exportLockUntil: number | null;
  /** Names relative to the recording's folder of its sidecars and companions (`x.json`, `thumbs/x.jpg`). */
  sidecars: string[];
  /** The file's own mtime when the end time is not it (a time from the name, a recording folder); else the end time. */
  fileMtime?: number;
  /** The file's identity (st_dev, st_ino) when the scan last saw it; undefined or null: not known yet. */
  dev?: number | null;
  ino?: number | null;
}

export interface RecordingDetail extends Recording {
  protectedBy: string | null;
  protectedAt: number | null;
  exportLockOwner: string | null;
  fileSize: number;
}

export interface FolderRow {
  id: number;
  relPath: string;
  mtimeMs: number | null;
  /** The folder's identity (st_dev, st_ino) when the scan last saw it; null until it has. */
  dev: number | null;
  ino: number | null;
}

export interface IndexedFile {
  id: number;
  relPath: string;
  fileSize: number;
  size: number;
  endTime: number;
  cls: RecordingClass;
  sidecars: string[];
  fileMtime: number;
  dev: number | null;
  ino: number | null;
  /** Protected, or kept until a date that has not passed (rules §1, held). */
  held: boolean;
}

/** Files of a camera that are neither recordings nor companions, and their extensions by bytes. */
export interface IgnoredFiles {
  count: number;
  bytes: number;
  /** Extension ('' for none) → [count, bytes]. */
  extensions: Record<string, [number, number]>;
}

export interface NewRecording {
  cameraId: number;
  folderId: number;
  relPath: string;
  size: number;
  fileSize: number;
  endTime: number;
  cls: RecordingClass;
  sidecars: string[];
  protectedBy: string | null;
  protectedAt: number | null;
  /** Given when the end time is not the file's mtime. */
  fileMtime?: number;
  /** The file's st_dev and st_ino as the scan saw them (left out only by tests that stage rows). */
  dev?: number;
  ino?: number;
}

export type Severity = 'info' | 'warning' | 'error';

/** What opening the index found, for the engine to tell the user. */
export interface OpenReport {
  /** The index was new: it is filled by the next scan. */
  created: boolean;
  /** A damaged index was moved here, and why. */
  movedAside?: { to: string; reason: string };
  /** Holds of the journal whose recordings are not indexed (yet): each is applied when the scan finds it. */
  restoredHolds: number;
  /** Protect switches on in the journal, for cameras not in the index yet. */
  restoredSwitches: number;
  /** Holds of the journal that the index had lost (a power cut after the journal's fsync, an index from a backup), applied again. */
  reappliedHolds: number;
  /** Journal lines that could not be read (1-based); the journal was rewritten from the index's holds and the readable lines. */
  journalDamagedLines: number[];
}

/** What bringing the index's holds in line with the journal did (at open, and before every scan). */
export interface HoldsSync {
  reappliedHolds: number;
  journalDamagedLines: number[];
}

/**
 * One event (a warning, a failure, something a person did) in the one shape that the sweep report,
 * the event log and the settings UI share: the fixed fields, and its details as further fields
 * (`path`, `count`, ...).
 */
export interface RetentionEvent {
  kind: string;
  camera: string | null;
  severity: Severity;
  message: string;
  [detail: string]: unknown;
}

/** An event as the event log keeps it: with the time it happened. */
export interface LoggedEvent extends RetentionEvent {
  time: number;
}

/** Which recordings a person asked to see: the CLI's list and the settings UI's browser share it. */
export interface RecordingFilter {
  cameraIds?: number[];
  cls?: RecordingClass;
  /**
   * "only": held, by a lasting hold or a keep-until date (the browser's "protected"); "none": free
   * of both; "lasting": a lasting hold only (the CLI's --protected).
   */
  protection?: 'only' | 'none' | 'lasting';
  since?: number;
  until?: number;
}

/** Sort of the browser, and the key of the last row of the previous page. */
export interface BrowseOrder {
  by: 'time' | 'size';
  descending: boolean;
  after?: { value: number; cls: 0 | 1; relPath: string; id: number };
}

function filterWhere(filter: RecordingFilter): { where: string[]; params: (number | string)[] } {
  const where: string[] = ['1 = 1'];
  const params: (number | string)[] = [];
  if (filter.cameraIds?.length) {
    where.push(`camera_id IN (${placeholders(filter.cameraIds.length)})`);
    params.push(...filter.cameraIds);
  }
  if (filter.cls) {
    where.push('class = ?');
    params.push(CLASS_CODE[filter.cls]);
  }
  if (filter.protection === 'only') {
    where.push('(protected = 1 OR keep_until IS NOT NULL)');
  } else if (filter.protection === 'none') {
    where.push('protected = 0 AND keep_until IS NULL');
  } else if (filter.protection === 'lasting') {
    where.push('protected = 1');
  }
  if (filter.since !== undefined) {
    where.push('end_time >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('end_time < ?');
    params.push(filter.until);
  }
  return { where, params };
}

/** Which of a camera's recordings `oldest` yields: of one class, ended before a time, on one filesystem (st_dev). */
export interface OldestFilter {
  cls?: RecordingClass;
  endBefore?: number;
  dev?: number;
}

/** Key of the "oldest first" order: end time, then continuous before event, then path. */
export interface OrderKey {
  endTime: number;
  cls: 0 | 1;
  relPath: string;
}

interface RawRecording {
  id: number;
  camera_id: number;
  rel_path: string;
  size: number;
  file_size: number;
  end_time: number;
  class: 0 | 1;
  protected: number;
  protected_by: string | null;
  protected_at: number | null;
  keep_until: number | null;
  export_lock_until: number | null;
  export_lock_owner: string | null;
  sidecars: string | null;
  file_mtime: number;
  dev: number | null;
  ino: number | null;
}

const RECORDING_COLUMNS =
  'id, camera_id, rel_path, size, file_size, end_time, class, protected, protected_by, protected_at, keep_until, export_lock_until, export_lock_owner, sidecars, COALESCE(file_mtime, end_time) AS file_mtime, dev, ino';

function toRecording(row: RawRecording): RecordingDetail {
  return {
    id: row.id,
    cameraId: row.camera_id,
    relPath: row.rel_path,
    size: row.size,
    fileSize: row.file_size,
    endTime: row.end_time,
    cls: CLASS_NAME[row.class],
    protected: row.protected === 1,
    protectedBy: row.protected_by,
    protectedAt: row.protected_at,
    keepUntil: row.keep_until,
    exportLockUntil: row.export_lock_until,
    exportLockOwner: row.export_lock_owner,
    sidecars: row.sidecars ? (JSON.parse(row.sidecars) as string[]) : [],
    fileMtime: row.file_mtime,
    dev: row.dev,
    ino: row.ino,
  };
}

interface RawFolder {
  id: number;
  rel_path: string;
  mtime_ms: number | null;
  dev: number | null;
  ino: number | null;
}

function toFolder(row: RawFolder): FolderRow {
  return { id: row.id, relPath: row.rel_path, mtimeMs: row.mtime_ms, dev: row.dev, ino: row.ino };
}

function toCamera(row: Record<string, unknown>): CameraRow {
  return {
    id: row.id as number,
    path: row.path as string,
    name: row.name as string,
    available: row.available === 1,
    unavailableReason: row.unavailable_reason as string | null,
    unavailableSince: row.unavailable_since as number | null,
    lastScanAt: row.last_scan_at as number | null,
    protectSwitchOn: row.protect_switch_on === 1,
    protectSwitchSince: row.protect_switch_since as number | null,
    recordingCount: row.recording_count as number,
    bytes: row.bytes as number,
    protectedCount: row.protected_count as number,
    protectedBytes: row.protected_bytes as number,
    eventCount: row.event_count as number,
    eventBytes: row.event_bytes as number,
  };
}

function inodeOf(path: string): bigint | undefined {
  try {
    return statSync(path, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

/** Splits an id list into chunks that fit SQLite's bound-parameter limit. */
function chunks<T>(items: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** The "oldest" order of rules §3: end time, continuous before event, path; then camera, to be total. */
export function compareOldest(a: Recording, b: Recording): number {
  return (
    a.endTime - b.endTime ||
    CLASS_CODE[a.cls] - CLASS_CODE[b.cls] ||
    (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0) ||
    a.cameraId - b.cameraId
  );
}

/** Merges per-camera streams that are each oldest first; a handful of cameras needs no heap. */
function* mergeOldest(streams: Iterable<Recording>[]): Generator<Recording> {
  const heads = streams.map((stream) => {
    const iterator = stream[Symbol.iterator]();
    return { iterator, head: iterator.next() };
  });
  for (;;) {
    let best: (typeof heads)[number] | undefined;
    for (const candidate of heads) {
      if (!candidate.head.done && (best === undefined || compareOldest(candidate.head.value, best.head.value as Recording) < 0)) {
        best = candidate;
      }
    }
    if (best === undefined || best.head.done) {
      return;
    }
    yield best.head.value;
    best.head = best.iterator.next();
  }
}

function placeholders(count: number): string {
  return new Array(count).fill('?').join(',');
}

/**
 * The recordings index: every SQL statement of the plugin lives here, so the rest of the engine
 * reads as plain TypeScript and the queries can be checked against their indexes in one place.
 */
export class Store {
  readonly lock: SweepLock;
  private readonly statements = new Map<string, StatementSync>();
  /** Left of what the journal restored into a new index, waiting for their recordings to be indexed. */
  private restoredHoldsLeft = 0;
  private restoredSwitchesLeft = 0;
  opened: OpenReport = { created: false, restoredHolds: 0, restoredSwitches: 0, reappliedHolds: 0, journalDamagedLines: [] };
  /** The file opened, to notice when the name no longer leads to it (deleted or replaced while open). */
  private readonly inode: bigint | undefined;
  /** Held while the index is open: nobody moves an index that a process has open (recover.ts: migrateDatabase). */
  private readonly inUse: FileLock | undefined;

  private constructor(
    readonly db: DatabaseSync,
    readonly path: string,
    private readonly journal: HoldsJournal | undefined,
  ) {
    const lockFile = path === ':memory:' ? undefined : lockPathFor(path);
    this.lock = new SweepLock(db, lockFile);
    this.inode = path === ':memory:' ? undefined : inodeOf(path);
    this.inUse = lockFile === undefined ? undefined : new FileLock(lockFile, 'shared');
    this.inUse?.tryTake(10_000);
  }

  /**
   * False when the index file was deleted or replaced since it was opened: this connection still
   * writes to the old file, which nobody else sees (nor its sweep lock).
   */
  get isStillAtPath(): boolean {
    return this.inode === undefined || inodeOf(this.path) === this.inode;
  }

  /**
   * Opens the index (a damaged one is moved aside and made anew, see openIndex) and brings the holds
   * journal beside it in step: a new index takes its holds from the journal; an index without a
   * journal (made by an older version) writes one.
   */
  static open(path: string, options: IndexOpenOptions = {}): Store {
    const index = openIndex(path, options);
    const store = new Store(index.db, path, path === ':memory:' ? undefined : new HoldsJournal(journalPathFor(path)));
    try {
      store.opened = { created: index.created, movedAside: index.movedAside, ...store.syncJournal() };
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  /**
   * The journal is fsynced before the index commits, so it is never behind: at every open its holds are
   * put back on the recordings that lack them, and those not indexed wait in restored_holds for the
   * scan. Only in the direction of more protection: a release the index lacks is left alone.
   */
  private syncJournal(): { restoredHolds: number; restoredSwitches: number } & HoldsSync {
    const journal = this.journal;
    let sync: HoldsSync = { reappliedHolds: 0, journalDamagedLines: [] };
    if (journal?.exists) {
      sync = this.syncHoldsFromJournal();
    } else {
      journal?.writeSnapshot(this.holdsInIndex());
    }
    journal?.compactIfLarge(Date.now());
    return { restoredHolds: this.restoredHoldsLeft, restoredSwitches: this.restoredSwitchesLeft, ...sync };
  }

  /**
   * The journal is the source of holds (rules §10): before every scan, in every process, its holds are
   * put on the recordings indexed, and wait in restored_holds for those that are not (a folder away for
   * a sweep, an index another process made anew). A damaged journal is repaired first from the index's
   * holds plus its readable lines.
   */
  syncHoldsFromJournal(): HoldsSync {
    if (!this.journal) {
      return { reappliedHolds: 0, journalDamagedLines: [] };
    }
    // Read (and repaired) under the journal's lock, applied after it: an append waits on the index's write lock while holding it.
    const read = this.journal.readAndRepair(() => this.holdsInIndex());
    const reappliedHolds = this.applyJournal(read);
    this.restoredHoldsLeft = (this.sql('SELECT COUNT(*) AS n FROM restored_holds').get() as { n: number }).n;
    this.restoredSwitchesLeft = (this.sql('SELECT COUNT(*) AS n FROM restored_switches').get() as { n: number }).n;
    return { reappliedHolds, journalDamagedLines: read.damagedLines };
  }

  private applyJournal(state: HoldState): number {
    return this.transaction(() => {
      this.sql('DELETE FROM restored_holds').run();
      this.sql('DELETE FROM restored_switches').run();
      const cameraOf = (folder: string, name: string) =>
        this.sql(
          'SELECT id, protect_switch_on FROM cameras WHERE path = ? UNION ALL SELECT id, protect_switch_on FROM cameras WHERE name = ? LIMIT 1',
        ).get(folder, name) as { id: number; protect_switch_on: number } | undefined;
      let reapplied = 0;
      for (const hold of state.holds) {
        const camera = cameraOf(hold.folder, hold.camera);
        const row = camera && this.recordingByPath(camera.id, hold.relPath);
        if (!row) {
          this.sql(
            'INSERT OR REPLACE INTO restored_holds (camera_folder, camera_name, rel_path, protected_by, protected_at, keep_until) VALUES (?, ?, ?, ?, ?, ?)',
          ).run(hold.folder, hold.camera, hold.relPath, hold.protectedBy, hold.protectedAt, hold.keepUntil);
          continue;
        }
        let changed = 0;
        if (hold.protectedBy !== null) {
          changed += Number(
            this.sql(
              'UPDATE recordings SET protected = 1, protected_by = ?, protected_at = ? WHERE id = ? AND (protected = 0 OR (protected_by = ? AND ? != ?))',
            ).run(hold.protectedBy, hold.protectedAt, row.id, SWITCH_HOLDER, hold.protectedBy, SWITCH_HOLDER).changes,
          );
        }
        if (hold.keepUntil !== null) {
          changed += Number(
            this.sql('UPDATE recordings SET keep_until = ? WHERE id = ? AND COALESCE(keep_until, 0) < ?').run(
              hold.keepUntil,
              row.id,
              hold.keepUntil,
            ).changes,
          );
        }
        reapplied += changed > 0 ? 1 : 0;
      }
      for (const onSwitch of state.switches) {
        const camera = cameraOf(onSwitch.folder, onSwitch.camera);
        if (!camera) {
          this.sql('INSERT OR REPLACE INTO restored_switches (camera_folder, camera_name, since) VALUES (?, ?, ?)').run(
            onSwitch.folder,
            onSwitch.camera,
            onSwitch.since,
          );
        } else if (camera.protect_switch_on === 0) {
          this.sql('UPDATE cameras SET protect_switch_on = 1, protect_switch_since = ? WHERE id = ?').run(onSwitch.since, camera.id);
        }
      }
      return reapplied;
    });
  }

  /** Every hold the index knows, as the journal would describe it. */
  private holdsInIndex(): HoldState {
    const holds = (
      this.sql(
        `SELECT c.name, c.path, r.rel_path, r.protected, r.protected_by, r.protected_at, r.keep_until
      FROM recordings r JOIN cameras c ON c.id = r.camera_id WHERE r.protected = 1 OR r.keep_until IS NOT NULL`,
      ).all() as {
        name: string;
        path: string;
        rel_path: string;
        protected: number;
        protected_by: string | null;
        protected_at: number | null;
        keep_until: number | null;
      }[]
    ).map((row) => ({
      camera: row.name,
      folder: row.path,
      relPath: row.rel_path,
      keepUntil: row.keep_until,
      protectedBy: row.protected === 1 ? (row.protected_by ?? 'unknown') : null,
      protectedAt: row.protected === 1 ? row.protected_at : null,
    }));
    const switches = (
      this.sql('SELECT name, path, protect_switch_since FROM cameras WHERE protect_switch_on = 1').all() as {
        name: string;
        path: string;
        protect_switch_since: number | null;
      }[]
    ).map((row) => ({ camera: row.name, folder: row.path, since: row.protect_switch_since ?? 0 }));
    return { holds, switches };
  }

  /**
   * Runs a change to holds and its journal entries together: the entries are fsynced before the change
   * commits, and a journal that cannot be written (a full disk) undoes the change and throws.
   */
  private journaled<T>(change: () => { result: T; entries: JournalEntry[] }): T {
    const work = () => {
      const { result, entries } = change();
      this.journal?.append(...entries);
      return result;
    };
    return this.db.isTransaction ? work() : this.transaction(work);
  }

  /** One journal entry per camera for rows changed by an UPDATE … RETURNING camera_id, rel_path. */
  private entriesByCamera(
    rows: { camera_id: number; rel_path: string }[],
    make: (camera: CameraRow, paths: string[]) => JournalEntry,
  ): JournalEntry[] {
    const paths = new Map<number, string[]>();
    for (const row of rows) {
      const list = paths.get(row.camera_id) ?? [];
      list.push(row.rel_path);
      paths.set(row.camera_id, list);
    }
    return [...paths].map(([cameraId, list]) => make(this.camera(cameraId), list));
  }

  /** Runs an UPDATE … RETURNING camera_id, rel_path over `ids` in chunks. */
  private updateReturning(
    text: (placeholders: string) => string,
    ids: number[],
    ...before: (string | number | null)[]
  ): { camera_id: number; rel_path: string }[] {
    return chunks(ids).flatMap(
      (chunk) =>
        this.sql(`${text(placeholders(chunk.length))} RETURNING camera_id, rel_path`).all(...before, ...chunk) as {
          camera_id: number;
          rel_path: string;
        }[],
    );
  }

  close(): void {
    this.lock.release();
    this.inUse?.release();
    this.statements.clear();
    if (this.db.isOpen) {
      this.db.close();
    }
  }

  transaction<T>(work: () => T): T {
    return inTransaction(this.db, work);
  }

  /** Prepared statements are cached: the sweep runs the same few thousands of times. */
  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  // ---- cameras ----

  /** Cameras are identified by folder path, so a renamed camera keeps its recordings and holds. */
  ensureCamera(name: string, path: string): CameraRow {
    this.sql('INSERT INTO cameras (path, name) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET name = excluded.name').run(path, name);
    if (this.restoredSwitchesLeft > 0) {
      this.restoreSwitch(name, path);
    }
    return this.cameraByPath(path)!;
  }

  /**
   * A camera whose folder moved (a new disk, config `path` updated) follows its name (rules §12): when no
   * camera row has `path` but one is named `name`, that row takes the new path, keeping its recordings
   * (matched again by path below the folder at the next scan) and their holds; the journal and the
   * holds waiting to be restored are moved to the new folder too. Returns the old path, if it moved.
   */
  followMovedCamera(name: string, path: string, configuredPaths: ReadonlySet<string>): string | undefined {
    if (this.cameraByPath(path)) {
      return undefined;
    }
    const row = this.sql('SELECT id, path FROM cameras WHERE name = ? ORDER BY last_scan_at DESC LIMIT 1').get(name) as
      { id: number; path: string } | undefined;
    // A folder still configured (for another camera now) keeps its own recordings and holds.
    if (!row || configuredPaths.has(row.path)) {
      return undefined;
    }
    const from = row.path;
    const move = () => {
      this.transaction(() => {
        this.sql('UPDATE cameras SET path = ? WHERE id = ?').run(path, row.id);
        // Another disk: every folder is read again, not trusted from its old mtime.
        this.sql('UPDATE folders SET mtime_ms = NULL WHERE camera_id = ?').run(row.id);
        this.sql('UPDATE restored_holds SET camera_folder = ? WHERE camera_folder = ?').run(path, from);
        this.sql('UPDATE restored_switches SET camera_folder = ? WHERE camera_folder = ?').run(path, from);
      });
    };
    if (!this.journal) {
      move();
      return from;
    }
    const journal = this.journal;
    journal.locked(() => {
      move();
      // A crash before this rewrite is harmless: journal entries find their camera by name when the folder is unknown.
      const state = journal.read();
      const moved = (folder: string) => (folder === from ? path : folder);
      journal.writeSnapshot({
        holds: state.holds.map((hold) => ({ ...hold, folder: moved(hold.folder) })),
        switches: state.switches.map((s) => ({ ...s, folder: moved(s.folder) })),
      });
    });
    return from;
  }

  /**
   * A Protect switch that was on when the index was lost is on again before the first scan, so every
   * recording that scan indexes is held by it (rules §5.4: indexed while it is on): more than it held
   * before, never less, until it is turned off.
   */
  private restoreSwitch(name: string, path: string): void {
    const row = this.sql(
      'SELECT rowid AS id, since FROM restored_switches WHERE camera_folder = ? OR camera_name = ? ORDER BY camera_folder = ? DESC LIMIT 1',
    ).get(path, name, path) as { id: number; since: number } | undefined;
    if (row) {
      this.sql('UPDATE cameras SET protect_switch_on = 1, protect_switch_since = ? WHERE path = ?').run(row.since, path);
      this.sql('DELETE FROM restored_switches WHERE rowid = ?').run(row.id);
      this.restoredSwitchesLeft--;
    }
  }

  /** Every camera row, configured or not (a camera removed from the config keeps its row). */
  allCameras(): CameraRow[] {
    return this.sql('SELECT * FROM cameras ORDER BY id').all().map(toCamera);
  }

  /** Gives a camera row a new key (its `path` column) and name: the same camera, known by a new key. */
  rekeyCamera(id: number, path: string, name: string): void {
    this.sql('UPDATE cameras SET path = ?, name = ? WHERE id = ?').run(path, name, id);
  }

  cameraByPath(path: string): CameraRow | undefined {
    const row = this.sql('SELECT * FROM cameras WHERE path = ?').get(path);
    return row ? toCamera(row) : undefined;
  }

  camera(id: number): CameraRow {
    return toCamera(this.sql('SELECT * FROM cameras WHERE id = ?').get(id)!);
  }

  setCameraAvailability(id: number, available: boolean, reason: string | null, now: number): void {
    this.sql(
      `UPDATE cameras SET available = ?, unavailable_reason = ?,
      unavailable_since = CASE WHEN ? THEN NULL ELSE COALESCE(unavailable_since, ?) END WHERE id = ?`,
    ).run(available ? 1 : 0, reason, available ? 1 : 0, now, id);
  }

  setLastScan(id: number, at: number): void {
    this.sql('UPDATE cameras SET last_scan_at = ? WHERE id = ?').run(at, id);
  }

  setProtectSwitch(id: number, on: boolean, now: number): void {
    this.journaled(() => {
      this.sql('UPDATE cameras SET protect_switch_on = ?, protect_switch_since = ? WHERE id = ?').run(on ? 1 : 0, on ? now : null, id);
      const camera = this.camera(id);
      return { result: undefined, entries: [{ op: 'switch', camera: camera.name, folder: camera.path, on, since: on ? now : null }] };
    });
  }

  // ---- folders ----

  folder(cameraId: number, relPath: string): FolderRow | undefined {
    const row = this.sql('SELECT id, rel_path, mtime_ms, dev, ino FROM folders WHERE camera_id = ? AND rel_path = ?').get(
      cameraId,
      relPath,
    ) as RawFolder | undefined;
    return row && toFolder(row);
  }

  ensureFolder(cameraId: number, relPath: string, parentId: number | null): FolderRow {
    this.sql('INSERT INTO folders (camera_id, rel_path, parent_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(
      cameraId,
      relPath,
      parentId,
    );
    return this.folder(cameraId, relPath)!;
  }

  childFolders(folderId: number): FolderRow[] {
    return (
      this.sql('SELECT id, rel_path, mtime_ms, dev, ino FROM folders WHERE parent_id = ?').all(folderId) as unknown as RawFolder[]
    ).map(toFolder);
  }

  setFolderMtime(folderId: number, mtimeMs: number | null): void {
    this.sql('UPDATE folders SET mtime_ms = ? WHERE id = ?').run(mtimeMs, folderId);
  }

  /**
   * Filesystems mounted inside a camera's folder: each device its folders are on besides the camera
   * folder's own, with the top folder on it (the shortest path sorts first).
   */
  nestedFilesystems(cameraId: number): { dev: number; relPath: string }[] {
    return (
      this.sql(
        `SELECT f.dev AS dev, MIN(f.rel_path) AS rel_path FROM folders f JOIN folders r ON r.camera_id = f.camera_id AND r.rel_path = ''
        WHERE f.camera_id = ? AND f.dev IS NOT NULL AND r.dev IS NOT NULL AND f.dev <> r.dev GROUP BY f.dev`,
      ).all(cameraId) as { dev: number; rel_path: string }[]
    ).map((row) => ({ dev: row.dev, relPath: row.rel_path }));
  }

  /** What the scan saw at a folder's path: a sweep deletes only inside this very folder. */
  setFolderIdentity(folderId: number, dev: number, ino: number): void {
    this.sql('UPDATE folders SET dev = ?, ino = ? WHERE id = ?').run(dev, ino, folderId);
  }

  /** Forgets that a folder was read, so the next scan reads it again (a sweep changed it). */
  invalidateFolders(cameraId: number, relPaths: Iterable<string>): void {
    const statement = this.sql('UPDATE folders SET mtime_ms = NULL WHERE camera_id = ? AND rel_path = ?');
    for (const relPath of relPaths) {
      statement.run(cameraId, relPath);
    }
  }

  /** Ids of the recordings in a folder and every folder below it. */
  recordingIdsBelow(cameraId: number, relPath: string): number[] {
    if (relPath === '') {
      return (this.sql('SELECT id FROM recordings WHERE camera_id = ?').all(cameraId) as { id: number }[]).map((r) => r.id);
    }
    // '/' + 1 is '0': the half-open range [rel/, rel0) is exactly the subtree, and uses the unique index.
    return (
      this.sql('SELECT id FROM recordings WHERE camera_id = ? AND (rel_path >= ? AND rel_path < ?)').all(
        cameraId,
        `${relPath}/`,
        `${relPath}0`,
      ) as { id: number }[]
    ).map((r) => r.id);
  }

  deleteFolderTree(cameraId: number, relPath: string): void {
    if (relPath === '') {
      return;
    }
    this.sql('DELETE FROM folders WHERE camera_id = ? AND (rel_path = ? OR (rel_path >= ? AND rel_path < ?))').run(
      cameraId,
      relPath,
      `${relPath}/`,
      `${relPath}0`,
    );
  }

  // ---- recordings: catalog side ----

  filesInFolder(folderId: number, endAfter = -Infinity): IndexedFile[] {
    return (
      this.sql(
        'SELECT id, rel_path, file_size, size, end_time, class, sidecars, COALESCE(file_mtime, end_time) AS file_mtime, protected, keep_until, dev, ino FROM recordings WHERE folder_id = ? AND end_time > ?',
      ).all(folderId, endAfter) as unknown as RawRecording[]
    ).map((row) => ({
      id: row.id,
      relPath: row.rel_path,
      fileSize: row.file_size,
      size: row.size,
      endTime: row.end_time,
      cls: CLASS_NAME[row.class],
      sidecars: row.sidecars ? (JSON.parse(row.sidecars) as string[]) : [],
      fileMtime: row.file_mtime,
      held: row.protected === 1 || (row.keep_until !== null && row.keep_until > Date.now()),
      dev: row.dev,
      ino: row.ino,
    }));
  }

  /** Records what of a folder's files the camera ignores (read again each time the folder is). */
  setFolderIgnored(folderId: number, ignored: IgnoredFiles): void {
    this.sql('UPDATE folders SET ignored_count = ?, ignored_bytes = ?, ignored_extensions = ? WHERE id = ?').run(
      ignored.count,
      ignored.bytes,
      ignored.count > 0 ? JSON.stringify(ignored.extensions) : null,
      folderId,
    );
  }

  /** The camera's ignored files over all its folders. */
  ignoredFiles(cameraId: number): IgnoredFiles {
    const total: IgnoredFiles = { count: 0, bytes: 0, extensions: {} };
    const rows = this.sql(
      'SELECT ignored_count, ignored_bytes, ignored_extensions FROM folders WHERE camera_id = ? AND ignored_count > 0',
    ).all(cameraId) as { ignored_count: number; ignored_bytes: number; ignored_extensions: string | null }[];
    for (const row of rows) {
      total.count += row.ignored_count;
      total.bytes += row.ignored_bytes;
      const extensions = row.ignored_extensions ? (JSON.parse(row.ignored_extensions) as Record<string, [number, number]>) : {};
      for (const [extension, [count, bytes]] of Object.entries(extensions)) {
        const sum = (total.extensions[extension] ??= [0, 0]);
        sum[0] += count;
        sum[1] += bytes;
      }
    }
    return total;
  }

  /** Indexes a recording; one that the journal held before the index was lost is held again from the start. */
  insertRecording(recording: NewRecording): void {
    const restored = this.restoredHoldsLeft > 0 ? this.takeRestoredHold(recording.cameraId, recording.relPath) : undefined;
    // A hold by hand outlives the switch's: it must not go when the switch is turned off.
    const protectedBy = restored?.protected_by ?? recording.protectedBy;
    const protectedAt = restored?.protected_by ? restored.protected_at : recording.protectedAt;
    this.sql(
      `INSERT INTO recordings (camera_id, folder_id, rel_path, size, file_size, end_time, class, sidecars, protected, protected_by, protected_at, keep_until, file_mtime, dev, ino)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      recording.cameraId,
      recording.folderId,
      recording.relPath,
      recording.size,
      recording.fileSize,
      recording.endTime,
      CLASS_CODE[recording.cls],
      recording.sidecars.length ? JSON.stringify(recording.sidecars) : null,
      protectedBy ? 1 : 0,
      protectedBy,
      protectedAt,
      restored?.keep_until ?? null,
      recording.fileMtime === undefined || recording.fileMtime === recording.endTime ? null : recording.fileMtime,
      recording.dev ?? null,
      recording.ino ?? null,
    );
  }

  private takeRestoredHold(
    cameraId: number,
    relPath: string,
  ): { protected_by: string | null; protected_at: number | null; keep_until: number | null } | undefined {
    const camera = this.camera(cameraId);
    const row = this.sql(
      `SELECT rowid AS id, protected_by, protected_at, keep_until FROM restored_holds
      WHERE (camera_folder = ? AND rel_path = ?) OR (camera_name = ? AND rel_path = ?) ORDER BY camera_folder = ? DESC LIMIT 1`,
    ).get(camera.path, relPath, camera.name, relPath, camera.path) as
      { id: number; protected_by: string | null; protected_at: number | null; keep_until: number | null } | undefined;
    if (row) {
      this.sql('DELETE FROM restored_holds WHERE rowid = ?').run(row.id);
      this.restoredHoldsLeft--;
    }
    return row;
  }

  updateRecordingFile(
    id: number,
    change: {
      size: number;
      fileSize: number;
      endTime: number;
      cls: RecordingClass;
      sidecars: string[];
      fileMtime?: number;
      dev?: number;
      ino?: number;
    },
  ): void {
    this.sql(
      'UPDATE recordings SET size = ?, file_size = ?, end_time = ?, class = ?, sidecars = ?, file_mtime = ?, dev = ?, ino = ? WHERE id = ?',
    ).run(
      change.size,
      change.fileSize,
      change.endTime,
      CLASS_CODE[change.cls],
      change.sidecars.length ? JSON.stringify(change.sidecars) : null,
      change.fileMtime === undefined || change.fileMtime === change.endTime ? null : change.fileMtime,
      change.dev ?? null,
      change.ino ?? null,
      id,
    );
  }

  /** Removes rows in batches inside one transaction per call (the caller's, if one is open). */
  deleteRecordings(ids: number[]): void {
    for (const chunk of chunks(ids)) {
      this.sql(`DELETE FROM recordings WHERE id IN (${placeholders(chunk.length)})`).run(...chunk);
    }
  }

  /**
   * Marks rows as being deleted, but only those still free of holds and export leases now: a person
   * may have protected one since the sweep planned it. Returns the ids claimed. A row claimed can still
   * be protected (see `protect`): the sweep asks `stillDeletable` right before each unlink.
   *
   * The claim is on the disk before this returns (rules §3.8): the sweep unlinks only claimed files, so
   * after a power cut every file it unlinked is either settled or still marked, never "gone at once".
   * synchronous = NORMAL (the rest of the time) would leave the commit in the page cache.
   */
  claimForDeletion(ids: number[], now: number): Set<number> {
    // "Free of holds and leases" is verdict() of src/retention/deletable.ts, said in SQL.
    const claimed = new Set<number>();
    this.db.exec('PRAGMA synchronous = FULL');
    try {
      this.claimRows(ids, now, claimed);
    } finally {
      this.db.exec('PRAGMA synchronous = NORMAL');
    }
    return claimed;
  }

  private claimRows(ids: number[], now: number, claimed: Set<number>): void {
    this.transaction(() => {
      for (const chunk of chunks(ids)) {
        const rows = this.sql(
          `UPDATE recordings SET deleting = 1 WHERE id IN (${placeholders(chunk.length)})
          AND protected = 0 AND NOT COALESCE(keep_until > ?, 0) AND NOT COALESCE(export_lock_until > ?, 0) RETURNING id`,
        ).all(...chunk, now, now) as { id: number }[];
        for (const row of rows) {
          claimed.add(row.id);
        }
      }
    });
  }

  /**
   * Whether a claimed row may still go now: not protected, not kept, not leased since it was claimed.
   * Asked right before each unlink; "free of holds and leases" as in claimForDeletion.
   */
  stillDeletable(id: number, now: number): boolean {
    const row = this.sql(
      'SELECT 1 AS free FROM recordings WHERE id = ? AND protected = 0 AND NOT COALESCE(keep_until > ?, 0) AND NOT COALESCE(export_lock_until > ?, 0)',
    ).get(id, now, now);
    return row !== undefined;
  }

  /** Of these ids (rows whose files a sweep just unlinked), those held now: a hold that came too late. */
  heldAmong(ids: number[], now: number): number[] {
    return chunks(ids).flatMap((chunk) =>
      (
        this.sql(
          `SELECT id FROM recordings WHERE id IN (${placeholders(chunk.length)}) AND (protected = 1 OR COALESCE(keep_until > ?, 0))`,
        ).all(...chunk, now) as { id: number }[]
      ).map((row) => row.id),
    );
  }

  clearDeleting(ids: number[]): void {
    for (const chunk of chunks(ids)) {
      this.sql(`UPDATE recordings SET deleting = 0 WHERE id IN (${placeholders(chunk.length)})`).run(...chunk);
    }
  }

  /** Rows left marked by a sweep that stopped between unlinks and row deletes. */
  interruptedDeletes(): RecordingDetail[] {
    return (this.sql(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE deleting = 1`).all() as unknown as RawRecording[]).map(toRecording);
  }

  // ---- recordings: retention side ----

  /**
   * One page of a camera's recordings, oldest first, after `after`. Keyset paging keeps every page
   * an index range, and stays correct while rows before the cursor are being deleted.
   */
  oldestPage(cameraId: number, options: { endBefore?: number; after?: OrderKey; limit?: number }): Recording[] {
    // Rows a sweep has claimed are on their way out: a later phase must not plan them again while
    // their files are still being unlinked (the planner forgets what it handed out).
    const where = ['camera_id = ?', 'deleting = 0'];
    const params: (number | string)[] = [cameraId];
    if (options.endBefore !== undefined) {
      where.push('end_time < ?');
      params.push(options.endBefore);
    }
    if (options.after) {
      where.push('(end_time, class, rel_path) > (?, ?, ?)');
      params.push(options.after.endTime, options.after.cls, options.after.relPath);
    }
    params.push(options.limit ?? PAGE_SIZE);
    return (
      this.sql(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE ${where.join(' AND ')} ORDER BY end_time, class, rel_path LIMIT ?`).all(
        ...params,
      ) as unknown as RawRecording[]
    ).map(toRecording);
  }

  /**
   * Recordings of the given cameras, oldest first (the planner's RecordingSource). Several cameras
   * are merged from one index range each: a single query over all of them would sort every row.
   */
  oldest(cameraIds: number[], options: OldestFilter = {}): Iterable<Recording> {
    const [only, ...others] = cameraIds;
    if (only !== undefined && others.length === 0) {
      return this.oldestOfCamera(only, options);
    }
    return mergeOldest(cameraIds.map((id) => this.oldestOfCamera(id, options)));
  }

  /**
   * The class is filtered here, not in SQL: `class = ?` on the middle column of the index makes
   * SQLite sort every page's rows that share an end time (a temp b-tree), which is quadratic when a
   * recorder gives many files one mtime. So is the filesystem (a disk mounted inside a camera folder).
   */
  private *oldestOfCamera(cameraId: number, options: OldestFilter): Generator<Recording> {
    let after: OrderKey | undefined;
    for (;;) {
      const page = this.oldestPage(cameraId, { endBefore: options.endBefore, after });
      for (const recording of page) {
        if ((options.cls === undefined || recording.cls === options.cls) && (options.dev === undefined || recording.dev === options.dev)) {
          yield recording;
        }
      }
      if (page.length < PAGE_SIZE) {
        return;
      }
      const last = page[page.length - 1]!;
      after = { endTime: last.endTime, cls: CLASS_CODE[last.cls], relPath: last.relPath };
    }
  }

  /**
   * Bytes of a camera that the quota and the cap do not count (export-locked or in progress), and
   * the bytes that cannot be deleted but count (protected, or under keep-until).
   */
  heldBytes(cameraId: number, now: number, inProgressAfter: number): { uncounted: number; undeletable: number } {
    // Held, exporting and in progress as verdict() of src/retention/deletable.ts says them, in SQL.
    // Every range here is small and indexed: live export locks, the last minutes of footage, holds.
    const sum = (text: string, ...params: number[]) =>
      (this.sql(`SELECT COALESCE(SUM(size), 0) AS bytes FROM recordings WHERE ${text}`).get(...params) as { bytes: number }).bytes;
    const locked = sum('camera_id = ? AND export_lock_until > ?', cameraId, now);
    const young = sum('camera_id = ? AND end_time > ? AND NOT COALESCE(export_lock_until > ?, 0)', cameraId, inProgressAfter, now);
    const protectedUncounted = sum(
      'camera_id = ? AND protected = 1 AND (COALESCE(export_lock_until > ?, 0) OR end_time > ?)',
      cameraId,
      now,
      inProgressAfter,
    );
    const keptUnprotected = sum(
      'keep_until > ? AND camera_id = ? AND protected = 0 AND NOT COALESCE(export_lock_until > ?, 0) AND end_time <= ?',
      now,
      cameraId,
      now,
      inProgressAfter,
    );
    return { uncounted: locked + young, undeletable: this.camera(cameraId).protectedBytes - protectedUncounted + keptUnprotected };
  }

  // ---- recordings: by hand ----

  recording(id: number): RecordingDetail | undefined {
    const row = this.sql(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE id = ?`).get(id) as unknown as RawRecording | undefined;
    return row && toRecording(row);
  }

  recordingByPath(cameraId: number, relPath: string): RecordingDetail | undefined {
    const row = this.sql(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE camera_id = ? AND rel_path = ?`).get(
      cameraId,
      relPath,
    ) as unknown as RawRecording | undefined;
    return row && toRecording(row);
  }

  /**
   * Marks recordings protected; a recording already protected keeps its first protector, except that a
   * hold by hand replaces the Protect switch's (rules §5: turning the switch off never releases it). A
   * row a sweep has claimed is held all the same: the sweep asks again right before each unlink
   * (`stillDeletable`) and keeps it, and a dead sweep's claim is settled at the next start, where a file
   * still there stays.
   */
  protect(ids: number[], by: string, now: number): number {
    const overridable = by === SWITCH_HOLDER ? '' : SWITCH_HOLDER;
    return this.journaled(() => {
      const rows = this.updateReturning(
        (list) =>
          `UPDATE recordings SET protected = 1, protected_by = ?, protected_at = ? WHERE (protected = 0 OR protected_by = ?) AND id IN (${list})`,
        ids,
        by,
        now,
        overridable,
      );
      return { result: rows.length, entries: this.protectEntries(rows, by, now) };
    });
  }

  /** The journal's protect lines for rows that `by` just held, one per camera. */
  private protectEntries(rows: { camera_id: number; rel_path: string }[], by: string, now: number): JournalEntry[] {
    return this.entriesByCamera(rows, (camera, paths) => ({ op: 'protect', camera: camera.name, folder: camera.path, paths, by, at: now }));
  }

  unprotect(ids: number[]): number {
    return this.journaled(() => {
      const rows = this.updateReturning(
        (list) => `UPDATE recordings SET protected = 0, protected_by = NULL, protected_at = NULL WHERE protected = 1 AND id IN (${list})`,
        ids,
      );
      return {
        result: rows.length,
        entries: this.entriesByCamera(rows, (camera, paths) => ({ op: 'unprotect', camera: camera.name, folder: camera.path, paths })),
      };
    });
  }

  /** Protects a camera's recordings that ended after `since`, as `by`. */
  protectSince(cameraId: number, since: number, by: string, now: number): number {
    return this.journaled(() => {
      const rows = this.sql(
        'UPDATE recordings SET protected = 1, protected_by = ?, protected_at = ? WHERE camera_id = ? AND end_time >= ? AND protected = 0 RETURNING camera_id, rel_path',
      ).all(by, now, cameraId, since) as { camera_id: number; rel_path: string }[];
      return { result: rows.length, entries: this.protectEntries(rows, by, now) };
    });
  }

  /** Releases only the holds that `by` made (a switch never releases a hold made by hand). */
  releaseHoldsBy(cameraId: number, by: string): number {
    return this.journaled(() => {
      const changed = Number(
        this.sql(
          'UPDATE recordings SET protected = 0, protected_by = NULL, protected_at = NULL WHERE camera_id = ? AND protected = 1 AND protected_by = ?',
        ).run(cameraId, by).changes,
      );
      const camera = this.camera(cameraId);
      // Also what the journal holds for recordings not indexed yet: released, they must not come back.
      this.sql('DELETE FROM restored_holds WHERE camera_folder = ? AND protected_by = ? AND keep_until IS NULL').run(camera.path, by);
      this.sql('UPDATE restored_holds SET protected_by = NULL, protected_at = NULL WHERE camera_folder = ? AND protected_by = ?').run(
        camera.path,
        by,
      );
      return { result: changed, entries: [{ op: 'release', camera: camera.name, folder: camera.path, by }] };
    });
  }

  /** Sets or clears keep-until dates; returns how many recordings' date changed. */
  setKeepUntil(ids: number[], until: number | null): number {
    return this.journaled(() => {
      const rows = this.updateReturning(
        (list) => `UPDATE recordings SET keep_until = ? WHERE keep_until IS NOT ? AND id IN (${list})`,
        ids,
        until,
        until,
      );
      return {
        result: rows.length,
        entries: this.entriesByCamera(rows, (camera, paths) => ({ op: 'keep', camera: camera.name, folder: camera.path, paths, until })),
      };
    });
  }

  /** Takes an export lease on recordings that are not leased by someone else; returns the ids leased. */
  takeExportLock(ids: number[], owner: string, until: number, now: number): number[] {
    return this.transaction(() => {
      const taken: number[] = [];
      const statement = this.sql(
        'UPDATE recordings SET export_lock_until = ?, export_lock_owner = ? WHERE id = ? AND deleting = 0 AND NOT (COALESCE(export_lock_until, 0) > ? AND export_lock_owner IS NOT ?)',
      );
      for (const id of ids) {
        if (Number(statement.run(until, owner, id, now, owner).changes) === 1) {
          taken.push(id);
        }
      }
      return taken;
    });
  }

  releaseExportLock(ids: number[], owner: string): void {
    const statement = this.sql(
      'UPDATE recordings SET export_lock_until = NULL, export_lock_owner = NULL WHERE id = ? AND export_lock_owner = ?',
    );
    for (const id of ids) {
      statement.run(id, owner);
    }
  }

  expireExportLocks(now: number): number {
    return Number(
      this.sql('UPDATE recordings SET export_lock_until = NULL, export_lock_owner = NULL WHERE export_lock_until <= ?').run(now).changes,
    );
  }

  /** A page of recordings for people (CLI list, settings UI), newest first. */
  list(filter: RecordingFilter, page: { limit: number; offset: number }): RecordingDetail[] {
    const { where, params } = filterWhere(filter);
    params.push(page.limit, page.offset);
    return (
      this.db
        .prepare(
          `SELECT ${RECORDING_COLUMNS} FROM recordings WHERE ${where.join(' AND ')} ORDER BY end_time DESC, rel_path DESC LIMIT ? OFFSET ?`,
        )
        .all(...params) as unknown as RawRecording[]
    ).map(toRecording);
  }

  /** Recordings of a camera that end after `after`: how many, and the latest end time (a clock that runs ahead). */
  recordingsEndingAfter(cameraId: number, after: number): { count: number; latest: number | null } {
    return this.sql('SELECT COUNT(*) AS count, MAX(end_time) AS latest FROM recordings WHERE camera_id = ? AND end_time > ?').get(
      cameraId,
      after,
    ) as { count: number; latest: number | null };
  }

  oldestAndNewest(cameraId: number): { oldest: number | null; newest: number | null } {
    const row = this.sql('SELECT MIN(end_time) AS oldest, MAX(end_time) AS newest FROM recordings WHERE camera_id = ?').get(cameraId) as {
      oldest: number | null;
      newest: number | null;
    };
    return row;
  }

  /**
   * One page of the settings UI's recordings browser. Keyset paging (never OFFSET): a page costs the
   * same at the 100,000th recording as at the first, and stays right while a sweep deletes rows.
   * By time the order is the index's (end time, class, path, id); by size there is no index, so
   * SQLite keeps only the best `limit` rows of the filtered range while it reads them.
   */
  browse(filter: RecordingFilter, order: BrowseOrder, limit: number): RecordingDetail[] {
    const { where, params } = filterWhere(filter);
    const dir = order.descending ? 'DESC' : 'ASC';
    const cmp = order.descending ? '<' : '>';
    let orderBy: string;
    if (order.by === 'size') {
      orderBy = `size ${dir}, id ${dir}`;
      if (order.after) {
        where.push(`(size, id) ${cmp} (?, ?)`);
        params.push(order.after.value, order.after.id);
      }
    } else {
      orderBy = `end_time ${dir}, class ${dir}, rel_path ${dir}, id ${dir}`;
      if (order.after) {
        where.push(`(end_time, class, rel_path, id) ${cmp} (?, ?, ?, ?)`);
        params.push(order.after.value, order.after.cls, order.after.relPath, order.after.id);
      }
    }
    params.push(limit);
    return (
      this.sql(`SELECT ${RECORDING_COLUMNS} FROM recordings WHERE ${where.join(' AND ')} ORDER BY ${orderBy} LIMIT ?`).all(
        ...params,
      ) as unknown as RawRecording[]
    ).map(toRecording);
  }

  /** The ids of the recordings a browser filter matches, up to `limit`. */
  matchingIds(filter: RecordingFilter, limit: number): number[] {
    const { where, params } = filterWhere(filter);
    return (this.sql(`SELECT id FROM recordings WHERE ${where.join(' AND ')} LIMIT ?`).all(...params, limit) as { id: number }[]).map(
      (row) => row.id,
    );
  }

  /** How many recordings, and bytes, match a browser filter (the "N recordings" above the list). */
  browseTotals(filter: RecordingFilter): { count: number; bytes: number } {
    const { where, params } = filterWhere(filter);
    return this.sql(`SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM recordings WHERE ${where.join(' AND ')}`).get(
      ...params,
    ) as { count: number; bytes: number };
  }

  /** Bytes of a camera's recordings that ended after `since`, by class: its recent recording rate. */
  bytesEndedSince(cameraId: number, since: number): Record<RecordingClass, number> {
    const rows = this.sql(
      'SELECT class, COALESCE(SUM(size), 0) AS bytes FROM recordings WHERE camera_id = ? AND end_time >= ? GROUP BY class',
    ).all(cameraId, since) as { class: 0 | 1; bytes: number }[];
    const out: Record<RecordingClass, number> = { continuous: 0, event: 0 };
    for (const row of rows) {
      out[CLASS_NAME[row.class]] = row.bytes;
    }
    return out;
  }

  /**
   * Every camera's totals now, as this hour's row of the usage history (a later measurement in the
   * same hour replaces it); rows older than `keepMs` go.
   */
  recordUsage(now: number, keepMs: number): void {
    const hour = Math.floor(now / HOUR_MS);
    this.sql(
      `INSERT INTO usage_history (camera_id, hour, measured_at, bytes, count, event_bytes, event_count)
       SELECT id, ?, ?, bytes, recording_count, event_bytes, event_count FROM cameras WHERE true
       ON CONFLICT (camera_id, hour) DO UPDATE SET measured_at = excluded.measured_at, bytes = excluded.bytes,
         count = excluded.count, event_bytes = excluded.event_bytes, event_count = excluded.event_count`,
    ).run(hour, now);
    this.sql('DELETE FROM usage_history WHERE hour < ?').run(Math.floor((now - keepMs) / HOUR_MS));
  }

  /** A camera's measured usage since `since`, oldest first. */
  usageHistory(cameraId: number, since: number): UsageSample[] {
    return (
      this.sql(
        'SELECT measured_at, bytes, count, event_bytes, event_count FROM usage_history WHERE camera_id = ? AND hour >= ? ORDER BY hour',
      ).all(cameraId, Math.floor(since / HOUR_MS)) as {
        measured_at: number;
        bytes: number;
        count: number;
        event_bytes: number;
        event_count: number;
      }[]
    ).map((row) => ({
      at: row.measured_at,
      bytes: row.bytes,
      count: row.count,
      eventBytes: row.event_bytes,
      eventCount: row.event_count,
    }));
  }

  // ---- plugin state ----

  getState(key: string): string | undefined {
    return (this.sql('SELECT value FROM plugin_state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setState(key: string, value: string): void {
    this.sql('INSERT INTO plugin_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ---- events and sweep runs ----

  addEvent(event: LoggedEvent): void {
    const { time, camera, kind, severity, message, ...details } = event;
    this.sql('INSERT INTO events (time, camera, kind, severity, message, details) VALUES (?, ?, ?, ?, ?, ?)').run(
      time,
      camera,
      kind,
      severity,
      message,
      Object.keys(details).length > 0 ? JSON.stringify(details) : null,
    );
  }

  recentEvents(limit: number): LoggedEvent[] {
    return (
      this.sql('SELECT time, camera, kind, severity, message, details FROM events ORDER BY time DESC, id DESC LIMIT ?').all(limit) as {
        time: number;
        camera: string | null;
        kind: string;
        severity: Severity;
        message: string;
        details: string | null;
      }[]
    ).map(({ details, ...fixed }) => ({ ...(details ? (JSON.parse(details) as Record<string, unknown>) : {}), ...fixed }));
  }

  pruneEvents(olderThan: number, keepAtLeast: number): void {
    this.sql('DELETE FROM events WHERE time < ? AND id <= (SELECT MAX(id) FROM events) - ?').run(olderThan, keepAtLeast);
  }

  startSweepRun(startedAt: number, dryRun: boolean, trigger: string): number {
    return Number(
      this.sql("INSERT INTO sweeps (started_at, dry_run, trigger, status) VALUES (?, ?, ?, 'running')").run(
        startedAt,
        dryRun ? 1 : 0,
        trigger,
      ).lastInsertRowid,
    );
  }

  finishSweepRun(
    id: number,
    finishedAt: number,
    status: string,
    totals: { count: number; bytes: number; failures: number },
    report: unknown,
  ): void {
    this.sql(
      'UPDATE sweeps SET finished_at = ?, status = ?, deleted_count = ?, deleted_bytes = ?, failures = ?, report = ? WHERE id = ?',
    ).run(finishedAt, status, totals.count, totals.bytes, totals.failures, JSON.stringify(report), id);
  }

  lastSweepRun(
    options: { includeDryRuns?: boolean } = {},
  ): { startedAt: number; finishedAt: number | null; status: string; dryRun: boolean; report: unknown } | undefined {
    const row = this.sql(
      `SELECT started_at, finished_at, status, dry_run, report FROM sweeps ${options.includeDryRuns ? '' : 'WHERE dry_run = 0'} ORDER BY id DESC LIMIT 1`,
    ).get() as { started_at: number; finished_at: number | null; status: string; dry_run: number; report: string | null } | undefined;
    return (
      row && {
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        status: row.status,
        dryRun: row.dry_run === 1,
        report: row.report ? JSON.parse(row.report) : null,
      }
    );
  }

  /**
   * Checkpoints the WAL and lets SQLite refresh its statistics; cheap, run after sweeps. With
   * `compact` (a sweep that deleted little: the one after a big sweep, not the big sweep itself, whose
   * time it would add to), an index that is mostly free pages is compacted: VACUUM rewrites it (a few
   * seconds for a large index, once), then a TRUNCATE checkpoint gives the space back.
   */
  optimize(compact = false): void {
    this.db.exec('PRAGMA optimize');
    const { pages, free } = this.pageCounts();
    if (compact && pages >= VACUUM_MIN_PAGES && free > pages * VACUUM_FREE_SHARE) {
      try {
        this.db.exec('VACUUM');
        this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
        return;
      } catch {
        // Another process kept the index busy past the timeout: compacted after a later sweep.
      }
    }
    this.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** The index file's pages, and how many of them are free. */
  pageCounts(): { pages: number; free: number } {
    const pages = (this.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    const free = (this.db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count;
    return { pages, free };
  }
}
