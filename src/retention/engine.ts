import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { scanCamera, SWITCH_HOLDER, type ScanResult } from '../catalog/scan.js';
import type { CameraConfig, RetentionConfig } from '../config/types.js';
import { CORRUPTION_MESSAGE, type IndexOpenOptions, isCorruption } from '../store/database.js';
import { SweepLockHeldError } from '../store/lock.js';
import { migrateDatabase, moveAside } from '../store/recover.js';
import { type CameraRow, type ListFilter, type RecordingDetail, type Severity, Store } from '../store/store.js';
import { type DiskProbe, realDisk } from './disk.js';
import { type EngineContext, isPaused, type Logger, runSweep, setPaused, type SweepOptions, type SweepReport } from './sweep.js';

const HOUR_MS = 3_600_000;
/** An export lease long enough for a large clip on a slow NAS; renewed per file. */
const EXPORT_LEASE_MS = 15 * 60_000;

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

export interface CameraStatus {
  name: string;
  path: string;
  available: boolean;
  unavailableReason: string | null;
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

export interface FilesystemStatus {
  cameras: string[];
  freeBytes: number | null;
  totalBytes: number | null;
  floorBytes: number | null;
  error?: string;
}

export interface StatusReport {
  /** Retention paused by the Pause switch. */
  paused: boolean;
  cameras: CameraStatus[];
  filesystems: FilesystemStatus[];
  lastSweep: { startedAt: string; finishedAt: string | null; status: string; report: unknown } | null;
}

export class RecordingNotFoundError extends Error {}

/**
 * The engine as the CLI, the Homebridge platform and the settings UI use it: one config, one index.
 * It knows nothing of Homebridge.
 */
export class RetentionEngine {
  private readonly ctx: EngineContext;
  private readonly indexOptions: IndexOpenOptions;
  private unrecordedFailure: string | undefined;

  /**
   * `locationFile` remembers where the index was last opened (recover.ts: locationFileIn): when the
   * config moves `databasePath`, the index and its holds journal move with it.
   */
  constructor(readonly config: RetentionConfig, options: { log?: Logger; disk?: DiskProbe; store?: Store; locationFile?: string } & IndexOpenOptions = {}) {
    const log = options.log ?? silentLogger;
    this.indexOptions = { quickCheck: options.quickCheck };
    this.ctx = { store: options.store ?? openStore(config.databasePath, log, options.locationFile, this.indexOptions), config, disk: options.disk ?? realDisk, log };
    for (const camera of config.cameras) {
      this.store.ensureCamera(camera.name, camera.path);
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
      this.ctx.log.warn(`The index ${this.store.path} was deleted or replaced while in use; it is opened again (a new one is built from the camera folders).`);
      this.reopenIndex();
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
        time: Date.now(), camera: null, kind: 'sweep_failed', severity: 'error',
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

  private reopenIndex(beforeOpen?: () => { to: string; reason: string }): void {
    const path = this.store.path;
    this.store.close();
    const movedAside = beforeOpen?.();
    this.ctx.store = Store.open(path, this.indexOptions);
    announce(this.ctx.store, this.ctx.log, movedAside ?? this.ctx.store.opened.movedAside);
  }

  /** The Pause switch: while paused, sweeps delete only for the free-space floor (a full disk stops recording). */
  get paused(): boolean {
    return isPaused(this.store);
  }

  setPaused(paused: boolean): void {
    setPaused(this.store, paused);
  }

  /** Reconcile only (SPEC §3.1), under the sweep lock. */
  scan(options: { acceptMissing?: string[] } = {}): ScanResult[] {
    this.store.lock.acquire('scan');
    try {
      return this.config.cameras.map((camera) =>
        scanCamera(this.store, camera, { minAgeMs: this.config.minAgeSeconds * 1000, acceptMissing: options.acceptMissing?.includes(camera.name) }));
    } finally {
      this.store.lock.release();
    }
  }

  cameraRow(camera: CameraConfig): CameraRow {
    return this.store.ensureCamera(camera.name, camera.path);
  }

  status(): StatusReport {
    const cameras = this.config.cameras.map((camera): CameraStatus => {
      const row = this.cameraRow(camera);
      const range = this.store.oldestAndNewest(row.id);
      return {
        name: camera.name, path: camera.path, available: row.available, unavailableReason: row.unavailableReason,
        recordings: row.recordingCount, bytes: row.bytes, eventRecordings: row.eventCount,
        protectedRecordings: row.protectedCount, protectedBytes: row.protectedBytes,
        quotaBytes: camera.storageQuotaGB === undefined ? null : camera.storageQuotaGB * 1e9,
        oldest: range.oldest === null ? null : new Date(range.oldest).toISOString(),
        newest: range.newest === null ? null : new Date(range.newest).toISOString(),
        protectSwitchOn: row.protectSwitchOn,
      };
    });
    const filesystems = new Map<string, FilesystemStatus>();
    for (const camera of this.config.cameras) {
      let id: string;
      try {
        id = this.ctx.disk.filesystemOf(camera.path);
      } catch (error) {
        filesystems.set(`missing:${camera.path}`, { cameras: [camera.name], freeBytes: null, totalBytes: null, floorBytes: this.floorBytes(), error: (error as Error).message });
        continue;
      }
      const known = filesystems.get(id);
      if (known) {
        known.cameras.push(camera.name);
        continue;
      }
      try {
        const figures = this.ctx.disk.measure(camera.path);
        filesystems.set(id, { cameras: [camera.name], ...figures, floorBytes: this.floorBytes() });
      } catch (error) {
        filesystems.set(id, { cameras: [camera.name], freeBytes: null, totalBytes: null, floorBytes: this.floorBytes(), error: (error as Error).message });
      }
    }
    const last = this.store.lastSweepRun();
    return {
      paused: this.paused,
      cameras,
      filesystems: [...filesystems.values()],
      lastSweep: last ? { startedAt: new Date(last.startedAt).toISOString(), finishedAt: last.finishedAt ? new Date(last.finishedAt).toISOString() : null, status: last.status, report: last.report } : null,
    };
  }

  private floorBytes(): number | null {
    return this.config.minFreeGB === undefined ? null : this.config.minFreeGB * 1e9;
  }

  cameraByName(name: string): CameraConfig | undefined {
    return this.config.cameras.find((camera) => camera.name === name);
  }

  list(filter: ListFilter & { cameraNames?: string[] }, page: { limit: number; offset: number }): (RecordingDetail & { camera: string; absolutePath: string })[] {
    const cameraIds = filter.cameraNames?.map((name) => {
      const camera = this.cameraByName(name);
      if (!camera) {
        throw new RecordingNotFoundError(`no camera named "${name}"`);
      }
      return this.cameraRow(camera).id;
    });
    const byId = new Map(this.config.cameras.map((camera) => [this.cameraRow(camera).id, camera]));
    return this.store.list({ ...filter, cameraIds }, page)
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
    const camera = this.config.cameras.find((c) => absolute.startsWith(c.path + sep));
    if (!camera) {
      throw new RecordingNotFoundError(`${absolute} is not inside any camera folder`);
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

  /** Evidence holds by hand. `until` makes it a keep-until date instead of a lasting hold. */
  protect(ids: number[], by: string, until?: number): number {
    return this.store.transaction(() => {
      if (until !== undefined) {
        this.store.setKeepUntil(ids, until);
        return ids.length;
      }
      return this.store.protect(ids, by, Date.now());
    });
  }

  /** Releases holds and keep-until dates, whoever made them: a person asked for exactly these. */
  unprotect(ids: number[]): number {
    return this.store.transaction(() => {
      this.store.setKeepUntil(ids, null);
      return this.store.unprotect(ids);
    });
  }

  protectRecent(camera: CameraConfig, hours: number, by: string): number {
    return this.store.protectSince(this.cameraRow(camera).id, Date.now() - hours * HOUR_MS, by, Date.now());
  }

  /** SPEC §5: on protects the last `protectHours` and everything indexed while on; off releases only its own holds. */
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
  async export(ids: number[], destination: string, owner: string, onFile?: (done: number, total: number) => void): Promise<{ exported: string[]; skipped: { id: number; reason: string }[] }> {
    const leased = this.store.takeExportLock(ids, owner, Date.now() + EXPORT_LEASE_MS, Date.now());
    const skipped = ids.filter((id) => !leased.includes(id)).map((id) => ({ id, reason: 'another export holds it' }));
    const exported: string[] = [];
    const byId = new Map(this.config.cameras.map((camera) => [this.cameraRow(camera).id, camera]));
    try {
      for (const [i, id] of leased.entries()) {
        const recording = this.store.recording(id);
        const camera = recording && byId.get(recording.cameraId);
        if (!recording || !camera) {
          skipped.push({ id, reason: 'not a recording of a configured camera' });
          continue;
        }
        this.store.takeExportLock([id], owner, Date.now() + EXPORT_LEASE_MS, Date.now());
        const folder = dirname(recording.relPath);
        for (const name of [recording.relPath, ...recording.sidecars.map((sidecar) => (folder === '.' ? sidecar : `${folder}/${sidecar}`))]) {
          const target = join(destination, camera.name, name);
          await mkdir(dirname(target), { recursive: true });
          await copyVerified(join(camera.path, name), target);
          exported.push(target);
        }
        onFile?.(i + 1, leased.length);
      }
    } finally {
      this.store.releaseExportLock(leased, owner);
    }
    return { exported, skipped };
  }
}

function openStore(databasePath: string, log: Logger, locationFile: string | undefined, indexOptions: IndexOpenOptions): Store {
  if (locationFile) {
    const moved = migrateDatabase(databasePath, locationFile);
    if (moved?.keptAs) {
      log.info(`databasePath changed: the index moved from ${moved.from} to ${moved.to} (the old file is kept as ${moved.keptAs})${moved.replaced ? `; an index found there is kept as ${moved.replaced}` : ''}.`);
    }
  }
  const store = Store.open(databasePath, indexOptions);
  announce(store, log, store.opened.movedAside);
  return store;
}

/** Tells the user what opening the index found: damage (an error, with where the bad file went), holds read back. */
function announce(store: Store, log: Logger, movedAside: { to: string; reason: string } | undefined): void {
  const { created, restoredHolds, restoredSwitches, reappliedHolds } = store.opened;
  const tell = (severity: Severity, kind: string, message: string, details: Record<string, unknown>) => {
    const line = `${message[0].toUpperCase()}${message.slice(1)}.`;
    if (severity === 'error') {
      log.error(line);
    } else if (severity === 'warning') {
      log.warn(line);
    } else {
      log.info(line);
    }
    store.addEvent({ time: Date.now(), camera: null, kind, severity, message, details });
  };
  if (movedAside) {
    tell('error', 'index_rebuilt', `the index ${store.path} was damaged (${movedAside.reason}); it was moved to ${movedAside.to} and a new one is built from the camera folders`,
      { movedTo: movedAside.to, reason: movedAside.reason });
  }
  if (reappliedHolds > 0) {
    tell('warning', 'holds_restored', `${reappliedHolds} holds of the holds journal were missing from the index (a power cut, or an index from a backup); they hold again`,
      { holds: reappliedHolds });
  }
  if (created && restoredHolds + restoredSwitches > 0) {
    tell('info', 'holds_restored', `the new index takes ${restoredHolds} recording holds and ${restoredSwitches} Protect switch states from the holds journal; they apply as the scan finds the recordings`,
      { holds: restoredHolds, switches: restoredSwitches });
  }
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
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('end', () => resolvePromise(hash.digest('hex'))).on('error', reject);
  });
}
