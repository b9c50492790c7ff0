/**
 * One sweep (rules §3), in the order it runs:
 *
 *   1. recover   rows a dead sweep claimed are finished off (recovery.ts)
 *   2. reconcile the camera folders are scanned into the index (reconcile.ts)
 *   3. plan      the planner decides what goes, phase by phase (plan.ts, from plan-input.ts)
 *   4. carry out each batch is claimed, its files deleted, its rows settled (carry-out.ts)
 *   5. tidy up   emptied folders, expired export leases, old events, the index's upkeep
 *
 * A dry run takes the same steps and deletes nothing: step 4 only lists the plan.
 */
import { ScanStoppedError } from '../catalog/scan.js';
import { DAY_MS } from '../config/units.js';
import type { RetentionEvent } from '../store/store.js';
import { carryOut, type CarryOutOptions, listPlan } from './carry-out.js';
import type { EngineContext, Raise } from './context.js';
import { logAtSeverity } from './logger.js';
import { isPaused } from './pause.js';
import { planSweep, type PlanSummary } from './plan.js';
import { planInput, recordingSource } from './plan-input.js';
import { reconcile } from './reconcile.js';
import { finishInterruptedDeletes } from './recovery.js';
import { emptyReport, summaryLine, type SweepReport } from './report.js';
import { recordUsage } from './usage.js';

export interface SweepOptions extends CarryOutOptions {
  dryRun?: boolean;
  /** Who asked: "schedule", "startup", "cli", "settings UI". */
  trigger?: string;
  /** Cameras whose missing files a person confirmed gone (rules §3.1). */
  acceptMissing?: string[];
  batchSize?: number;
  /** How many planned deletions a dry run lists in its report (the counts always cover all of them). */
  deletionListLimit?: number;
}

/** A dry run over a million recordings must not hold them all in its report: it lists this many. */
export const DEFAULT_DELETION_LIST_LIMIT = 10_000;

/** Event-log rows are kept this long (and at least the last 1,000). */
const EVENT_RETENTION_MS = 30 * DAY_MS;
const EVENTS_KEPT_AT_LEAST = 1000;
/** The index is compacted by a sweep that deleted fewer than this (the next one after a big sweep, rules §3.6). */
const COMPACT_AFTER_AT_MOST = 1000;

/** The caller must not hold the sweep lock; this takes it for the whole run. */
export async function runSweep(ctx: EngineContext, options: SweepOptions = {}): Promise<SweepReport> {
  const { store, log } = ctx;
  const dryRun = options.dryRun ?? false;
  const trigger = options.trigger ?? 'manual';
  const started = Date.now();
  store.lock.acquire(dryRun ? `dry run (${trigger})` : `sweep (${trigger})`, started);
  const report = emptyReport(dryRun, trigger, isPaused(store), started);
  const runId = store.startSweepRun(started, dryRun, trigger);
  const raise = raiser(ctx, report);
  try {
    if (!dryRun) {
      finishInterruptedDeletes(ctx);
    }
    const scans = await reconcile(ctx, options, raise);
    report.cameras = scans.map((scan) => ({
      name: scan.camera.name,
      available: scan.available,
      reason: scan.reason,
      added: scan.added,
      removed: scan.removed,
      missing: scan.missing,
    }));
    const { input, filesystems, cameraById } = planInput(ctx, scans, { floorOnly: report.paused, batchSize: options.batchSize }, raise);
    const planner = planSweep({ ...input, source: recordingSource(store, scans) });
    const summary = dryRun
      ? listPlan(planner, report, cameraById, options.deletionListLimit ?? DEFAULT_DELETION_LIST_LIMIT)
      : await carryOut(ctx, planner, report, cameraById, filesystems, options, raise);
    if (summary) {
      tellSummary(summary, report, raise);
    }
    // What the sweep leaves (or, in a dry run, what the scan found) is this hour's measured usage.
    recordUsage(store, log);
    if (!dryRun) {
      tidyUp(ctx, report.deleted.count < COMPACT_AFTER_AT_MOST);
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

/** Events go into the report and the log, and (outside a dry run) into the event log. */
function raiser(ctx: EngineContext, report: SweepReport): Raise {
  const { store, log } = ctx;
  return (event: RetentionEvent) => {
    report.events.push(event);
    logAtSeverity(log, event.severity, event.camera ? `[${event.camera}] ${event.message}` : event.message);
    if (!report.dryRun) {
      try {
        store.addEvent({ ...event, time: Date.now() });
      } catch (error) {
        // A full disk under the index: the line above is all there is, and the sweep goes on if it can.
        log.error(`the event log could not be written: ${(error as Error).message}`);
      }
    }
  };
}

/** What the planner found that a person must know (a quota that cannot be met, ...), and what it spared. */
function tellSummary(summary: PlanSummary, report: SweepReport, raise: Raise): void {
  for (const event of summary.events) {
    raise(event);
  }
  report.spared.protected = summary.sparedIds.size;
}

/** Housekeeping (rules §3.6) besides the emptied folders, which go with the deletions. */
function tidyUp(ctx: EngineContext, compact: boolean): void {
  const { store } = ctx;
  store.expireExportLocks(Date.now());
  store.pruneEvents(Date.now() - EVENT_RETENTION_MS, EVENTS_KEPT_AT_LEAST);
  store.optimize(compact);
}
