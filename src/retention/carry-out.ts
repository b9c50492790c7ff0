/**
 * Carrying out the plan (rules §3.2–3.5, §3.7): the planner's batches, one after another, each
 * claimed, its files deleted and its rows settled; the planner hears back what stayed and how much
 * space is free now. A dry run only lists the batches (rules §4).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { CameraConfig } from '../config/types.js';
import type { EngineContext, Raise } from './context.js';
import { type BatchResult, deleteBatchFiles, settleRows } from './deletion/batch.js';
import { noteTouchedFolders, removeEmptiedFolders, type TouchedFolders } from './deletion/emptied-folders.js';
import { FileDeleter, type FileDeletionOptions } from './deletion/file-deleter.js';
import { formatBytes, plural } from './format.js';
import type { BatchOutcome, Deletion, planSweep, PlanSummary } from './plan.js';
import { type MeasuredFilesystem, remeasure } from './plan-input.js';
import { countDeletion, describeDeletion, type SweepProgress, type SweepReport } from './report.js';

/** How often a long sweep says how far it got. */
const PROGRESS_INTERVAL_MS = 5000;

type Planner = ReturnType<typeof planSweep>;

/** A dry run: every batch counted and listed (the first `listLimit`), as if each deletion worked. */
export function listPlan(planner: Planner, report: SweepReport, cameraById: Map<number, CameraConfig>, listLimit: number): PlanSummary {
  for (;;) {
    const step = planner.next(undefined);
    if (step.done) {
      return step.value;
    }
    for (const deletion of step.value) {
      const camera = cameraById.get(deletion.recording.cameraId)!.name;
      countDeletion(report, deletion, camera);
      if (report.deletions!.length < listLimit) {
        report.deletions!.push(describeDeletion(deletion, camera));
      } else {
        report.deletionsNotListed!++;
      }
    }
  }
}

export interface CarryOutOptions extends FileDeletionOptions {
  onProgress?: (progress: SweepProgress) => void;
}

/**
 * A real sweep. Batch N's rows are settled while batch N+1's files are being unlinked: the planner
 * needs only N's outcome, and the store no longer offers N's claimed rows to any phase.
 */
export async function carryOut(
  ctx: EngineContext,
  planner: Planner,
  report: SweepReport,
  cameraById: Map<number, CameraConfig>,
  filesystems: Map<string, MeasuredFilesystem>,
  options: CarryOutOptions,
  raise: Raise,
): Promise<PlanSummary | undefined> {
  const { store, log } = ctx;
  const touched: TouchedFolders = new Map();
  const deleter = new FileDeleter(options);
  let lastProgress = Date.now();
  let outcome: BatchOutcome | undefined;
  let inFlight: Promise<BatchResult> | undefined;
  let unsettled: BatchResult | undefined;
  const lostCameras = new Set<string>();
  const reportBatch = (batch: Deletion[], result: BatchResult) => {
    for (const [camera, reason] of result.lostCameras) {
      if (!lostCameras.has(camera)) {
        lostCameras.add(camera);
        raise({
          kind: 'camera_unavailable',
          camera,
          severity: 'warning',
          message: `camera unavailable, nothing more of it is deleted: ${reason}. The next scan looks at the folder again`,
          reason,
        });
      }
    }
    for (const path of result.heldTooLate) {
      raise({
        kind: 'hold_too_late',
        camera: null,
        severity: 'error',
        message: `${path} was protected in the same moment its unlink went ahead: it is deleted`,
        path,
      });
    }
    const reason = batch[0]!.reason;
    for (const recording of result.deleted) {
      countDeletion(report, { recording, reason }, cameraById.get(recording.cameraId)!.name);
      noteTouchedFolders(touched, recording);
    }
    for (const failure of result.failures) {
      report.failures.push(failure);
      raise({
        kind: 'delete_failed',
        camera: failure.camera,
        severity: 'warning',
        message: `could not delete ${failure.path}: ${failure.error}; it stays and is tried again next sweep`,
        path: failure.path,
        error: failure.error,
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
      phase: reason,
    });
  };
  let summary: PlanSummary | undefined;
  try {
    for (;;) {
      const step = planner.next(outcome);
      if (step.done) {
        summary = step.value;
        break;
      }
      const batch = step.value;
      // A turn of the event loop between batches even when files go in place without one: the
      // engine's thread answers a Protect switch here, before the next batch is claimed.
      await yieldToLoop();
      if (options.shouldStop?.()) {
        break;
      }
      if (!store.lock.heartbeat() || !store.isStillAtPath) {
        // Another process may be sweeping, or holding, on the index or lock file now at that path (rules §3.9).
        raise({
          kind: 'sweep_stopped',
          camera: null,
          severity: 'warning',
          message: `sweep stopped: the index ${store.path} or its lock file was deleted or replaced while the sweep ran; nothing more is deleted until the next sweep`,
        });
        break;
      }
      inFlight = deleteBatchFiles(
        store,
        log,
        batch.map((deletion) => deletion.recording),
        cameraById,
        deleter,
      );
      if (unsettled) {
        const previous = unsettled;
        unsettled = undefined;
        settleRows(store, previous);
      }
      const result = await inFlight;
      inFlight = undefined;
      unsettled = result;
      reportBatch(batch, result);
      outcome = { keptIds: result.keptIds, freeBytes: remeasure(ctx, filesystems), nextBatchSize: deleter.preferredBatchSize() };
      if (result.stopped) {
        break;
      }
    }
  } catch (error) {
    // The files in flight still finish; rows the index then cannot settle stay marked and are
    // finished at the next start (rules §3.8).
    const last = unsettled ?? (await inFlight?.catch(() => undefined));
    try {
      if (last) {
        settleRows(store, last);
      }
    } catch {
      // The first error is the one to report.
    }
    throw error;
  }
  if (unsettled) {
    settleRows(store, unsettled);
  }
  if (report.deleted.count > 0) {
    log.debug(`deleting files cost: ${deleter.describeCosts()}`);
  }
  // A camera whose folder is not the one the scan saw: its emptied folders are not looked for either.
  for (const [cameraId, camera] of cameraById) {
    if (lostCameras.has(camera.name)) {
      touched.delete(cameraId);
    }
  }
  await removeEmptiedFolders(store, touched, cameraById);
  return summary;
}
