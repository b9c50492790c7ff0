import { lstatSync, readdirSync, realpathSync, unlinkSync } from 'node:fs';
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { dirname, join, sep } from 'node:path';
import { scanCamera, type ScanResult, ScanStoppedError } from '../catalog/scan.js';
import type { CameraConfig, RecordingClass, RetentionConfig } from '../config/types.js';
import type { EventRow, Recording, Store } from '../store/store.js';
import type { DiskProbe } from './disk.js';
import { formatBytes, formatDuration, plural } from './format.js';
import {
  type BatchOutcome,
  type CameraPolicy,
  type Deletion,
  type FilesystemFigures,
  type PlanEvent,
  planSweep,
  type Reason,
  REASONS,
} from './plan.js';

const DAY_MS = 86_400_000;
const GB = 1_000_000_000;
/**
 * Unlinks in flight when files are deleted overlapped: twice the libuv thread pool, so that no
 * thread waits for its next file. A slow disk or a NAS answers many requests in parallel (a disk
 * with online discard here: 141 µs a file with 4 threads, 77 µs with 64), so the CLI enlarges the
 * pool; the Homebridge process shares its pool and keeps what it was started with.
 */
export function defaultUnlinkConcurrency(): number {
  return 2 * (Number(process.env.UV_THREADPOOL_SIZE) || 4);
}
/**
 * Files can be deleted in place (synchronous calls: no thread-pool round trip, which on a fast disk
 * costs more than the syscalls) or overlapped (async, `unlinkConcurrency` in flight: a slow disk or
 * a NAS answers several at once). Which is faster depends on the disk and the machine's load, so
 * the sweep measures both: every PROBE_EVERY batches, the first PROBE_FILES of a batch go the other way.
 */
const PROBE_EVERY = 8;
/** A probe is this many files, or less when they take longer than PROBE_MS (a slow way is not tried for long). */
const PROBE_FILES = 32;
const PROBE_MS = 5;
/** Deleting in place gives the event loop a turn this often (the engine's thread answers requests). */
const IN_PLACE_SLICE_MS = 20;
type FileDeletionWay = 'in place' | 'overlapped';

/** How often a long sweep says how far it got. */
const PROGRESS_INTERVAL_MS = 5000;
/** Event-log rows are kept this long (and at least the last 1,000). */
const EVENT_RETENTION_MS = 30 * DAY_MS;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export interface EngineContext {
  store: Store;
  config: RetentionConfig;
  disk: DiskProbe;
  log: Logger;
}

export interface SweepOptions {
  dryRun?: boolean;
  /** Who asked: "schedule", "startup", "cli", "settings UI". */
  trigger?: string;
  /** Polled between recordings; true makes the sweep stop at the next safe point. */
  shouldStop?: () => boolean;
  onProgress?: (progress: SweepProgress) => void;
  /** Cameras whose missing files a person confirmed gone (SPEC §3.1). */
  acceptMissing?: string[];
  batchSize?: number;
  unlinkConcurrency?: number;
  /**
   * How files are deleted: 'adaptive' (the default) measures both ways as it goes and uses the
   * cheaper one; the other two fix one way (tests run the same rules through both).
   */
  fileDeletion?: 'adaptive' | 'in place' | 'overlapped';
  /** How many planned deletions a dry run lists in its report (the counts always cover all of them). */
  deletionListLimit?: number;
}

/** A dry run over a million recordings must not hold them all in its report: it lists this many. */
export const DEFAULT_DELETION_LIST_LIMIT = 10_000;

export interface SweepProgress {
  deletedCount: number;
  deletedBytes: number;
  failures: number;
  phase: Reason;
}

export interface Tally {
  count: number;
  bytes: number;
}

export interface ReportEvent {
  kind: string;
  camera: string | null;
  severity: 'info' | 'warning' | 'error';
  message: string;
  [detail: string]: unknown;
}

export interface PlannedDeletion {
  camera: string;
  path: string;
  reason: Reason;
  class: RecordingClass;
  size: number;
  endTime: string;
}

export interface SweepReport {
  dryRun: boolean;
  /** Retention was paused (the Pause switch): only the free-space floor deleted. */
  paused: boolean;
  trigger: string;
  status: 'done' | 'stopped' | 'failed';
  startedAt: string;
  durationMs: number;
  deleted: Tally;
  byReason: Record<Reason, Tally>;
  byCamera: Record<string, Tally>;
  byClass: Record<RecordingClass, Tally>;
  spared: { protected: number };
  failures: { path: string; error: string }[];
  events: ReportEvent[];
  cameras: { name: string; available: boolean; reason?: string; added: number; removed: number; missing: number }[];
  /** The first recordings a dry run would delete, in order (at most `deletionListLimit`). */
  deletions?: PlannedDeletion[];
  /** How many more a dry run would delete than `deletions` lists. */
  deletionsNotListed?: number;
  error?: string;
}

function emptyTally(): Tally {
  return { count: 0, bytes: 0 };
}

function addTo(tally: Tally, bytes: number): void {
  tally.count++;
  tally.bytes += bytes;
}

export function cameraPolicy(camera: CameraConfig, id: number, available: boolean, filesystem: string): CameraPolicy {
  return {
    id,
    name: camera.name,
    available,
    filesystem,
    retentionMs: camera.retentionDays * DAY_MS,
    eventRetentionMs: camera.eventRetentionDays * DAY_MS,
    quotaBytes: camera.storageQuotaGB === undefined ? undefined : camera.storageQuotaGB * GB,
  };
}

/**
 * One sweep (SPEC §3): reconcile, then the planner's phases carried out batch by batch, then
 * housekeeping. The caller must not hold the sweep lock; this takes it for the whole run.
 */
export async function runSweep(ctx: EngineContext, options: SweepOptions = {}): Promise<SweepReport> {
  const { store, log } = ctx;
  const dryRun = options.dryRun ?? false;
  const trigger = options.trigger ?? 'manual';
  const started = Date.now();
  store.lock.acquire(dryRun ? `dry run (${trigger})` : `sweep (${trigger})`, started);
  const report: SweepReport = {
    dryRun,
    trigger,
    paused: isPaused(store),
    status: 'done',
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    deleted: emptyTally(),
    byReason: { age: emptyTally(), quota: emptyTally(), cap: emptyTally(), floor: emptyTally() },
    byCamera: {},
    byClass: { continuous: emptyTally(), event: emptyTally() },
    spared: { protected: 0 },
    failures: [],
    events: [],
    cameras: [],
    deletions: dryRun ? [] : undefined,
    deletionsNotListed: dryRun ? 0 : undefined,
  };
  const runId = store.startSweepRun(started, dryRun, trigger);
  const raise = (event: Omit<EventRow, 'time'>) => {
    report.events.push({ kind: event.kind, camera: event.camera, severity: event.severity, message: event.message, ...event.details });
    const line = event.camera ? `[${event.camera}] ${event.message}` : event.message;
    if (event.severity === 'error') {
      log.error(line);
    } else if (event.severity === 'warning') {
      log.warn(line);
    } else {
      log.info(line);
    }
    if (!dryRun) {
      try {
        store.addEvent({ ...event, time: Date.now() });
      } catch (error) {
        // A full disk under the index: the line above is all there is, and the sweep goes on if it can.
        log.error(`the event log could not be written: ${(error as Error).message}`);
      }
    }
  };

  try {
    if (!dryRun) {
      finishInterruptedDeletes(ctx);
    }
    const scans = reconcile(ctx, options, raise);
    report.cameras = scans.map((scan) => ({
      name: scan.camera.name,
      available: scan.available,
      reason: scan.reason,
      added: scan.added,
      removed: scan.removed,
      missing: scan.missing,
    }));
    await carryOutPlan(ctx, options, scans, report, raise);
    if (!dryRun) {
      store.expireExportLocks(Date.now());
      store.pruneEvents(Date.now() - EVENT_RETENTION_MS, 1000);
      store.optimize();
    }
    if (options.shouldStop?.()) {
      report.status = 'stopped';
    }
  } catch (error) {
    if (error instanceof ScanStoppedError) {
      report.status = 'stopped';
    } else {
      report.status = 'failed';
      report.error = (error as Error).message;
      raise({ kind: 'sweep_failed', camera: null, severity: 'error', message: `sweep failed: ${(error as Error).message}` });
    }
  } finally {
    report.durationMs = Date.now() - started;
    try {
      store.finishSweepRun(
        runId,
        Date.now(),
        report.status,
        { count: report.deleted.count, bytes: report.deleted.bytes, failures: report.failures.length },
        { ...report, deletions: undefined },
      );
    } catch (error) {
      log.error(`the sweep could not be recorded in the index: ${(error as Error).message}`);
    } finally {
      // If this fails too, the lock keeps its token and this process takes it again next time.
      store.lock.release();
    }
  }
  log.info(summaryLine(report));
  return report;
}

/** Where the Pause switch keeps its state: in the index, so the CLI and the UI server see it too. */
const PAUSED_KEY = 'paused';

export function isPaused(store: Store): boolean {
  return store.getState(PAUSED_KEY) === 'true';
}

export function setPaused(store: Store, paused: boolean): void {
  store.setState(PAUSED_KEY, String(paused));
}

/** SPEC §3: files that a crashed sweep had already unlinked are finished off, not mistaken for losses. */
function finishInterruptedDeletes(ctx: EngineContext): void {
  const { store, config, log } = ctx;
  const interrupted = store.interruptedDeletes();
  if (interrupted.length === 0) {
    return;
  }
  const gone: number[] = [];
  const present: number[] = [];
  for (const recording of interrupted) {
    const camera = store.camera(recording.cameraId);
    const cameraConfig = config.cameras.find((c) => c.path === camera.path);
    const state = cameraConfig ? fileState(camera.path, recording.relPath) : 'unknown';
    if (state === 'unknown') {
      // The camera folder is not there (an unmounted NAS) or did not answer: the row stays marked and is
      // settled at a later start, when its folder can tell whether the file is really gone.
      continue;
    }
    if (state === 'present') {
      present.push(recording.id);
      continue;
    }
    // The crash may have come between the recording's unlink and its sidecars': they go with it.
    if (isInsideCamera(camera.path, recording.relPath)) {
      for (const sidecar of recording.sidecars) {
        try {
          unlinkSync(join(camera.path, dirname(recording.relPath), sidecar));
        } catch {
          // Already gone; or it stays behind as a plain file, as when a sidecar's unlink fails in a sweep.
        }
      }
    }
    gone.push(recording.id);
  }
  store.transaction(() => {
    store.deleteRecordings(gone);
    store.clearDeleting(present);
  });
  log.info(
    `Finished ${plural(gone.length, 'deletion')} that an interrupted sweep had started (${plural(present.length, 'file was', 'files were')} still there and stay indexed).`,
  );
}

/** Whether a recording's file is there; 'gone' only on a clear ENOENT inside a camera folder that is there. */
function fileState(cameraPath: string, relPath: string): 'present' | 'gone' | 'unknown' {
  try {
    if (!lstatSync(cameraPath).isDirectory()) {
      return 'unknown';
    }
  } catch {
    return 'unknown';
  }
  try {
    lstatSync(join(cameraPath, relPath));
    return 'present';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown';
  }
}

function reconcile(ctx: EngineContext, options: SweepOptions, raise: (event: Omit<EventRow, 'time'>) => void): ScanResult[] {
  const { store, config, log } = ctx;
  return config.cameras.map((camera) => {
    const wasAvailable = store.cameraByPath(camera.path)?.available ?? true;
    const scan = scanCamera(store, camera, {
      minAgeMs: config.minAgeSeconds * 1000,
      acceptMissing: options.acceptMissing?.includes(camera.name),
      shouldStop: options.shouldStop,
    });
    if (!scan.available) {
      raise({
        kind: 'camera_unavailable',
        camera: camera.name,
        severity: 'warning',
        message: `camera unavailable, nothing of it is deleted: ${scan.reason}. If the files are really gone, confirm with "nvr-retention scan --accept-missing '${camera.name}'"`,
        details: { reason: scan.reason, missing: scan.missing },
      });
    } else if (!wasAvailable) {
      raise({ kind: 'camera_available', camera: camera.name, severity: 'info', message: 'camera available again' });
    }
    if (scan.unreadableNames.length > 0) {
      const names = scan.unreadableNames;
      raise({
        kind: 'unreadable_names',
        camera: camera.name,
        severity: 'warning',
        message: `${names.length} file or folder names cannot be used (not valid UTF-8, or a path longer than the system allows), so they are kept, not counted and never deleted; rename or move them: ${names.slice(0, 5).map(shortened).join(', ')}${names.length > 5 ? ', ...' : ''}`,
        details: { count: names.length, names: names.slice(0, 100) },
      });
    }
    const ahead = scan.available
      ? store.recordingsEndingAfter(scan.camera.id, Date.now() + CLOCK_AHEAD_TOLERANCE_MS)
      : { count: 0, latest: null };
    if (ahead.count > 0) {
      raise({
        kind: 'clock_ahead',
        camera: camera.name,
        severity: 'warning',
        message: `${plural(ahead.count, 'recording is', 'recordings are')} dated in the future (up to ${new Date(ahead.latest!).toISOString()}): the clock of the camera or of the recording machine is ahead. They count as still being recorded, so no rule deletes them until that date; set the clock right`,
        details: { count: ahead.count, latest: ahead.latest },
      });
    }
    log.debug(
      `[${camera.name}] scan: ${scan.added} new, ${scan.updated} changed, ${scan.removed} gone; ${scan.foldersRead} folders read, ${scan.foldersSkipped} unchanged`,
    );
    return scan;
  });
}

/**
 * A file dated this far in the future is not a recording in progress but a clock that runs ahead. It is
 * kept all the same (its age is unknown), and the user is told: kept silently, such files would fill the disk.
 */
const CLOCK_AHEAD_TOLERANCE_MS = 10 * 60_000;

/** A path too long for the system is too long for a log line too: its start and its end say where it is. */
function shortened(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}…${path.slice(-100)}`;
}

async function carryOutPlan(
  ctx: EngineContext,
  options: SweepOptions,
  scans: ScanResult[],
  report: SweepReport,
  raise: (event: Omit<EventRow, 'time'>) => void,
): Promise<void> {
  const { store, config, disk, log } = ctx;
  const now = Date.now();
  const minAgeMs = config.minAgeSeconds * 1000;
  const filesystems = new Map<string, FilesystemFigures & { path: string }>();
  const policies: CameraPolicy[] = [];
  for (const [i, scan] of scans.entries()) {
    const camera = config.cameras[i];
    let filesystem = 'unknown';
    if (scan.available) {
      try {
        filesystem = disk.filesystemOf(camera.path);
        if (!filesystems.has(filesystem)) {
          filesystems.set(filesystem, { id: filesystem, path: camera.path, ...measure(ctx, camera.path, raise) });
        }
      } catch (error) {
        raise({
          kind: 'statfs_failed',
          camera: camera.name,
          severity: 'warning',
          message: `cannot tell which disk holds the folder (${(error as Error).message}); the free-space floor is skipped for it`,
        });
      }
    }
    policies.push(cameraPolicy(camera, scan.camera.id, scan.available, filesystem));
  }
  const usage = new Map(
    policies
      .filter((p) => p.available)
      .map((policy) => {
        const held = store.heldBytes(policy.id, now, now - minAgeMs);
        return [policy.id, { countedBytes: store.camera(policy.id).bytes - held.uncounted, undeletableBytes: held.undeletable }];
      }),
  );

  const planner = planSweep({
    now,
    minAgeMs,
    cameras: policies,
    usage,
    filesystems: [...filesystems.values()],
    source: store,
    capBytes: config.maxTotalGB === undefined ? undefined : config.maxTotalGB * GB,
    floorBytes: config.minFreeGB === undefined ? undefined : config.minFreeGB * GB,
    floorOnly: report.paused,
    batchSize: options.batchSize,
  });
  const cameraById = new Map(policies.map((policy, i) => [policy.id, config.cameras[i]]));
  const touchedFolders = new Map<number, Set<string>>();
  const deleter = new FileDeleter(options);
  let lastProgress = Date.now();
  let outcome: BatchOutcome | undefined;
  // Batch N's rows are settled while batch N+1's files are being unlinked: the planner needs only
  // N's outcome, and the store no longer offers N's claimed rows to any phase.
  let inFlight: Promise<BatchResult> | undefined;
  let unsettled: BatchResult | undefined;
  const reportBatch = (result: BatchResult) => {
    for (const deletion of result.deleted) {
      count(report, deletion, cameraById);
      const folders = touchedFolders.get(deletion.recording.cameraId) ?? new Set<string>();
      folders.add(dirname(deletion.recording.relPath));
      touchedFolders.set(deletion.recording.cameraId, folders);
    }
    for (const failure of result.failures) {
      report.failures.push(failure);
      raise({
        kind: 'delete_failed',
        camera: failure.camera,
        severity: 'warning',
        message: `could not delete ${failure.path}: ${failure.error}; it stays and is tried again next sweep`,
        details: { path: failure.path, error: failure.error },
      });
    }
    if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = Date.now();
      log.info(
        `Sweep in progress: ${plural(report.deleted.count, 'recording')} deleted (${formatBytes(report.deleted.bytes)}) so far, ${plural(report.failures.length, 'failure')}`,
      );
    }
    options.onProgress?.({
      deletedCount: report.deleted.count,
      deletedBytes: report.deleted.bytes,
      failures: report.failures.length,
      phase: result.reason,
    });
  };
  try {
    for (;;) {
      const step = planner.next(outcome);
      if (step.done) {
        for (const event of step.value.events) {
          raise(planEventRow(event));
        }
        report.spared.protected = step.value.sparedIds.size;
        break;
      }
      const batch = step.value;
      if (report.dryRun) {
        const listLimit = options.deletionListLimit ?? DEFAULT_DELETION_LIST_LIMIT;
        for (const deletion of batch) {
          count(report, deletion, cameraById);
          if (report.deletions!.length < listLimit) {
            report.deletions!.push(describe(deletion, cameraById));
          } else {
            report.deletionsNotListed!++;
          }
        }
        outcome = undefined;
        continue;
      }
      // A turn of the event loop between batches even when files go in place without one: the
      // engine's thread answers a Protect switch here, before the next batch is claimed.
      await yieldToLoop();
      if (options.shouldStop?.()) {
        break;
      }
      store.lock.heartbeat();
      inFlight = deleteBatchFiles(ctx, batch, cameraById, deleter);
      if (unsettled) {
        const previous = unsettled;
        unsettled = undefined;
        settleRows(ctx, previous);
      }
      const result = await inFlight;
      inFlight = undefined;
      unsettled = result;
      reportBatch(result);
      outcome = { failedIds: result.failedIds, freeBytes: remeasure(ctx, filesystems) };
      if (result.stopped) {
        break;
      }
    }
  } catch (error) {
    // The files in flight still finish; rows the index then cannot settle stay marked and are
    // finished at the next start (SPEC §3).
    const last = unsettled ?? (await inFlight?.catch(() => undefined));
    try {
      if (last) {
        settleRows(ctx, last);
      }
    } catch {
      // The first error is the one to report.
    }
    throw error;
  }
  if (unsettled) {
    settleRows(ctx, unsettled);
  }
  if (report.deleted.count > 0) {
    log.debug(`deleting files cost: ${deleter.describeCosts()}`);
  }
  if (!report.dryRun) {
    await removeEmptiedFolders(ctx, touchedFolders, cameraById);
  }
}

function measure(ctx: EngineContext, path: string, raise: (event: Omit<EventRow, 'time'>) => void): Partial<FilesystemFigures> {
  try {
    return ctx.disk.measure(path);
  } catch (error) {
    raise({
      kind: 'statfs_failed',
      camera: null,
      severity: 'warning',
      message: `cannot measure free space at ${path} (${(error as Error).message}); the free-space floor is skipped for this sweep`,
    });
    return {};
  }
}

function remeasure(ctx: EngineContext, filesystems: Map<string, FilesystemFigures & { path: string }>): Map<string, number> {
  const free = new Map<string, number>();
  for (const fs of filesystems.values()) {
    if (fs.freeBytes === undefined) {
      continue;
    }
    try {
      free.set(fs.id, ctx.disk.measure(fs.path).freeBytes);
    } catch {
      // Keep the last figure: the planner then assumes nothing was freed, which only deletes less.
    }
  }
  return free;
}

function planEventRow(event: PlanEvent): Omit<EventRow, 'time'> {
  return { kind: event.kind, camera: event.camera, severity: event.severity, message: event.message, details: event.details };
}

function count(report: SweepReport, deletion: Deletion, cameraById: Map<number, CameraConfig>): void {
  const { recording, reason } = deletion;
  const name = cameraById.get(recording.cameraId)!.name;
  addTo(report.deleted, recording.size);
  addTo(report.byReason[reason], recording.size);
  addTo(report.byClass[recording.cls], recording.size);
  report.byCamera[name] ??= emptyTally();
  addTo(report.byCamera[name], recording.size);
}

function describe(deletion: Deletion, cameraById: Map<number, CameraConfig>): PlannedDeletion {
  const { recording, reason } = deletion;
  return {
    camera: cameraById.get(recording.cameraId)!.name,
    path: recording.relPath,
    reason,
    class: recording.cls,
    size: recording.size,
    endTime: new Date(recording.endTime).toISOString(),
  };
}

interface BatchResult {
  reason: Reason;
  deleted: Deletion[];
  failedIds: number[];
  failures: { camera: string; path: string; error: string }[];
  /** Claimed but not tried: the sweep was asked to stop. */
  untried: number[];
  /** Kept because the file was written after it was indexed. */
  stale: Recording[];
  stopped: boolean;
}

/** deleteRecordingFiles' answer for a file written after it was indexed: it is kept, and not a failure. */
const STALE_ROW = Symbol('stale row');
/** The answer for a file not tried because the sweep was asked to stop. */
const UNTRIED = Symbol('untried');

type FileOutcome = string | typeof STALE_ROW | typeof UNTRIED | undefined;

/**
 * The files of a batch: rows are claimed first, then the files go. The rows are not touched here;
 * `settleRows` removes those of the files that are gone. A file that could not be unlinked keeps its row (SPEC §3).
 */
async function deleteBatchFiles(
  ctx: EngineContext,
  batch: Deletion[],
  cameraById: Map<number, CameraConfig>,
  deleter: FileDeleter,
): Promise<BatchResult> {
  const { store, log } = ctx;
  // A person may have protected or leased a recording since it was planned: those are not claimed.
  const claimed = store.claimForDeletion(
    batch.map((deletion) => deletion.recording.id),
    Date.now(),
  );
  const result: BatchResult = { reason: batch[0].reason, deleted: [], failedIds: [], failures: [], untried: [], stale: [], stopped: false };
  const todo: Deletion[] = [];
  for (const deletion of batch) {
    if (claimed.has(deletion.recording.id)) {
      todo.push(deletion);
    } else {
      // Still counted and not tried again this sweep, like a failure, but nothing went wrong.
      result.failedIds.push(deletion.recording.id);
      log.debug(`kept ${deletion.recording.relPath}: protected or exported since the sweep planned it`);
    }
  }
  const outcomes = await deleter.deleteAll(
    todo.map((deletion) => ({ camera: cameraById.get(deletion.recording.cameraId)!, recording: deletion.recording })),
  );
  for (const [i, deletion] of todo.entries()) {
    const error = outcomes[i];
    const camera = cameraById.get(deletion.recording.cameraId)!;
    if (error === UNTRIED) {
      result.stopped = true;
      result.untried.push(deletion.recording.id);
    } else if (error === STALE_ROW) {
      // Still counted and not tried again this sweep, like a failure; its folder is read again next scan.
      result.failedIds.push(deletion.recording.id);
      result.stale.push(deletion.recording);
      log.info(
        `[${camera.name}] kept ${join(camera.path, deletion.recording.relPath)}: it was written after it was indexed (still recording?)`,
      );
    } else if (error) {
      result.failedIds.push(deletion.recording.id);
      result.failures.push({ camera: camera.name, path: join(camera.path, deletion.recording.relPath), error });
    } else {
      result.deleted.push(deletion);
    }
  }
  return result;
}

/** The rows of a batch whose files are done: gone ones are deleted, the others unmarked, in one transaction. */
function settleRows(ctx: EngineContext, result: BatchResult): void {
  const { store } = ctx;
  store.transaction(() => {
    store.deleteRecordings(result.deleted.map((deletion) => deletion.recording.id));
    store.clearDeleting([...result.failedIds, ...result.untried]);
    for (const recording of result.stale) {
      const folder = dirname(recording.relPath);
      store.invalidateFolders(recording.cameraId, [folder === '.' ? '' : folder]);
    }
  });
}

interface FileJob {
  camera: CameraConfig;
  recording: Recording;
}

/** One file-system call that deleting a recording needs, and its answer. */
type FileCall = { op: 'lstat' | 'unlink' | 'count entries'; path: string };
type CallAnswer = { mtimeMs?: number; entries?: number; error?: NodeJS.ErrnoException };

/**
 * A batch's files go in two passes: every file is checked first (`recordingCheckCalls`), then the
 * ones that passed are unlinked (`recordingUnlinkCalls`). Overlapped, one pass per file would queue
 * each file's quick lstat behind the slow unlinks of the others (the thread pool serves in order),
 * which halved the rate of a real disk. A check now comes at most one batch before its unlink: tens
 * of milliseconds on a local disk, about a second for 500 files on a NAS at 2 ms a file.
 */
type FilePass = 'check' | 'unlink';

/**
 * Deletes recordings' files for one sweep, each way measured as it goes (see PROBE_EVERY), per pass.
 * Either way each file goes through the same steps, and the stop request is polled between files.
 */
class FileDeleter {
  /** Milliseconds per file, a moving average per pass and way; unmeasured at first. */
  private readonly msPerFile: Record<FilePass, Record<FileDeletionWay, number | undefined>> = {
    check: { 'in place': undefined, overlapped: undefined },
    unlink: { 'in place': undefined, overlapped: undefined },
  };
  private batches = 0;
  /** Folders of this batch checked to be inside their camera's folder (a link may replace one mid-sweep). */
  private readonly safeFolders = new Map<string, boolean>();
  private pass: FilePass = 'check';
  private jobs: FileJob[] = [];
  private outcomes: FileOutcome[] = [];
  private next = 0;

  constructor(private readonly options: SweepOptions) {}

  async deleteAll(jobs: FileJob[]): Promise<FileOutcome[]> {
    this.safeFolders.clear();
    // Each way is first tried on a few files, then measured again now and then: load and disk change.
    const probing = this.batches++ % PROBE_EVERY === 0;
    const checked = await this.runPass('check', jobs, probing);
    const passed = jobs.flatMap((job, i) => (checked[i] === undefined ? [i] : []));
    const unlinked = await this.runPass(
      'unlink',
      passed.map((i) => jobs[i]),
      probing,
    );
    for (const [n, i] of passed.entries()) {
      checked[i] = unlinked[n];
    }
    return checked;
  }

  describeCosts(): string {
    const cost = (pass: FilePass, way: FileDeletionWay) =>
      this.msPerFile[pass][way] === undefined ? 'not measured' : `${Math.round(this.msPerFile[pass][way] * 1000)} µs a file`;
    return (['check', 'unlink'] as const)
      .map((pass) => `${pass}: in place ${cost(pass, 'in place')}, overlapped ${cost(pass, 'overlapped')}`)
      .join('; ');
  }

  private async runPass(pass: FilePass, jobs: FileJob[], probing: boolean): Promise<FileOutcome[]> {
    this.pass = pass;
    this.jobs = jobs;
    this.outcomes = new Array(jobs.length);
    this.next = 0;
    const fixed = this.options.fileDeletion ?? 'adaptive';
    if (fixed !== 'adaptive') {
      await this.run(fixed, jobs.length);
      return this.outcomes;
    }
    const costs = this.msPerFile[pass];
    for (const way of ['in place', 'overlapped'] as const) {
      if (probing || costs[way] === undefined) {
        await this.run(way, PROBE_FILES, PROBE_MS);
      }
    }
    await this.run(costs.overlapped! < costs['in place']! ? 'overlapped' : 'in place', jobs.length);
    return this.outcomes;
  }

  /** Takes up to `count` more files of the pass one way, for at most about `budgetMs`, and updates that way's cost. */
  private async run(way: FileDeletionWay, count: number, budgetMs = Infinity): Promise<void> {
    const first = this.next;
    let end = Math.min(this.jobs.length, first + count);
    const started = performance.now();
    const overBudget = () => {
      if (performance.now() - started > budgetMs) {
        end = this.next;
      }
    };
    if (way === 'in place') {
      while (this.next < end) {
        const sliceStart = performance.now();
        while (this.next < end && performance.now() - sliceStart < IN_PLACE_SLICE_MS) {
          // A safe point: between recordings, never between a file and its row.
          this.outcomes[this.next] = this.options.shouldStop?.() ? UNTRIED : runInPlace(this.calls(this.jobs[this.next]));
          this.next++;
          overBudget();
        }
        if (this.next < end) {
          await yieldToLoop();
        }
      }
    } else {
      const worker = async () => {
        while (this.next < end) {
          const i = this.next++;
          this.outcomes[i] = this.options.shouldStop?.() ? UNTRIED : await runOverlapped(this.calls(this.jobs[i]));
          overBudget();
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.options.unlinkConcurrency ?? defaultUnlinkConcurrency()) }, worker));
    }
    if (this.next > first) {
      const measured = (performance.now() - started) / (this.next - first);
      const before = this.msPerFile[this.pass][way];
      this.msPerFile[this.pass][way] = before === undefined ? measured : (before + measured) / 2;
    }
  }

  private calls(job: FileJob): Generator<FileCall, FileOutcome, CallAnswer> {
    if (this.pass === 'unlink') {
      return recordingUnlinkCalls(job.camera, job.recording);
    }
    const key = `${job.camera.path}\0${dirname(job.recording.relPath)}`;
    let safe = this.safeFolders.get(key);
    if (safe === undefined) {
      safe = isInsideCamera(job.camera.path, job.recording.relPath);
      this.safeFolders.set(key, safe);
    }
    return recordingCheckCalls(job.camera, job.recording, safe);
  }
}

function runInPlace(calls: Generator<FileCall, FileOutcome, CallAnswer>): FileOutcome {
  let step = calls.next({});
  while (!step.done) {
    step = calls.next(answerInPlace(step.value));
  }
  return step.value;
}

async function runOverlapped(calls: Generator<FileCall, FileOutcome, CallAnswer>): Promise<FileOutcome> {
  let step = calls.next({});
  while (!step.done) {
    step = calls.next(await answerOverlapped(step.value));
  }
  return step.value;
}

/** A missing file answers no mtime here and an ENOENT error overlapped; the deletion steps treat both alike. */
function answerInPlace({ op, path }: FileCall): CallAnswer {
  try {
    if (op === 'lstat') {
      return { mtimeMs: lstatSync(path, { throwIfNoEntry: false })?.mtimeMs };
    }
    if (op === 'count entries') {
      return { entries: readdirSync(path).length };
    }
    unlinkSync(path);
    return {};
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

async function answerOverlapped({ op, path }: FileCall): Promise<CallAnswer> {
  try {
    if (op === 'lstat') {
      return { mtimeMs: (await lstat(path)).mtimeMs };
    }
    if (op === 'count entries') {
      return { entries: (await readdir(path)).length };
    }
    await unlink(path);
    return {};
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

/**
 * Deleting one recording, as the file-system calls it takes: the caller makes each call and sends
 * back its answer. First the check: an error text (or STALE_ROW) when the recording must stay.
 */
function* recordingCheckCalls(camera: CameraConfig, recording: Recording, safe: boolean): Generator<FileCall, FileOutcome, CallAnswer> {
  if (!safe) {
    return (yield* cameraFolderVanished(camera)) ?? 'the path leads outside the camera folder (a link?); not deleted';
  }
  // A folder whose listing did not change is not re-read by the scan, so a file rewritten in place
  // (a camera overwriting latest.jpg) can be newer than its row: it is not what was planned (SPEC §1, in progress).
  const current = yield { op: 'lstat', path: join(camera.path, recording.relPath) };
  if (current.mtimeMs !== undefined && current.mtimeMs !== recording.endTime) {
    return STALE_ROW;
  }
  return undefined;
}

/** Then, for a recording that passed its check, the unlinks: an error text when it stays. */
function* recordingUnlinkCalls(camera: CameraConfig, recording: Recording): Generator<FileCall, FileOutcome, CallAnswer> {
  const absolute = join(camera.path, recording.relPath);
  const removal = yield { op: 'unlink', path: absolute };
  const code = removal.error?.code;
  if (removal.error && code !== 'ENOENT') {
    return `${code ?? 'error'}: ${removal.error.message}`;
  }
  if (removal.error) {
    const vanished = yield* cameraFolderVanished(camera);
    if (vanished) {
      return vanished;
    }
  }
  const folderPath = dirname(absolute);
  for (const sidecar of recording.sidecars) {
    // A sidecar that cannot go is left behind: the recording is gone, so its row goes, and the
    // sidecar is found again as a plain file.
    yield { op: 'unlink', path: join(folderPath, sidecar) };
  }
  return undefined;
}

/**
 * A file that is not there is already deleted, unless the whole camera folder went away under the
 * sweep (a NAS unmounted mid-sweep leaves an empty mount point): then the row stays, and the next
 * scan tells an unavailable camera from deleted files.
 */
function* cameraFolderVanished(camera: CameraConfig): Generator<FileCall, string | undefined, CallAnswer> {
  const listing = yield { op: 'count entries', path: camera.path };
  return listing.error || listing.entries === 0
    ? 'the camera folder is gone or empty (unmounted?); kept for the next scan to tell'
    : undefined;
}

/** True when the folder of `relPath`, links resolved, is still the same folder inside the camera's. */
export function isInsideCamera(cameraPath: string, relPath: string): boolean {
  if (relPath.startsWith('/') || relPath.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    return false;
  }
  try {
    const root = realpathSync(cameraPath);
    const folder = dirname(relPath);
    const expected = folder === '.' ? root : join(root, folder);
    return realpathSync(join(cameraPath, folder)) === expected && (expected === root || expected.startsWith(root + sep));
  } catch {
    return false;
  }
}

/**
 * SPEC §3.6: only folders this sweep emptied, walking up, never the camera folder itself. The
 * folders of one depth go together, overlapped: on a slow disk one rmdir after another took 0.3 s
 * per 1,000 folders.
 */
async function removeEmptiedFolders(
  ctx: EngineContext,
  touched: Map<number, Set<string>>,
  cameraById: Map<number, CameraConfig>,
): Promise<void> {
  for (const [cameraId, folders] of touched) {
    const camera = cameraById.get(cameraId)!;
    const removed = new Set<string>();
    let level = [...folders].filter((folder) => folder !== '.' && folder !== '');
    while (level.length > 0) {
      const depth = level.reduce((most, folder) => Math.max(most, folder.split('/').length), 0);
      const deepest = level.filter((folder) => folder.split('/').length === depth);
      const gone = await removeFolders(camera.path, deepest);
      for (const folder of gone) {
        removed.add(folder);
      }
      // A folder that stays (not empty, or not ours to remove) keeps its parents: they are not empty either.
      const parents = gone.map((folder) => dirname(folder)).filter((parent) => parent !== '.' && !removed.has(parent));
      level = [...new Set([...level.filter((folder) => folder.split('/').length < depth), ...parents])];
    }
    if (removed.size > 0) {
      ctx.store.transaction(() => {
        for (const folder of removed) {
          // The folder was empty: rows still in it are of files that went away since the scan.
          ctx.store.deleteRecordings(ctx.store.recordingIdsBelow(cameraId, folder));
          ctx.store.deleteFolderTree(cameraId, folder);
        }
      });
    }
  }
}

/** rmdir of each folder, a bounded number in flight; returns those removed. */
async function removeFolders(cameraPath: string, folders: string[]): Promise<string[]> {
  const gone: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < folders.length) {
      const folder = folders[next++];
      try {
        await rmdir(join(cameraPath, folder));
        gone.push(folder);
      } catch {
        // Not empty, or not ours to remove: it stays.
      }
    }
  };
  await Promise.all(Array.from({ length: defaultUnlinkConcurrency() }, worker));
  return gone;
}

export function summaryLine(report: SweepReport): string {
  const what = report.dryRun ? 'Dry run: the sweep would delete' : 'Sweep deleted';
  const reasons = REASONS.filter((reason) => report.byReason[reason].count > 0).map(
    (reason) => `${reason} ${report.byReason[reason].count} (${formatBytes(report.byReason[reason].bytes)})`,
  );
  const parts = [
    `${what} ${plural(report.deleted.count, 'recording')} (${formatBytes(report.deleted.bytes)})${reasons.length ? `: ${reasons.join(', ')}` : ''}`,
  ];
  parts.push(plural(report.failures.length, 'failure'));
  if (report.spared.protected > 0) {
    parts.push(`${report.spared.protected} protected spared`);
  }
  const unavailable = report.cameras.filter((camera) => !camera.available).map((camera) => camera.name);
  if (unavailable.length) {
    parts.push(`unavailable: ${unavailable.join(', ')}`);
  }
  if (report.paused) {
    parts.push('retention paused: only the free-space floor deletes');
  }
  const status = report.status === 'done' ? '' : ` [${report.status}${report.error ? `: ${report.error}` : ''}]`;
  return `${parts.join('; ')} in ${formatDuration(report.durationMs)}${status}`;
}

export interface ManualDeleteResult {
  deleted: Tally;
  /** Recordings left alone, with why: a person needs to know what did not go. */
  kept: { id: number; path: string | null; reason: string }[];
  failures: { path: string; error: string }[];
}

/**
 * Deletes recordings a person chose (the settings UI), by the sweeper's own rules: under the sweep
 * lock, never a protected, kept-until, export-locked or in-progress recording, file first and row
 * after, and one event-log row per camera naming `who`. Throws SweepLockHeldError while a sweep runs.
 */
export async function deleteRecordingsNow(ctx: EngineContext, ids: number[], who: string): Promise<ManualDeleteResult> {
  const { store, config } = ctx;
  store.lock.acquire(`delete by hand (${who})`);
  try {
    const now = Date.now();
    const result: ManualDeleteResult = { deleted: emptyTally(), kept: [], failures: [] };
    const cameraById = new Map<number, CameraConfig>();
    const rows = new Map<number, { available: boolean }>();
    for (const camera of config.cameras) {
      const row = store.cameraByPath(camera.path);
      if (row) {
        cameraById.set(row.id, camera);
        rows.set(row.id, row);
      }
    }
    const batch: Deletion[] = [];
    for (const id of new Set(ids)) {
      const recording = store.recording(id);
      const camera = recording && cameraById.get(recording.cameraId);
      if (!recording || !camera) {
        result.kept.push({ id, path: null, reason: 'not a recording of a configured camera (already deleted?)' });
      } else if (!rows.get(recording.cameraId)!.available) {
        result.kept.push({ id, path: join(camera.path, recording.relPath), reason: 'its camera folder is unavailable' });
      } else if (recording.endTime > now - config.minAgeSeconds * 1000) {
        result.kept.push({ id, path: join(camera.path, recording.relPath), reason: 'it may still be recording' });
      } else {
        // deleteBatchFiles reads only the recording of a Deletion; a deletion by hand has no retention reason.
        batch.push({ recording, reason: 'age' });
      }
    }
    if (batch.length === 0) {
      return result;
    }
    const outcome = await deleteBatchFiles(ctx, batch, cameraById, new FileDeleter({}));
    settleRows(ctx, outcome);
    const deletedIds = new Set(outcome.deleted.map((deletion) => deletion.recording.id));
    const touched = new Map<number, Set<string>>();
    const byCamera = new Map<number, { tally: Tally; paths: string[] }>();
    for (const { recording } of batch) {
      const camera = cameraById.get(recording.cameraId)!;
      const path = join(camera.path, recording.relPath);
      if (deletedIds.has(recording.id)) {
        addTo(result.deleted, recording.size);
        const entry = byCamera.get(recording.cameraId) ?? { tally: emptyTally(), paths: [] };
        addTo(entry.tally, recording.size);
        entry.paths.push(path);
        byCamera.set(recording.cameraId, entry);
        const folders = touched.get(recording.cameraId) ?? new Set<string>();
        folders.add(dirname(recording.relPath));
        touched.set(recording.cameraId, folders);
      } else if (!outcome.failures.some((failure) => failure.path === path)) {
        result.kept.push({ id: recording.id, path, reason: 'protected, exported or changed since it was chosen' });
      }
    }
    await removeEmptiedFolders(ctx, touched, cameraById);
    for (const [cameraId, entry] of byCamera) {
      store.addEvent({
        time: Date.now(),
        camera: cameraById.get(cameraId)!.name,
        kind: 'deleted_by_hand',
        severity: 'info',
        message: `${who} deleted ${plural(entry.tally.count, 'recording')} (${formatBytes(entry.tally.bytes)}) by hand`,
        details: { who, paths: entry.paths },
      });
    }
    for (const failure of outcome.failures) {
      result.failures.push({ path: failure.path, error: failure.error });
      store.addEvent({
        time: Date.now(),
        camera: failure.camera,
        kind: 'delete_failed',
        severity: 'warning',
        message: `${who} could not delete ${failure.path}: ${failure.error}; it stays`,
        details: { who, path: failure.path, error: failure.error },
      });
    }
    return result;
  } finally {
    store.lock.release();
  }
}
