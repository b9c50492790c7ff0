/** The platform config after validation: defaults applied, paths absolute, units as the user wrote them. */

export type RecordingClass = 'event' | 'continuous';

/** How a camera's recordings get their class: "mixed" lets eventPatterns decide; the other two name it for all. */
export const RECORDING_MODES = ['mixed', 'events', 'continuous'] as const;
export type RecordingMode = (typeof RECORDING_MODES)[number];

export interface CameraConfig {
  name: string;
  /** Absolute, normalised folder path (no trailing slash). */
  path: string;
  retentionDays: number;
  /** Defaults to 3 × retentionDays. */
  eventRetentionDays: number;
  storageQuotaGB?: number;
  eventPatterns: string[];
  /** Lower-case, without the dot. */
  extensions: string[];
  protectSwitch: boolean;
  /** The recorder whose layout filled in the fields below (src/config/presets.ts); 'generic' fills in today's defaults. */
  recorder: string;
  /**
   * Globs on the path relative to `path` that select this camera's files; undefined: every file below
   * `path`. Cameras may share a folder (or lie inside one another's) only through these.
   */
  match?: string[];
  recordingMode: RecordingMode;
  /** Patterns with `{base}`, relative to a recording's folder, of files that go with that recording. */
  companions: string[];
  /** Globs of folders (relative to `path`) that each hold one recording: every file below goes with it. */
  recordingFolders: string[];
  /** A regular expression on the relative path whose named groups give the end time (rules §1). */
  nameTime?: string;
  /** The time zone of the times in names; undefined: the platform's `timezone`, else the system's. */
  nameTimeZone?: string;
  /**
   * The camera's identity in the index: its folder, or, for a camera that shares its folder with
   * others by `match`, the folder and the name (`/rec#Front Door`). A camera alone in its folder
   * keeps the key it always had.
   */
  indexKey: string;
}

export interface RetentionConfig {
  name: string;
  cameras: CameraConfig[];
  maxTotalGB?: number;
  minFreeGB?: number;
  minAgeSeconds: number;
  protectHours: number;
  schedule: string;
  timezone?: string;
  sweepOnStartup: boolean;
  /** Absolute path of the SQLite index. */
  databasePath: string;
  exportPath?: string;
  /** Which HomeKit sensor type shows disk pressure; 'none' leaves only the Battery service. */
  diskPressureSensor: DiskPressureSensor;
  /** Offer a Pause switch: while on, only the free-space floor deletes. */
  pauseSwitch: boolean;
}

/** contact: a notification in the Home app; occupancy: usable in automations; leak: a critical alert. */
export const DISK_PRESSURE_SENSORS = ['contact', 'occupancy', 'leak', 'none'] as const;
export type DiskPressureSensor = (typeof DISK_PRESSURE_SENSORS)[number];

export const DEFAULT_EXTENSIONS = ['mp4', 'mkv', 'mov', 'avi', 'ts', 'm4s', 'h264', 'hevc', 'jpg', 'jpeg'];
export const DEFAULT_EVENT_PATTERNS = ['**/events/**', '**/*event*', '**/*motion*', '**/*detection*', '**/*alert*'];
