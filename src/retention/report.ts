/**
 * What a sweep reports: the report's types, its tallies and the one summary line every sweep logs
 * (rules §6). The CLI prints it, HomeKit reads its events, the settings UI shows it; none of them
 * needs the sweeper for that.
 */
import type { RecordingClass } from '../config/types.js';
import type { RetentionEvent } from '../store/store.js';
import { formatBytes, formatDuration, plural } from './format.js';
import type { Deletion } from './plan.js';
import { type Reason, REASONS } from './reasons.js';

export interface Tally {
  count: number;
  bytes: number;
}

export interface SweepProgress {
  deletedCount: number;
  deletedBytes: number;
  failures: number;
  phase: Reason;
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
  events: RetentionEvent[];
  cameras: { name: string; available: boolean; reason?: string; added: number; removed: number; missing: number }[];
  /** The first recordings a dry run would delete, in order (at most `deletionListLimit`). */
  deletions?: PlannedDeletion[];
  /** How many more a dry run would delete than `deletions` lists. */
  deletionsNotListed?: number;
  error?: string;
}

export function emptyTally(): Tally {
  return { count: 0, bytes: 0 };
}

export function addTo(tally: Tally, bytes: number): void {
  tally.count++;
  tally.bytes += bytes;
}

/** A report with nothing counted yet. */
export function emptyReport(dryRun: boolean, trigger: string, paused: boolean, startedAt: number): SweepReport {
  return {
    dryRun,
    trigger,
    paused,
    status: 'done',
    startedAt: new Date(startedAt).toISOString(),
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
}

/** Counts one deleted (or, in a dry run, planned) recording under its reason, class and camera. */
export function countDeletion(report: SweepReport, deletion: Deletion, cameraName: string): void {
  const { recording, reason } = deletion;
  addTo(report.deleted, recording.size);
  addTo(report.byReason[reason], recording.size);
  addTo(report.byClass[recording.cls], recording.size);
  report.byCamera[cameraName] ??= emptyTally();
  addTo(report.byCamera[cameraName], recording.size);
}

export function describeDeletion(deletion: Deletion, cameraName: string): PlannedDeletion {
  const { recording, reason } = deletion;
  return {
    camera: cameraName,
    path: recording.relPath,
    reason,
    class: recording.cls,
    size: recording.size,
    endTime: new Date(recording.endTime).toISOString(),
  };
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
