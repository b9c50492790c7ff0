import { copyFile, lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { makeMatcher } from '../catalog/classify.js';
import { scanCamera, scanCameraAhead, type ScanOptions, SWITCH_HOLDER, type ScanResult } from '../catalog/scan.js';
import { cameraFolderHolding } from '../config/schema.js';
import type { CameraConfig, RecordingClass, RetentionConfig } from '../config/types.js';
import { bytesOfGB, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from '../config/units.js';
import { CORRUPTION_MESSAGE, type IndexOpenOptions, isCorruption } from '../store/database.js';
import { SweepLockHeldError } from '../store/lock.js';
import { indexLocation, migrateDatabase, moveAside } from '../store/recover.js';
import { type BrowseOrder, type CameraRow, type RecordingDetail, type RecordingFilter, type Severity, Store } from '../store/store.js';
import { adoptChangedCameraKeys } from './camera-keys.js';
import type { EngineContext } from './context.js';
import { isInsideCamera } from './inside-camera.js';
import { isExporting, isHeld, isInProgress, liveKeepUntil } from './deletable.js';
import { deleteRecordingsNow, type ManualDeleteResult } from './delete-by-hand.js';
import { type DiskProbe, type FilesystemStatus, filesystemsOf, readFolder, realDisk } from './disk.js';
import { plural } from './format.js';
import { type Logger, logAtSeverity, silentLogger } from './logger.js';
import { isPaused, setPaused } from './pause.js';
import type { SweepReport } from './report.js';
import { tellHoldsSync } from './reconcile.js';
import { runSweep, type SweepOptions } from './sweep.js';
import { dailyFigures, dayEnds, GROWTH_WINDOW_DAYS, measuredGrowth, recordUsage } from './usage.js';

/**
 * An export lease: a sweep leaves a leased recording alone until the lease ends. Renewed every third
 * of it while the export runs (a big clip on a slow NAS can take longer than one lease), released at
 * the end; a process that dies with it leaves a lease that simply runs out.
 */
const EXPORT_LEASE_MS = 15 * MINUTE_MS;

export { silentLogger } from './logger.js';

export interface CameraStatus {
  name: string;
  path: string;
  /** The camera's identity (its folder, or folder and name when it shares the folder by match): what its switch is keyed by. */
  key: string;
  available: boolean;
  unavailableReason: string | null;
  /** For an unavailable camera, the nearest folder above its own that exists: where a disk may be unmounted. */
  missingBelow: string | null;
  recordings: number;
  bytes: number;
  eventRecordings: number;
  protectedRecordings: number;
  protectedBytes: number;
  quotaBytes: number | null;
  oldest: string | null;
  newest: string | null;
  protectSwitchOn: boolean;
}

export type { FilesystemStatus } from './disk.js';

export interface StatusReport {
  /** Retention paused by the Pause switch. */
  paused: boolean;
  cameras: CameraStatus[];
  filesystems: FilesystemStatus[];
  lastSweep: { startedAt: string; finishedAt: string | null; status: string; report: unknown } | null;
}

export class RecordingNotFoundError extends Error {}

/** An export folder inside a camera folder: the copies would be taken for recordings and deleted. */
export class ExportDestinationError extends Error {}

/** The forecast's recording rate is that of the last week: long enough to even out quiet days. */
const RATE_WINDOW_DAYS = 7;

/** A recording as the settings UI lists it: by id and camera-relative path, never an absolute path. */
export interface BrowsedRecording {
  id: number;
  camera: string;
  path: string;
  size: number;
  endTime: number;
  cls: RecordingClass;
  protected: boolean;
  protectedBy: string | null;
  /** A live keep-until date; null when there is none or it has passed. */
  keepUntil: number | null;
  exporting: boolean;
  inProgress: boolean;
  /** It has an image sidecar, which the settings screen shows beside it. */
  thumbnail: boolean;
}

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** A recording's thumbnail: the first image among its sidecars (names relative to its folder). */
export function thumbnailOf(sidecars: string[]): string | undefined {
  return sidecars.find((name) => IMAGE.test(name));
}

export interface DeletionPreview {
  count: number;
  bytes: number;
  byClass: Record<RecordingClass, number>;
  excluded: { protected: number; exporting: number; inProgress: number; missing: number };
}

export interface DiskForecast {
  cameras: string[];
  /** The cameras' bytes on this disk now. */
  bytes: number;
  totalBytes: number | null;
  freeBytes: number | null;
  floorBytes: number | null;
  /** Measured net growth (recording less deletions); the recording rate while under a day is measured. */
  bytesPerDay: number;
  /** Over how many days the growth was measured; null when it is the recording rate instead. */
  measuredDays: number | null;
  /** Where usage settles: the rules' figure, bounded by the free space above the floor. */
  holdsAt: number;
  /** What holds usage: the cameras' rules, or the floor (or the disk's end, without a floor) before them. */
  limitedBy: 'rules' | 'floor' | 'disk';
  /** Days until the floor (or the disk's end) is reached at the measured growth; null when the rules hold usage first. */
  daysUntilLimit: number | null;
}

export interface Forecast {
  cameras: { name: string; bytesPerDay: number; bytes: number; holdsAt: number }[];
  bytesPerDay: number;
  totalBytes: number;
  capBytes: number | null;
  /** Where retention (age, quotas, floor, cap) holds total usage, each disk bounded by its own room. */
  holdsAt: number;
  /** Days until the cap is reached at the measured growth; null when usage is held below it. */
  daysUntilCap: number | null;
  filesystems: DiskForecast[];
}

export interface StorageHistory {
  /** The end of each day (the last is now). */
  days: number[];
  /** Each camera's measured bytes per day; null on a day nothing measured it. */
  cameras: { name: string; bytes: (number | null)[] }[];
  /** All cameras together; null on a day one of them was not measured. */
  total: (number | null)[];
  capBytes: number | null;
  disks: { cameras: string[]; totalBytes: number }[];
}

/**
 * The engine as the CLI, the Homebridge platform and the settings UI use it: one config, one index.
 * It knows nothing of Homebridge.
 */
export class RetentionEngine {
  private readonly ctx: EngineContext;
  private readonly indexOptions: IndexOpenOptions;
  private unrecordedFailure: string | undefined;
  private readonly locationFile: string | undefined;
  private readonly exportLeaseMs: number;

  /**
   * `locationFile` remembers where the index was last opened (recover.ts: locationFileIn): when the
   * config moves `databasePath`, the index and its holds journal move with it.
   */
  constructor(
    readonly config: RetentionConfig,
    options: {
      log?: Logger;
      disk?: DiskProbe;
      store?: Store;
      locationFile?: string;
      /** The export lease (tests shorten it to outlast it with a slow disk). */
      exportLeaseMs?: number;
    } & IndexOpenOptions = {},
  ) {
    const log = options.log ?? silentLogger;
    this.exportLeaseMs = options.exportLeaseMs ?? EXPORT_LEASE_MS;
    this.indexOptions = { quickCheck: options.quickCheck };
    this.locationFile = options.locationFile;
    this.ctx = {
      store: options.store ?? openStore(config.databasePath, log, options.locationFile, this.indexOptions),
      config,
      disk: options.disk ?? realDisk,
      log,
    };
    this.ensureCameras();
  }

  /**
   * Each configured camera has its row. One whose key changed in its folder (renamed, or gained or lost
   * `match`) takes over its old row when that is unambiguous; one whose folder moved keeps its
   * recordings and holds by its name (rules §12).
   */
  private ensureCameras(): void {
    adoptChangedCameraKeys(this.store, this.config.cameras, this.ctx.log);
    const configuredKeys = new Set(this.config.cameras.map((camera) => camera.indexKey));
    for (const camera of this.config.cameras) {
      const from = this.store.followMovedCamera(camera.name, camera.indexKey, configuredKeys);
      if (from !== undefined) {
        const message = `the folder of camera "${camera.name}" changed from ${from} to ${camera.path}: its recordings and holds follow it`;
        this.ctx.log.info(`${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
        this.store.addEvent({
          time: Date.now(),
          camera: camera.name,
          kind: 'camera_moved',
          severity: 'info',
          message,
          from,
          to: camera.path,
        });
      }
      this.store.ensureCamera(camera.name, camera.indexKey);
    }
  }

  /** The index; a new one after damage was found while running (see sweep). */
  get store(): Store {
    return this.ctx.store;
  }

  close(): void {
    this.store.close();
  }

  /**
   * A sweep. When it finds the index damaged (a page that reads as malformed), the index is moved
   * aside and made anew at once, so that the next sweep rebuilds it from the folders.
   */
  async sweep(options: SweepOptions = {}): Promise<SweepReport> {
    if (!this.store.isStillAtPath) {
      const movedTo = this.locationFile === undefined ? undefined : indexLocation(this.locationFile);
      if (movedTo !== undefined && movedTo !== this.store.path && existsSync(movedTo)) {
        // Moved by a process with another databasePath (an older version): an empty index here would hold nothing.
        this.ctx.log.warn(
          `The index ${this.store.path} was moved to ${movedTo} by another process while in use; this process follows it there.`,
        );
        this.reopenIndex(undefined, movedTo);
      } else {
        this.ctx.log.warn(
          `The index ${this.store.path} was deleted or replaced while in use; it is opened again (a new one is built from the camera folders).`,
        );
        this.reopenIndex();
      }
    }
    this.recordUnrecordedFailure();
    let report: SweepReport;
    try {
      report = await runSweep(this.ctx, options);
    } catch (error) {
      if (isCorruption(error)) {
        this.replaceDamagedIndex((error as Error).message);
      } else if (!(error instanceof SweepLockHeldError)) {
        this.unrecordedFailure = (error as Error).message;
      }
      throw error;
    }
    if (report.status === 'failed' && CORRUPTION_MESSAGE.test(report.error ?? '')) {
      this.replaceDamagedIndex(report.error!);
    }
    return report;
  }

  /** A sweep that could not start because the index could not be written (a full disk) gets its event-log row once it can. */
  private recordUnrecordedFailure(): void {
    if (this.unrecordedFailure === undefined) {
      return;
    }
    try {
      this.store.addEvent({
        time: Date.now(),
        camera: null,
        kind: 'sweep_failed',
        severity: 'error',
        message: `a sweep failed: ${this.unrecordedFailure} (recorded late: the index could not be written then)`,
      });
      this.unrecordedFailure = undefined;
    } catch {
      // Still cannot write: the caller logged the failure, and the next sweep tries again.
    }
  }

  private replaceDamagedIndex(reason: string): void {
    this.reopenIndex(() => ({ to: moveAside(this.store.path), reason }));
  }

  private reopenIndex(beforeOpen?: () => { to: string; reason: string }, path = this.store.path): void {
    this.store.close();
    const movedAside = beforeOpen?.();
    this.ctx.store = Store.open(path, this.indexOptions);
    announce(this.ctx.store, this.ctx.log, movedAside ?? this.ctx.store.opened.movedAside);
    this.ensureCameras();
  }

  /** The Pause switch: while paused, sweeps delete only for the free-space floor (a full disk stops recording). */
  get paused(): boolean {
    return isPaused(this.store);
  }

  setPaused(paused: boolean): void {
    setPaused(this.store, paused);
  }

  /** Reconcile only (rules §3.1), under the sweep lock, one call after another. */
  scan(options: { acceptMissing?: string[] } = {}): ScanResult[] {
    this.beginScan();
    try {
      const scans = this.config.cameras.map((camera) => scanCamera(this.store, camera, this.scanOptions(camera, options)));
      recordUsage(this.store, this.ctx.log);
      return scans;
    } finally {
      this.store.lock.release();
    }
  }

  /** The same, with the calls made ahead over a network (rules §3.1): the command's `scan`. */
  async scanAhead(options: { acceptMissing?: string[] } = {}): Promise<ScanResult[]> {
    this.beginScan();
    try {
      const scans: ScanResult[] = [];
      for (const camera of this.config.cameras) {
        scans.push(await scanCameraAhead(this.store, camera, this.scanOptions(camera, options)));
      }
      recordUsage(this.store, this.ctx.log);
      return scans;
    } finally {
      this.store.lock.release();
    }
  }

  /** Takes the sweep lock and brings the journal's holds into the index, as a sweep does first. */
  private beginScan(): void {
    this.store.lock.acquire('scan');
    try {
      tellHoldsSync(this.store.syncHoldsFromJournal(), (event) => {
        logAtSeverity(this.ctx.log, event.severity, event.message);
        this.store.addEvent({ ...event, time: Date.now() });
      });
    } catch (error) {
      this.store.lock.release();
      throw error;
    }
  }

  private scanOptions(camera: CameraConfig, options: { acceptMissing?: string[] }): ScanOptions {
    return {
      minAgeMs: this.config.minAgeSeconds * SECOND_MS,
      acceptMissing: options.acceptMissing?.includes(camera.name),
      cameras: this.config.cameras,
      timeZone: this.config.timezone,
    };
  }

  cameraRow(camera: CameraConfig): CameraRow {
    return this.store.ensureCamera(camera.name, camera.indexKey);
  }

  status(): StatusReport {
    const cameras = this.config.cameras.map((camera): CameraStatus => {
      const row = this.cameraRow(camera);
      const range = this.store.oldestAndNewest(row.id);
      return {
        name: camera.name,
        path: camera.path,
        key: camera.indexKey,
        available: row.available,
        unavailableReason: row.unavailableReason,
        missingBelow: row.available ? null : nearestExistingFolder(dirname(camera.path)),
        recordings: row.recordingCount,
        bytes: row.bytes,
        eventRecordings: row.eventCount,
        protectedRecordings: row.protectedCount,
        protectedBytes: row.protectedBytes,
        quotaBytes: bytesOfGB(camera.storageQuotaGB) ?? null,
        oldest: range.oldest === null ? null : new Date(range.oldest).toISOString(),
        newest: range.newest === null ? null : new Date(range.newest).toISOString(),
        protectSwitchOn: row.protectSwitchOn,
      };
    });
    const filesystems = filesystemsOf(
      this.config.cameras.map((camera) => readFolder(this.ctx.disk, camera)),
      this.floorBytes(),
    );
    // Disks mounted inside a camera folder (as the last scan found them) are shown on their own (rules §3.5).
    const nested = new Map<string, FilesystemStatus>();
    for (const camera of this.config.cameras) {
      for (const { dev, relPath } of this.store.nestedFilesystems(this.cameraRow(camera).id)) {
        this.addNestedFilesystem(nested, String(dev), camera.name, join(camera.path, relPath));
      }
    }
    filesystems.push(...nested.values());
    const last = this.store.lastSweepRun();
    return {
      paused: this.paused,
      cameras,
      filesystems,
      lastSweep: last
        ? {
            startedAt: new Date(last.startedAt).toISOString(),
            finishedAt: last.finishedAt ? new Date(last.finishedAt).toISOString() : null,
            status: last.status,
            report: last.report,
          }
        : null,
    };
  }

  private floorBytes(): number | null {
    return bytesOfGB(this.config.minFreeGB) ?? null;
  }

  cameraByName(name: string): CameraConfig | undefined {
    return this.config.cameras.find((camera) => camera.name === name);
  }

  list(
    filter: Omit<RecordingFilter, 'cameraIds'> & { cameraNames?: string[] },
    page: { limit: number; offset: number },
  ): (RecordingDetail & { camera: string; absolutePath: string })[] {
    const cameraIds = filter.cameraNames?.map((name) => {
      const camera = this.cameraByName(name);
      if (!camera) {
        throw new RecordingNotFoundError(`no camera named "${name}"`);
      }
      return this.cameraRow(camera).id;
    });
    const byId = new Map(this.config.cameras.map((camera) => [this.cameraRow(camera).id, camera]));
    return this.store
      .list({ ...filter, cameraIds }, page)
      .filter((recording) => byId.has(recording.cameraId))
      .map((recording) => {
        const camera = byId.get(recording.cameraId)!;
        return { ...recording, camera: camera.name, absolutePath: join(camera.path, recording.relPath) };
      });
  }

  /**
   * Finds the indexed recording at a file path (absolute, or relative to `cwd`). Only paths inside a
   * camera folder are accepted; a file not yet indexed is looked for again after a scan.
   */
  resolveRecording(path: string, cwd = process.cwd()): { camera: CameraConfig; recording: RecordingDetail } {
    const absolute = resolve(cwd, path);
    // Cameras may share a folder (match): the file is the one camera's whose folder holds it and whose match selects it.
    const camera = this.config.cameras.find(
      (c) => absolute.startsWith(c.path + sep) && makeMatcher(c)(relative(c.path, absolute).split(sep).join('/')),
    );
    if (!camera) {
      throw new RecordingNotFoundError(`${absolute} is not inside any camera folder, or no camera's "match" selects it`);
    }
    const relPath = relative(camera.path, absolute).split(sep).join('/');
    const row = this.cameraRow(camera);
    let recording = this.store.recordingByPath(row.id, relPath);
    if (!recording) {
      this.scan();
      recording = this.store.recordingByPath(row.id, relPath);
    }
    if (!recording) {
      throw new RecordingNotFoundError(`${absolute} is not a recording of camera "${camera.name}"`);
    }
    return { camera, recording };
  }

  /**
   * Evidence holds by hand. `until` makes it a keep-until date instead of a lasting hold. Returns
   * how many recordings it changed: ids that name no recording (already deleted) do not count.
   */
  protect(ids: number[], by: string, until?: number): number {
    return this.store.transaction(() =>
      until === undefined ? this.store.protect(ids, by, Date.now()) : this.store.setKeepUntil(ids, until),
    );
  }

  /**
   * Releases holds and keep-until dates, whoever made them: a person asked for exactly these.
   * Returns how many recordings were held (by either) and are free now.
   */
  unprotect(ids: number[]): number {
    return this.store.transaction(() => {
      const now = Date.now();
      const held = [...new Set(ids)].filter((id) => {
        const recording = this.store.recording(id);
        return recording !== undefined && isHeld(recording, now);
      }).length;
      this.store.setKeepUntil(ids, null);
      this.store.unprotect(ids);
      return held;
    });
  }

  protectRecent(camera: CameraConfig, hours: number, by: string): number {
    return this.store.protectSince(this.cameraRow(camera).id, Date.now() - hours * HOUR_MS, by, Date.now());
  }

  /** rules §5: on protects the last `protectHours` and everything indexed while on; off releases only its own holds. */
  setProtectSwitch(camera: CameraConfig, on: boolean): number {
    const row = this.cameraRow(camera);
    return this.store.transaction(() => {
      this.store.setProtectSwitch(row.id, on, Date.now());
      return on
        ? this.store.protectSince(row.id, Date.now() - this.config.protectHours * HOUR_MS, SWITCH_HOLDER, Date.now())
        : this.store.releaseHoldsBy(row.id, SWITCH_HOLDER);
    });
  }

  /**
   * Copies recordings (and sidecars) to `destination/<camera>/<path>` under an export lease, checks
   * each copy against the original (size and SHA-256), then releases the lease. The original stays.
   */
  async export(
    ids: number[],
    destination: string,
    owner: string,
    onFile?: (done: number, total: number) => void,
  ): Promise<{ exported: string[]; skipped: { id: number; reason: string }[] }> {
    const holder = cameraFolderHolding(
      destination,
      this.config.cameras.map((camera) => camera.path),
    );
    if (holder !== undefined) {
      throw new ExportDestinationError(
        `cannot export to ${destination}: it is inside the camera folder ${holder}, where the copies would be taken for recordings and deleted`,
      );
    }
    const lease = this.exportLeaseMs;
    const leased = this.store.takeExportLock(ids, owner, Date.now() + lease, Date.now());
    const skipped = ids.filter((id) => !leased.includes(id)).map((id) => ({ id, reason: 'another export holds it' }));
    const exported: string[] = [];
    const byId = new Map(this.config.cameras.map((camera) => [this.cameraRow(camera).id, camera]));
    // The copies run on the thread pool, so this timer runs during them: a copy longer than one lease keeps it.
    const renewal = setInterval(() => {
      try {
        this.store.takeExportLock(leased, owner, Date.now() + lease, Date.now());
      } catch (error) {
        this.ctx.log.warn(`the export lease could not be renewed: ${(error as Error).message}`);
      }
    }, lease / 3);
    try {
      for (const [i, id] of leased.entries()) {
        const recording = this.store.recording(id);
        const camera = recording && byId.get(recording.cameraId);
        if (!recording || !camera) {
          skipped.push({ id, reason: 'not a recording of a configured camera' });
          continue;
        }
        const folder = dirname(recording.relPath);
        const copies = [recording.relPath, ...recording.sidecars.map((sidecar) => (folder === '.' ? sidecar : `${folder}/${sidecar}`))].map(
          (name) => ({ source: join(camera.path, name), target: join(destination, camera.name, name) }),
        );
        const found = await Promise.all(copies.map(({ source, target }) => existingCopy(source, target)));
        // The export folder is the user's: a file already there that is not this recording stays as it is.
        const conflict = copies.find((_, k) => found[k] === 'different');
        if (conflict) {
          skipped.push({ id, reason: `a different file is already at ${conflict.target}` });
          continue;
        }
        for (const [k, { source, target }] of copies.entries()) {
          if (found[k] === 'none') {
            await mkdir(dirname(target), { recursive: true });
            await copyVerified(source, target);
          }
          exported.push(target);
        }
        onFile?.(i + 1, leased.length);
      }
    } finally {
      clearInterval(renewal);
      this.store.releaseExportLock(leased, owner);
    }
    return { exported, skipped };
  }
  /** A disk mounted inside a camera folder, measured at the folder it is mounted at; one entry per disk. */
  private addNestedFilesystem(nested: Map<string, FilesystemStatus>, device: string, camera: string, folder: string): void {
    const known = nested.get(device);
    if (known) {
      if (!known.cameras.includes(camera)) {
        known.cameras.push(camera);
      }
      return;
    }
    const [entry] = filesystemsOf([readFolder(this.ctx.disk, { name: camera, path: folder })], this.floorBytes());
    if (entry) {
      nested.set(device, { ...entry, folder });
    }
  }

  /** A page of the settings UI's browser, by camera name, with each recording's camera and why it is held. */
  browse(
    filter: Omit<RecordingFilter, 'cameraIds'> & { cameraNames?: string[] },
    order: BrowseOrder,
    limit: number,
    withTotal = true,
  ): { recordings: BrowsedRecording[]; total: { count: number; bytes: number } | null } {
    const byId = this.camerasById();
    const storeFilter = this.storeFilter(filter);
    const now = Date.now();
    const recordings = this.store
      .browse(storeFilter, order, limit)
      .map((recording) => this.describeRecording(recording, byId.get(recording.cameraId)!, now));
    // Counting reads every matching row (BENCHMARKS.md, "Figures the code points at"); later pages reuse the first's.
    return { recordings, total: withTotal ? this.store.browseTotals(storeFilter) : null };
  }

  /** The ids of every recording a browser filter matches, up to `limit`: "select all N matches". */
  matchingIds(filter: Omit<RecordingFilter, 'cameraIds'> & { cameraNames?: string[] }, limit: number): number[] {
    return this.store.matchingIds(this.storeFilter(filter), limit);
  }

  private storeFilter(filter: Omit<RecordingFilter, 'cameraIds'> & { cameraNames?: string[] }): RecordingFilter {
    const { cameraNames, ...rest } = filter;
    const cameraIds = cameraNames?.length
      ? cameraNames.map((name) => {
          const camera = this.cameraByName(name);
          if (!camera) {
            throw new RecordingNotFoundError(`no camera named "${name}"`);
          }
          return this.cameraRow(camera).id;
        })
      : [...this.camerasById().keys()];
    return { ...rest, cameraIds };
  }

  /**
   * The file of a recording (or of its thumbnail, its first image sidecar), by id only: the path is
   * the index's, checked to lie inside its camera's folder (no link on the way), never the caller's.
   */
  recordingFile(id: number, part: 'recording' | 'thumbnail'): { path: string; name: string } {
    const recording = this.store.recording(id);
    const camera = recording && this.camerasById().get(recording.cameraId);
    if (!recording || !camera) {
      throw new RecordingNotFoundError('that recording is no longer there (deleted since the list was shown)');
    }
    let relPath = recording.relPath;
    if (part === 'thumbnail') {
      const image = thumbnailOf(recording.sidecars);
      if (!image) {
        throw new RecordingNotFoundError('that recording has no thumbnail');
      }
      const folder = dirname(recording.relPath);
      relPath = folder === '.' ? image : `${folder}/${image}`;
    }
    if (!isInsideCamera(camera.path, relPath)) {
      throw new RecordingNotFoundError('that file is not inside its camera folder any more');
    }
    return { path: join(camera.path, relPath), name: relPath.split('/').pop()! };
  }

  private camerasById(): Map<number, CameraConfig> {
    return new Map(this.config.cameras.map((camera) => [this.cameraRow(camera).id, camera]));
  }

  private describeRecording(recording: RecordingDetail, camera: CameraConfig, now: number): BrowsedRecording {
    return {
      id: recording.id,
      camera: camera.name,
      path: recording.relPath,
      size: recording.size,
      endTime: recording.endTime,
      cls: recording.cls,
      protected: recording.protected,
      protectedBy: recording.protectedBy,
      keepUntil: liveKeepUntil(recording, now),
      exporting: isExporting(recording, now),
      inProgress: isInProgress(recording, now, this.config.minAgeSeconds * SECOND_MS),
      thumbnail: thumbnailOf(recording.sidecars) !== undefined,
    };
  }

  /** What a delete of these recordings by hand would remove, and what it would leave and why. */
  deletionPreview(ids: number[]): DeletionPreview {
    const byId = this.camerasById();
    const now = Date.now();
    const preview: DeletionPreview = {
      count: 0,
      bytes: 0,
      byClass: { continuous: 0, event: 0 },
      excluded: { protected: 0, exporting: 0, inProgress: 0, missing: 0 },
    };
    for (const id of new Set(ids)) {
      const row = this.store.recording(id);
      const camera = row && byId.get(row.cameraId);
      if (!row || !camera) {
        preview.excluded.missing++;
        continue;
      }
      const recording = this.describeRecording(row, camera, now);
      if (recording.protected || recording.keepUntil !== null) {
        preview.excluded.protected++;
      } else if (recording.exporting) {
        preview.excluded.exporting++;
      } else if (recording.inProgress) {
        preview.excluded.inProgress++;
      } else {
        preview.count++;
        preview.bytes += recording.size;
        preview.byClass[recording.cls]++;
      }
    }
    return preview;
  }

  /** Deletes recordings a person chose, by the sweeper's rules and under the sweep lock. */
  deleteByHand(ids: number[], who: string): Promise<ManualDeleteResult> {
    return deleteRecordingsNow(this.ctx, ids, who);
  }

  /**
   * Each camera's bytes at the end of each of the last `days` days as measured then (usage.ts), their
   * total, and the lines the chart compares them with: the total cap and each disk's capacity.
   */
  storageHistory(days: number, now = Date.now()): StorageHistory {
    const ends = dayEnds(days, now);
    const since = ends[0]! - DAY_MS;
    const cameras = this.config.cameras.map((camera) => ({
      name: camera.name,
      bytes: dailyFigures(this.store.usageHistory(this.cameraRow(camera).id, since), ends).map((sample) => sample?.bytes ?? null),
    }));
    const total = ends.map((_, day) => {
      const figures = cameras.map((camera) => camera.bytes[day] ?? null);
      return figures.some((figure) => figure === null) ? null : figures.reduce((sum: number, figure) => sum + figure!, 0);
    });
    const disks = this.status().filesystems.filter((fs) => fs.totalBytes !== null);
    return {
      days: ends,
      cameras,
      total,
      capBytes: bytesOfGB(this.config.maxTotalGB) ?? null,
      disks: disks.map((fs) => ({ cameras: fs.cameras, totalBytes: fs.totalBytes! })),
    };
  }

  /**
   * The forecast in plain figures, per disk: where the cameras' age and quota rules would hold their
   * usage at the recent recording rate, bounded by what the disk can hold above its floor (the floor
   * rule deletes before the disk fills), and when that bound is reached at the measured growth.
   */
  forecast(now = Date.now()): Forecast {
    const status = this.status();
    const cameras = this.config.cameras.map((camera, i) => {
      const row = this.cameraRow(camera);
      const oldest = status.cameras[i]?.oldest;
      const since = Math.max(now - RATE_WINDOW_DAYS * DAY_MS, oldest ? Date.parse(oldest) : now);
      const windowDays = Math.max((now - since) / DAY_MS, 1 / 24);
      const recent = this.store.bytesEndedSince(row.id, since);
      const perDay = { continuous: recent.continuous / windowDays, event: recent.event / windowDays };
      let holdsAt = perDay.continuous * camera.retentionDays + perDay.event * camera.eventRetentionDays;
      if (camera.storageQuotaGB !== undefined) {
        holdsAt = Math.min(holdsAt, bytesOfGB(camera.storageQuotaGB));
      }
      holdsAt = Math.max(holdsAt, row.protectedBytes);
      return { name: camera.name, bytesPerDay: perDay.continuous + perDay.event, bytes: row.bytes, holdsAt, id: row.id };
    });
    const capBytes = bytesOfGB(this.config.maxTotalGB) ?? null;
    const historySince = now - GROWTH_WINDOW_DAYS * DAY_MS;
    const filesystems = status.filesystems.map((fs) => {
      const mine = cameras.filter((c) => fs.cameras.includes(c.name));
      const bytes = mine.reduce((sum, c) => sum + c.bytes, 0);
      const rulesHoldAt = mine.reduce((sum, c) => sum + c.holdsAt, 0);
      // The cameras can grow into the free space down to the floor, never past it: the floor rule deletes first.
      const ceiling = fs.freeBytes === null ? null : bytes + Math.max(0, fs.freeBytes - (fs.floorBytes ?? 0));
      const growth = measuredGrowth(
        mine.map((c) => this.store.usageHistory(c.id, historySince)),
        now,
      );
      const holdsAt = ceiling === null ? rulesHoldAt : Math.min(rulesHoldAt, ceiling);
      const bytesPerDay = growth?.bytesPerDay ?? mine.reduce((sum, c) => sum + c.bytesPerDay, 0);
      const limitedBy: 'rules' | 'floor' | 'disk' =
        ceiling !== null && rulesHoldAt > ceiling ? (fs.floorBytes === null ? 'disk' : 'floor') : 'rules';
      const daysUntilLimit =
        limitedBy === 'rules' || ceiling === null ? null : ceiling <= bytes ? 0 : bytesPerDay > 0 ? (ceiling - bytes) / bytesPerDay : null;
      return {
        cameras: fs.cameras,
        bytes,
        totalBytes: fs.totalBytes,
        freeBytes: fs.freeBytes,
        floorBytes: fs.floorBytes,
        bytesPerDay,
        measuredDays: growth?.days ?? null,
        holdsAt,
        limitedBy,
        daysUntilLimit,
      };
    });
    const total = cameras.reduce((sum, c) => sum + c.bytes, 0);
    const heldAt = filesystems.reduce((sum, fs) => sum + fs.holdsAt, 0);
    const rate = filesystems.reduce((sum, fs) => sum + fs.bytesPerDay, 0);
    return {
      cameras: cameras.map(({ id: _id, ...camera }) => camera),
      bytesPerDay: rate,
      totalBytes: total,
      capBytes,
      holdsAt: capBytes === null ? heldAt : Math.min(capBytes, heldAt),
      daysUntilCap: capBytes === null || heldAt <= capBytes ? null : total >= capBytes ? 0 : rate > 0 ? (capBytes - total) / rate : null,
      filesystems,
    };
  }
}

function openStore(databasePath: string, log: Logger, locationFile: string | undefined, indexOptions: IndexOpenOptions): Store {
  let path = databasePath;
  if (locationFile) {
    const moved = migrateDatabase(databasePath, locationFile);
    if (moved?.inUse) {
      // Opening an empty index at the new path would lose every hold; the one in use is the index.
      log.warn(
        `databasePath is ${moved.to}, but the index at ${moved.from} is open in another process (Homebridge or a CLI whose config names ${moved.from}): it is used where it is, and moves once no process has it open. Give every config the same databasePath.`,
      );
      path = moved.from;
    } else if (moved?.keptAs) {
      log.info(
        `databasePath changed: the index moved from ${moved.from} to ${moved.to} (the old file is kept as ${moved.keptAs})${moved.replaced ? `; an index found there is kept as ${moved.replaced}` : ''}.`,
      );
    }
  }
  const store = Store.open(path, indexOptions);
  announce(store, log, store.opened.movedAside);
  return store;
}

/** Tells the user what opening the index found: damage (an error, with where the bad file went), holds read back. */
function announce(store: Store, log: Logger, movedAside: { to: string; reason: string } | undefined): void {
  const { created, restoredHolds, restoredSwitches, reappliedHolds, journalDamagedLines } = store.opened;
  const tell = (severity: Severity, kind: string, message: string, details: Record<string, unknown>) => {
    logAtSeverity(log, severity, `${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
    store.addEvent({ ...details, time: Date.now(), camera: null, kind, severity, message });
  };
  tellHoldsSync({ reappliedHolds: 0, journalDamagedLines }, (event) => tell(event.severity, event.kind, event.message, event));
  if (movedAside) {
    tell(
      'error',
      'index_rebuilt',
      `the index ${store.path} was damaged (${movedAside.reason}); it was moved to ${movedAside.to} and a new one is built from the camera folders`,
      { movedTo: movedAside.to, reason: movedAside.reason },
    );
  }
  if (reappliedHolds > 0) {
    tell(
      'warning',
      'holds_restored',
      `${plural(reappliedHolds, 'hold')} of the holds journal ${reappliedHolds === 1 ? 'was' : 'were'} missing from the index (a power cut, or an index from a backup); ${reappliedHolds === 1 ? 'it holds' : 'they hold'} again`,
      { holds: reappliedHolds },
    );
  }
  if (created && restoredHolds + restoredSwitches > 0) {
    tell(
      'info',
      'holds_restored',
      `the new index takes ${plural(restoredHolds, 'recording hold')} and ${plural(restoredSwitches, 'Protect switch state')} from the holds journal; they apply as the scan finds the recordings`,
      { holds: restoredHolds, switches: restoredSwitches },
    );
  }
}

function nearestExistingFolder(path: string): string {
  let folder = path;
  while (!existsSync(folder) && dirname(folder) !== folder) {
    folder = dirname(folder);
  }
  return folder;
}

/** Whether `target` already holds a byte-equal copy of `source`, something else, or nothing. */
async function existingCopy(source: string, target: string): Promise<'none' | 'same' | 'different'> {
  const there = await lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  });
  if (!there) {
    return 'none';
  }
  if (!there.isFile() || there.size !== (await stat(source)).size) {
    return 'different';
  }
  const [a, b] = await Promise.all([sha256(source), sha256(target)]);
  return a === b ? 'same' : 'different';
}

async function copyVerified(source: string, target: string): Promise<void> {
  const part = `${target}.part`;
  await copyFile(source, part);
  const [a, b] = await Promise.all([sha256(source), sha256(part)]);
  const [sa, sb] = await Promise.all([stat(source), stat(part)]);
  if (a !== b || sa.size !== sb.size) {
    await rm(part, { force: true });
    throw new Error(`the copy of ${source} does not match the original`);
  }
  await rename(part, target);
}

function sha256(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')))
      .on('error', reject);
  });
}
