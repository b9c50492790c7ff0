import type { RecordingClass } from '../config/types.js';
import type { Recording } from '../store/store.js';

/**
 * The retention planner (rules §3.2–§3.5). It decides, it never touches a file or the index:
 * recordings come in through a `RecordingSource` (oldest first), disk figures and usage come in as
 * numbers, and out come batches of deletions, each with its reason.
 *
 * It is a generator so that one piece of logic serves both the dry run and the real sweep. The
 * sweeper carries out each batch and answers with what failed and how much space is free now; a
 * dry run answers nothing, which means "assume every deletion worked and freed its size" (rules §4).
 */

export type Reason = 'age' | 'quota' | 'cap' | 'floor';
export const REASONS: Reason[] = ['age', 'quota', 'cap', 'floor'];

export interface Deletion {
  recording: Recording;
  reason: Reason;
}

export interface CameraPolicy {
  id: number;
  name: string;
  available: boolean;
  retentionMs: number;
  eventRetentionMs: number;
  quotaBytes?: number;
  /** Which filesystem holds the folder (`st_dev`), for the floor. */
  filesystem: string;
}

export interface CameraUsage {
  /** Bytes the quota and the cap count: protected included, export-locked and in-progress excluded. */
  countedBytes: number;
  /** Of those, bytes that no phase may delete (protected or under keep-until). */
  undeletableBytes: number;
}

export interface FilesystemFigures {
  id: string;
  /** `bavail × bsize`; undefined when statfs failed, which skips the floor for this filesystem. */
  freeBytes?: number;
  totalBytes?: number;
}

export interface RecordingSource {
  /**
   * Recordings of these cameras, oldest first: end time, then continuous before event, then path.
   * In a real sweep a recording that was handed out and not answered as failed must not come back
   * (the store hides rows a sweep has claimed): the planner forgets it, to keep its memory flat.
   */
  oldest(cameraIds: number[], filter?: { cls?: RecordingClass; endBefore?: number }): Iterable<Recording>;
}

export type EventKind =
  'quota_unsatisfiable' | 'cap_unsatisfiable' | 'floor_unreachable' | 'floor_futile' | 'floor_misconfigured' | 'no_progress';

export interface PlanEvent {
  kind: EventKind;
  camera: string | null;
  severity: 'warning' | 'error';
  message: string;
  details: Record<string, unknown>;
}

export interface PlanInput {
  now: number;
  minAgeMs: number;
  cameras: CameraPolicy[];
  usage: Map<number, CameraUsage>;
  capBytes?: number;
  floorBytes?: number;
  filesystems: FilesystemFigures[];
  source: RecordingSource;
  /** While paused (the Pause switch), only the floor deletes: a full disk stops recording. */
  floorOnly?: boolean;
  batchSize?: number;
}

export interface BatchOutcome {
  /** Recordings that could not be deleted: they stay, still count, and are not tried again this sweep. */
  failedIds: number[];
  /** Free bytes measured after the batch, by filesystem id (the sweeper re-measures for the floor). */
  freeBytes?: Map<string, number>;
}

export interface PlanSummary {
  events: PlanEvent[];
  /** Protected (or kept-until) recordings that a phase would otherwise have deleted. */
  sparedIds: Set<number>;
  /**
   * Ids the planner still remembered at the end, so as not to hand them out twice: every planned
   * one in a dry run, only the failed ones in a real sweep (its memory stays flat however much goes).
   */
  rememberedIds: number;
}

export const DEFAULT_BATCH_SIZE = 500;
/** A floor that is still short after this many measured rounds is left for the next sweep. */
const MAX_FLOOR_ROUNDS = 20;

export type DeletableVerdict = 'deletable' | 'held' | 'busy';

/** rules §1: held = protected or under keep-until; busy = export-locked or in progress. */
export function verdict(recording: Recording, now: number, minAgeMs: number): DeletableVerdict {
  if (recording.protected || (recording.keepUntil !== null && recording.keepUntil > now)) {
    return 'held';
  }
  if ((recording.exportLockUntil !== null && recording.exportLockUntil > now) || recording.endTime > now - minAgeMs) {
    return 'busy';
  }
  return 'deletable';
}

type Planner = Generator<Deletion[], PlanSummary, BatchOutcome | undefined>;

/** Plans a whole sweep; see the module comment for the conversation with the sweeper. */
export function* planSweep(input: PlanInput): Planner {
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  const summary: PlanSummary = { events: [], sparedIds: new Set(), rememberedIds: 0 };
  const available = input.cameras.filter((camera) => camera.available);
  const usage = new Map(
    available.map((camera) => [camera.id, { ...(input.usage.get(camera.id) ?? { countedBytes: 0, undeletableBytes: 0 }) }]),
  );
  const free = new Map(input.filesystems.map((fs) => [fs.id, fs.freeBytes]));
  // Ids already handed out: a dry run must not plan a recording twice, and a real sweep must not
  // retry in a later phase what just failed. A real sweep's deleted rows leave the source, so only
  // its failures are kept here.
  const handed = new Set<number>();
  const cameraOf = new Map(available.map((camera) => [camera.id, camera]));

  /**
   * Walks `candidates`, hands out deletable ones in batches while `wanted()` holds. `tally` sees each
   * recording handed out (-1) and each that then failed (+1), so `wanted` can count what is left to do.
   */
  function* take(
    candidates: Iterable<Recording>,
    reason: Reason,
    wanted: () => boolean,
    tally?: (recording: Recording, sign: 1 | -1) => void,
  ): Generator<Deletion[], 'done' | 'exhausted' | 'stalled', BatchOutcome | undefined> {
    let batch: Deletion[] = [];
    const flush = function* (): Generator<Deletion[], boolean, BatchOutcome | undefined> {
      const outcome = yield batch;
      const failed = new Set(outcome?.failedIds ?? []);
      for (const deletion of batch) {
        if (failed.has(deletion.recording.id)) {
          // It stays on disk: give its bytes back to whatever the phase is counting.
          account(deletion.recording, +1);
          tally?.(deletion.recording, +1);
        } else if (outcome) {
          handed.delete(deletion.recording.id);
        } else {
          // A dry run assumes the size was freed; an unmeasured filesystem stays unmeasured.
          const fs = filesystemOf(deletion.recording);
          const before = free.get(fs);
          if (before !== undefined) {
            free.set(fs, before + deletion.recording.size);
          }
        }
      }
      if (outcome?.freeBytes) {
        for (const [id, bytes] of outcome.freeBytes) {
          free.set(id, bytes);
        }
      }
      const progressed = failed.size < batch.length;
      batch = [];
      return progressed;
    };
    for (const recording of candidates) {
      if (!wanted()) {
        break;
      }
      if (handed.has(recording.id)) {
        continue;
      }
      const state = verdict(recording, input.now, input.minAgeMs);
      if (state === 'held') {
        summary.sparedIds.add(recording.id);
      }
      if (state !== 'deletable') {
        continue;
      }
      handed.add(recording.id);
      account(recording, -1);
      tally?.(recording, -1);
      batch.push({ recording, reason });
      if (batch.length >= batchSize && !(yield* flush())) {
        return 'stalled';
      }
    }
    if (batch.length > 0 && !(yield* flush())) {
      return 'stalled';
    }
    return wanted() ? 'exhausted' : 'done';
  }

  function account(recording: Recording, sign: 1 | -1): void {
    const cameraUsage = usage.get(recording.cameraId);
    if (cameraUsage) {
      cameraUsage.countedBytes += sign * recording.size;
    }
  }

  function filesystemOf(recording: Recording): string {
    return cameraOf.get(recording.cameraId)!.filesystem;
  }

  function stalled(camera: string | null, reason: Reason): void {
    summary.events.push({
      kind: 'no_progress',
      camera,
      severity: 'error',
      message: `${reason} phase stopped: a whole batch of deletions failed`,
      details: { phase: reason },
    });
  }

  if (!input.floorOnly) {
    // Phase 2: age.
    for (const camera of available) {
      for (const cls of ['continuous', 'event'] as const) {
        const keepMs = cls === 'event' ? camera.eventRetentionMs : camera.retentionMs;
        const candidates = input.source.oldest([camera.id], { cls, endBefore: input.now - keepMs });
        if ((yield* take(candidates, 'age', () => true)) === 'stalled') {
          stalled(camera.name, 'age');
        }
      }
    }

    // Phase 3: per-camera quota.
    for (const camera of available) {
      const quota = camera.quotaBytes;
      const cameraUsage = usage.get(camera.id)!;
      if (quota === undefined || cameraUsage.countedBytes <= quota) {
        continue;
      }
      if (cameraUsage.undeletableBytes >= quota) {
        summary.events.push({
          kind: 'quota_unsatisfiable',
          camera: camera.name,
          severity: 'warning',
          message: `protected recordings alone (${cameraUsage.undeletableBytes} bytes) fill the quota of ${quota} bytes`,
          details: { quotaBytes: quota, protectedBytes: cameraUsage.undeletableBytes, usedBytes: cameraUsage.countedBytes },
        });
        continue;
      }
      const ending = yield* take(input.source.oldest([camera.id]), 'quota', () => cameraUsage.countedBytes > quota);
      if (ending === 'stalled') {
        stalled(camera.name, 'quota');
      } else if (ending === 'exhausted') {
        summary.events.push({
          kind: 'quota_unsatisfiable',
          camera: camera.name,
          severity: 'warning',
          message: `nothing deletable is left and the camera is still over its quota of ${quota} bytes`,
          details: { quotaBytes: quota, usedBytes: cameraUsage.countedBytes },
        });
      }
    }

    // Phase 4: global cap, oldest first across cameras.
    if (input.capBytes !== undefined && available.length > 0) {
      const cap = input.capBytes;
      const total = () => sum(available.map((camera) => usage.get(camera.id)!.countedBytes));
      const undeletable = sum(available.map((camera) => usage.get(camera.id)!.undeletableBytes));
      if (total() > cap) {
        if (undeletable >= cap) {
          summary.events.push({
            kind: 'cap_unsatisfiable',
            camera: null,
            severity: 'warning',
            message: `protected recordings alone (${undeletable} bytes) fill the global cap of ${cap} bytes`,
            details: { capBytes: cap, protectedBytes: undeletable, usedBytes: total() },
          });
        } else {
          const ending = yield* take(input.source.oldest(available.map((camera) => camera.id)), 'cap', () => total() > cap);
          if (ending === 'stalled') {
            stalled(null, 'cap');
          } else if (ending === 'exhausted') {
            summary.events.push({
              kind: 'cap_unsatisfiable',
              camera: null,
              severity: 'warning',
              message: `nothing deletable is left and the cameras are still over the global cap of ${cap} bytes`,
              details: { capBytes: cap, usedBytes: total() },
            });
          }
        }
      }
    }
  }

  // Phase 5: free-space floor, per filesystem, in measured rounds.
  if (input.floorBytes !== undefined) {
    const floor = input.floorBytes;
    for (const fs of input.filesystems) {
      const cameras = available.filter((camera) => camera.filesystem === fs.id);
      if (cameras.length === 0 || free.get(fs.id) === undefined) {
        continue;
      }
      const names = cameras.map((camera) => camera.name).join(', ');
      if (fs.totalBytes !== undefined && floor >= fs.totalBytes) {
        summary.events.push({
          kind: 'floor_misconfigured',
          camera: null,
          severity: 'error',
          message: `the free-space floor (${floor} bytes) is larger than the whole filesystem of ${names} (${fs.totalBytes} bytes); nothing deleted for it`,
          details: { filesystem: fs.id, floorBytes: floor, totalBytes: fs.totalBytes },
        });
        continue;
      }
      for (let round = 0; round < MAX_FLOOR_ROUNDS && free.get(fs.id)! < floor; round++) {
        const before = free.get(fs.id)!;
        // Cover the shortfall and no more (rules §3.5), then measure again.
        const shortfall = floor - before;
        let planned = 0;
        const ending = yield* take(
          input.source.oldest(cameras.map((camera) => camera.id)),
          'floor',
          () => planned < shortfall,
          (recording, sign) => {
            planned -= sign * recording.size;
          },
        );
        const after = free.get(fs.id)!;
        if (after >= floor) {
          break;
        }
        if (ending === 'stalled') {
          stalled(null, 'floor');
          break;
        }
        if (ending === 'exhausted') {
          summary.events.push({
            kind: 'floor_unreachable',
            camera: null,
            severity: 'error',
            message: `free space on the filesystem of ${names} is ${after} bytes, under the floor of ${floor}, and nothing deletable is left`,
            details: { filesystem: fs.id, freeBytes: after, floorBytes: floor },
          });
          break;
        }
        if (after <= before) {
          summary.events.push({
            kind: 'floor_futile',
            camera: null,
            severity: 'error',
            message: `deleting recordings freed no space on the filesystem of ${names}: something else is filling it`,
            details: { filesystem: fs.id, freeBytes: after, floorBytes: floor },
          });
          break;
        }
      }
    }
  }
  summary.rememberedIds = handed.size;
  return summary;
}

/** A dry run: the same plan with every deletion assumed to work (rules §4). */
export function collectPlan(input: PlanInput): { deletions: Deletion[]; summary: PlanSummary } {
  const planner = planSweep(input);
  const deletions: Deletion[] = [];
  for (let step = planner.next(); ; step = planner.next()) {
    if (step.done) {
      return { deletions, summary: step.value };
    }
    deletions.push(...step.value);
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * A RecordingSource over an array, for tests and small callers: sorted the way the index sorts.
 * `remove` drops recordings the way a sweep's committed row deletes drop them from the index.
 */
export function arraySource(recordings: Recording[]): RecordingSource & { remove(ids: Iterable<number>): void } {
  const classRank = (cls: RecordingClass) => (cls === 'continuous' ? 0 : 1);
  const sorted = [...recordings].sort(
    (a, b) => a.endTime - b.endTime || classRank(a.cls) - classRank(b.cls) || (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0),
  );
  const removed = new Set<number>();
  return {
    *oldest(cameraIds, filter = {}) {
      for (const r of sorted) {
        if (
          !removed.has(r.id) &&
          cameraIds.includes(r.cameraId) &&
          (filter.cls === undefined || r.cls === filter.cls) &&
          (filter.endBefore === undefined || r.endTime < filter.endBefore)
        ) {
          yield r;
        }
      }
    },
    remove(ids) {
      for (const id of ids) {
        removed.add(id);
      }
    },
  };
}
