/** The platform config after validation: defaults applied, paths absolute, units as the user wrote them. */

export type RecordingClass = 'event' | 'continuous';

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
