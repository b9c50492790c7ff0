/**
 * Schema versions, applied in order by `migrate` and recorded in `PRAGMA user_version`.
 * Never edit a released migration: add a new one.
 *
 * Ordering columns: "oldest" is (end_time, class, rel_path) with class 0 = continuous before
 * 1 = event, so every sweep query is a range over one of the indexes below.
 */
export const MIGRATIONS: string[] = [
  /* 1 */ `
  CREATE TABLE cameras (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    available INTEGER NOT NULL DEFAULT 1,
    unavailable_reason TEXT,
    unavailable_since INTEGER,
    last_scan_at INTEGER,
    protect_switch_on INTEGER NOT NULL DEFAULT 0,
    protect_switch_since INTEGER,
    -- Totals kept by the triggers below, so that no sweep re-sums a million rows.
    recording_count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    protected_count INTEGER NOT NULL DEFAULT 0,
    protected_bytes INTEGER NOT NULL DEFAULT 0,
    event_count INTEGER NOT NULL DEFAULT 0,
    event_bytes INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,            -- '' is the camera folder itself
    parent_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    -- NULL means "read this folder again on the next scan".
    mtime_ms REAL,
    UNIQUE (camera_id, rel_path)
  );
  CREATE INDEX folders_by_parent ON folders (parent_id);

  CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
    folder_id INTEGER NOT NULL REFERENCES folders(id),
    rel_path TEXT NOT NULL,
    size INTEGER NOT NULL,             -- the file and its sidecars
    file_size INTEGER NOT NULL,        -- the file alone, to notice a change
    end_time REAL NOT NULL,            -- mtime in ms
    class INTEGER NOT NULL,            -- 0 continuous, 1 event
    sidecars TEXT,                     -- JSON array of sidecar file names in the same folder
    protected INTEGER NOT NULL DEFAULT 0,
    protected_by TEXT,
    protected_at INTEGER,
    keep_until INTEGER,
    export_lock_until INTEGER,
    export_lock_owner TEXT,
    -- Set in the same transaction that precedes a batch of unlinks; a row still marked at start-up
    -- belongs to a sweep that crashed between unlink and row delete.
    deleting INTEGER NOT NULL DEFAULT 0,
    UNIQUE (camera_id, rel_path)
  );
  CREATE INDEX recordings_by_camera_class_age ON recordings (camera_id, class, end_time, rel_path);
  CREATE INDEX recordings_by_camera_age ON recordings (camera_id, end_time, class, rel_path);
  CREATE INDEX recordings_by_age ON recordings (end_time, class, rel_path);
  CREATE INDEX recordings_by_folder ON recordings (folder_id, end_time);
  CREATE INDEX recordings_protected ON recordings (camera_id, end_time) WHERE protected = 1;
  CREATE INDEX recordings_keep_until ON recordings (keep_until) WHERE keep_until IS NOT NULL;
  CREATE INDEX recordings_export_lock ON recordings (export_lock_until) WHERE export_lock_until IS NOT NULL;
  CREATE INDEX recordings_deleting ON recordings (camera_id) WHERE deleting = 1;

  CREATE TRIGGER recordings_count_insert AFTER INSERT ON recordings BEGIN
    UPDATE cameras SET
      recording_count = recording_count + 1,
      bytes = bytes + NEW.size,
      protected_count = protected_count + NEW.protected,
      protected_bytes = protected_bytes + NEW.protected * NEW.size,
      event_count = event_count + NEW.class,
      event_bytes = event_bytes + NEW.class * NEW.size
    WHERE id = NEW.camera_id;
  END;
  CREATE TRIGGER recordings_count_delete AFTER DELETE ON recordings BEGIN
    UPDATE cameras SET
      recording_count = recording_count - 1,
      bytes = bytes - OLD.size,
      protected_count = protected_count - OLD.protected,
      protected_bytes = protected_bytes - OLD.protected * OLD.size,
      event_count = event_count - OLD.class,
      event_bytes = event_bytes - OLD.class * OLD.size
    WHERE id = OLD.camera_id;
  END;
  CREATE TRIGGER recordings_count_update AFTER UPDATE OF size, protected, class ON recordings BEGIN
    UPDATE cameras SET
      bytes = bytes - OLD.size + NEW.size,
      protected_count = protected_count - OLD.protected + NEW.protected,
      protected_bytes = protected_bytes - OLD.protected * OLD.size + NEW.protected * NEW.size,
      event_count = event_count - OLD.class + NEW.class,
      event_bytes = event_bytes - OLD.class * OLD.size + NEW.class * NEW.size
    WHERE id = NEW.camera_id;
  END;

  CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    dry_run INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,              -- running, done, failed, stopped
    deleted_count INTEGER NOT NULL DEFAULT 0,
    deleted_bytes INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    report TEXT                        -- the JSON report
  );
  CREATE INDEX sweeps_by_start ON sweeps (started_at);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    camera TEXT,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX events_by_time ON events (time);

  -- One row at most: the holder of the sweep lock, shared by every process that opens this file.
  CREATE TABLE sweep_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    -- With the pid, tells a live holder from a dead one whose pid was reused (containers restart at low pids).
    process_start TEXT NOT NULL,
    host TEXT NOT NULL,
    purpose TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  /* 2 */ `
  -- Small settings that belong to the index, such as whether retention is paused (the Pause switch).
  CREATE TABLE plugin_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  /* 3 */ `
  -- Every index is paid for on each insert (a first scan inserts every recording). The cap and the
  -- floor now merge per-camera ranges, and the age phase reads the per-camera range with a class
  -- filter, so these two are not needed.
  DROP INDEX recordings_by_age;
  DROP INDEX recordings_by_camera_class_age;
  `,
  /* 4 */ `
  -- Holds read back from the holds journal when the index had to be made anew (deleted, corrupt):
  -- applied to each recording as the scan indexes it again, then dropped. Keyed by camera folder;
  -- the name is a second way to find them when the camera's folder moved.
  CREATE TABLE restored_holds (
    camera_folder TEXT NOT NULL,
    camera_name TEXT NOT NULL,
    rel_path TEXT NOT NULL,
    protected_by TEXT,
    protected_at INTEGER,
    keep_until INTEGER,
    PRIMARY KEY (camera_folder, rel_path)
  );
  CREATE INDEX restored_holds_by_name ON restored_holds (camera_name, rel_path);
  CREATE TABLE restored_switches (
    camera_folder TEXT PRIMARY KEY,
    camera_name TEXT NOT NULL,
    since INTEGER NOT NULL
  );
  `,
  /* 5 */ `
  -- The recording file's own mtime, when its end time comes from elsewhere (a time in its name, the newest
  -- file of a folder that is one recording): what tells a rewritten file. NULL: the end time is the mtime.
  ALTER TABLE recordings ADD COLUMN file_mtime REAL;
  -- Files of the camera in each folder that are neither recordings nor companions (the ignored_files warning),
  -- kept per folder because a folder whose listing did not change is not read again.
  ALTER TABLE folders ADD COLUMN ignored_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE folders ADD COLUMN ignored_bytes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE folders ADD COLUMN ignored_extensions TEXT; -- JSON {"ext": [count, bytes]}
  -- Every folder is read again once, so images beside their video become its thumbnails everywhere at once.
  UPDATE folders SET mtime_ms = NULL;
  `,
  /* 6 */ `
  -- Identity (st_dev, st_ino) of each folder and recording as the scan last saw it (issue 11). A
  -- sweep deletes only inside folders that are still these very folders (a folder swapped for a link,
  -- or for another folder, is not), only files that are still these very files, and the dev says which
  -- filesystem a recording lives on (a disk mounted inside a camera folder has its own floor). NULL: not
  -- seen since the upgrade; the next scan reads such a folder again and fills them in.
  ALTER TABLE folders ADD COLUMN dev INTEGER;
  ALTER TABLE folders ADD COLUMN ino INTEGER;
  ALTER TABLE recordings ADD COLUMN dev INTEGER;
  ALTER TABLE recordings ADD COLUMN ino INTEGER;
  `,
  /* 7 */ `
  -- Each camera's usage as measured by a scan or a sweep, the last measurement of each hour: the
  -- settings screen's chart and forecast read the past from here instead of reconstructing it from
  -- what is left on disk. Pruned to a year.
  CREATE TABLE usage_history (
    camera_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    measured_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    count INTEGER NOT NULL,
    event_bytes INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    PRIMARY KEY (camera_id, hour)
  ) WITHOUT ROWID;
  `,
];
