import type { RecordingClass } from '../config/types.js';
import type { Recording, RetentionEvent } from '../store/store.js';
import { verdict } from './deletable.js';
import type { Reason } from './reasons.js';

/**
 * The retention planner (rules §3.2–§3.5). It decides, it never touches a file or the index:
 * recordings come in through a `RecordingSource` (oldest first), disk figures and usage come in as
 * numbers, and out come batches of deletions, each with its reason.
 *
 * It is a generator so that one piece of logic serves both the dry run and the real sweep. The
 * sweeper carries out each batch and answers with what stayed and how much space is free now; a
 * dry run answers nothing, which means "assume every deletion worked and freed its size" (rules §4).
 */

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
  /** Filesystems mounted inside the camera folder that hold some of its recordings (issue 11). */
  nestedFilesystems?: string[];
}

export interface CameraUsage {
  /** Bytes the quota and the cap count: protected included, export-locked and in-progress excluded. */
  countedBytes: number;
  /** Of those, bytes that no phase may delete (protected or under keep-until). */
  undeletableBytes: number;
}

export interface FilesystemFigures {
  id: string;
  /**
   * Its `st_dev` when known: the floor then deletes only recordings that live on it (a disk mounted
   * inside a camera folder is another filesystem, with its own free space).
   */
  dev?: number;
  /** `bavail × bsize`; undefined when statfs failed, which skips the floor for this filesystem. */
  freeBytes?: number;
  totalBytes?: number;
}

export interface RecordingSource {
  /**
   * Recordings of these cameras, oldest first: end time, then continuous before event, then path.
   * In a real sweep a recording that was handed out and not answered as kept must not come back
   * (the store hides rows a sweep has claimed): the planner forgets it, to keep its memory flat.
   */
  oldest(cameraIds: number[], filter?: { cls?: RecordingClass; endBefore?: number; dev?: number }): Iterable<Recording>;
}

export type EventKind =
  'quota_unsatisfiable' | 'cap_unsatisfiable' | 'floor_unreachable' | 'floor_futile' | 'floor_misconfigured' | 'no_progress';

export interface PlanEvent extends RetentionEvent {
  kind: EventKind;
  severity: 'warning' | 'error';
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
  /**
   * Recordings that stay: a failed unlink, a recording protected or exported since planning, or a
   * stale row; they still count and are not tried again this sweep.
   */
  keptIds: number[];
  /** Free bytes measured after the batch, by filesystem id (the sweeper re-measures for the floor). */
  freeBytes?: Map<string, number>;
  /**
   * The batch size the sweeper asks for from now on: larger over a network, where a batch must span
   * several folders (deletion/file-deleter.ts). A batch size set in the input wins.
   */
  nextBatchSize?: number;
}

export interface PlanSummary {
  events: PlanEvent[];
  /** Protected (or kept-until) recordings that a phase would otherwise have deleted. */
  sparedIds: Set<number>;
  /**
   * Ids the planner still remembered at the end, so as not to hand them out twice: every planned
   * one in a dry run, only the kept ones in a real sweep (its memory stays flat however much goes).
   */
  rememberedIds: number;
}

export const DEFAULT_BATCH_SIZE = 500;
/** A floor that is still short after this many measured rounds is left for the next sweep. */
const MAX_FLOOR_ROUNDS = 20;

type Planner = Generator<Deletion[], PlanSummary, BatchOutcome | undefined>;
/** A phase hands out batches the way the whole planner does, and ends when it wants no more space. */
type Phase = Generator<Deletion[], void, BatchOutcome | undefined>;
/** How a `take` ended: the phase got what it wanted, ran out of candidates, or a whole batch stayed. */
type Ending = 'done' | 'exhausted' | 'stalled';

/** What the phases share: the figures they lower as they plan, and what has been handed out. */
interface PlanState {
  input: PlanInput;
  batchSize: number;
  summary: PlanSummary;
  /** Only cameras whose folder could be scanned take part: nothing of an unavailable camera is deleted. */
  available: CameraPolicy[];
  cameraOf: Map<number, CameraPolicy>;
  /** A copy of the usage: counted bytes drop as recordings are handed out, and come back when one stays. */
  usage: Map<number, CameraUsage>;
  /** Free bytes by filesystem: measured by the sweeper after each batch, or raised by each planned size in a dry run. */
  free: Map<string, number | undefined>;
  /**
   * Ids already handed out: a dry run must not plan a recording twice, and a real sweep must not
   * retry in a later phase what just stayed. A real sweep's deleted rows leave the source, so only
   * the recordings that stayed are kept here.
   */
  handed: Set<number>;
}

/** What a phase counts besides the camera's usage, told about each recording as it goes and as it stays. */
interface TakeHooks {
  onHandedOut?: (recording: Recording) => void;
  onKept?: (recording: Recording) => void;
}

/** Plans a whole sweep; see the module comment for the conversation with the sweeper. */
export function* planSweep(input: PlanInput): Planner {
  const state = startPlan(input);
  // While paused only the floor deletes: a full disk stops recording.
  if (!input.floorOnly) {
    yield* agePhase(state);
    yield* quotaPhase(state);
    yield* capPhase(state);
  }
  yield* floorPhase(state);
  state.summary.rememberedIds = state.handed.size;
  return state.summary;
}

function startPlan(input: PlanInput): PlanState {
  const available = input.cameras.filter((camera) => camera.available);
  return {
    input,
    batchSize: input.batchSize ?? DEFAULT_BATCH_SIZE,
    summary: { events: [], sparedIds: new Set(), rememberedIds: 0 },
    available,
    cameraOf: new Map(available.map((camera) => [camera.id, camera])),
    usage: new Map(available.map((camera) => [camera.id, { ...(input.usage.get(camera.id) ?? { countedBytes: 0, undeletableBytes: 0 }) }])),
    free: new Map(input.filesystems.map((fs) => [fs.id, fs.freeBytes])),
    handed: new Set(),
  };
}

/** Phase 2: per camera and class, everything that ended longer ago than its retention. */
function* agePhase(state: PlanState): Phase {
  const { input } = state;
  for (const camera of state.available) {
    for (const cls of ['continuous', 'event'] as const) {
      const keepMs = cls === 'event' ? camera.eventRetentionMs : camera.retentionMs;
      const candidates = input.source.oldest([camera.id], { cls, endBefore: input.now - keepMs });
      if ((yield* take(state, candidates, 'age', () => true)) === 'stalled') {
        raiseStalled(state.summary, camera.name, 'age');
      }
    }
  }
}

/** Phase 3: each camera over its quota gives up its oldest recordings until it is under. */
function* quotaPhase(state: PlanState): Phase {
  for (const camera of state.available) {
    const quota = camera.quotaBytes;
    const cameraUsage = state.usage.get(camera.id)!;
    if (quota === undefined || cameraUsage.countedBytes <= quota) {
      continue;
    }
    if (cameraUsage.undeletableBytes >= quota) {
      raise(
        state.summary,
        'quota_unsatisfiable',
        camera.name,
        'warning',
        `protected recordings alone (${cameraUsage.undeletableBytes} bytes) fill the quota of ${quota} bytes`,
        { quotaBytes: quota, protectedBytes: cameraUsage.undeletableBytes, usedBytes: cameraUsage.countedBytes },
      );
      continue;
    }
    const ending = yield* take(state, state.input.source.oldest([camera.id]), 'quota', () => cameraUsage.countedBytes > quota);
    if (ending === 'stalled') {
      raiseStalled(state.summary, camera.name, 'quota');
    } else if (ending === 'exhausted') {
      raise(
        state.summary,
        'quota_unsatisfiable',
        camera.name,
        'warning',
        `nothing deletable is left and the camera is still over its quota of ${quota} bytes`,
        { quotaBytes: quota, usedBytes: cameraUsage.countedBytes },
      );
    }
  }
}

/** Phase 4: the global cap, oldest first across all cameras. */
function* capPhase(state: PlanState): Phase {
  const { available, usage } = state;
  const cap = state.input.capBytes;
  if (cap === undefined || available.length === 0) {
    return;
  }
  const total = () => sum(available.map((camera) => usage.get(camera.id)!.countedBytes));
  const undeletable = sum(available.map((camera) => usage.get(camera.id)!.undeletableBytes));
  if (total() <= cap) {
    return;
  }
  if (undeletable >= cap) {
    raise(
      state.summary,
      'cap_unsatisfiable',
      null,
      'warning',
      `protected recordings alone (${undeletable} bytes) fill the global cap of ${cap} bytes`,
      { capBytes: cap, protectedBytes: undeletable, usedBytes: total() },
    );
    return;
  }
  const candidates = state.input.source.oldest(available.map((camera) => camera.id));
  const ending = yield* take(state, candidates, 'cap', () => total() > cap);
  if (ending === 'stalled') {
    raiseStalled(state.summary, null, 'cap');
  } else if (ending === 'exhausted') {
    raise(
      state.summary,
      'cap_unsatisfiable',
      null,
      'warning',
      `nothing deletable is left and the cameras are still over the global cap of ${cap} bytes`,
      { capBytes: cap, usedBytes: total() },
    );
  }
}

/** Phase 5: the free-space floor, per filesystem, for the cameras whose folders it holds. */
function* floorPhase(state: PlanState): Phase {
  const floor = state.input.floorBytes;
  if (floor === undefined) {
    return;
  }
  for (const fs of state.input.filesystems) {
    const cameras = state.available.filter((camera) => camera.filesystem === fs.id || camera.nestedFilesystems?.includes(fs.id));
    if (cameras.length === 0 || state.free.get(fs.id) === undefined) {
      continue;
    }
    if (fs.totalBytes !== undefined && floor >= fs.totalBytes) {
      raise(
        state.summary,
        'floor_misconfigured',
        null,
        'error',
        `the free-space floor (${floor} bytes) is larger than the whole filesystem of ${cameraNames(cameras)} (${fs.totalBytes} bytes); nothing deleted for it`,
        { filesystem: fs.id, floorBytes: floor, totalBytes: fs.totalBytes },
      );
      continue;
    }
    yield* floorRounds(state, fs, cameras, floor);
  }
}

/**
 * Deletes on one filesystem in measured rounds until its free space is back over the floor, and
 * says why when it cannot be: nothing deletable is left, a whole batch stayed, or deleting frees nothing.
 */
function* floorRounds(state: PlanState, filesystem: FilesystemFigures, cameras: CameraPolicy[], floor: number): Phase {
  const fs = filesystem.id;
  const names = cameraNames(cameras);
  // Only what lives on this filesystem frees space on it.
  const onIt = filesystem.dev === undefined ? {} : { dev: filesystem.dev };
  for (let round = 0; round < MAX_FLOOR_ROUNDS && state.free.get(fs)! < floor; round++) {
    const before = state.free.get(fs)!;
    // Cover the shortfall and no more (rules §3.5), then measure again.
    const shortfall = floor - before;
    let planned = 0;
    const ending = yield* take(
      state,
      state.input.source.oldest(
        cameras.map((camera) => camera.id),
        onIt,
      ),
      'floor',
      () => planned < shortfall,
      {
        onHandedOut: (recording) => {
          planned += recording.size;
        },
        onKept: (recording) => {
          planned -= recording.size;
        },
      },
    );
    const after = state.free.get(fs)!;
    if (after >= floor) {
      return;
    }
    if (ending === 'stalled') {
      raiseStalled(state.summary, null, 'floor');
      return;
    }
    if (ending === 'exhausted') {
      raise(
        state.summary,
        'floor_unreachable',
        null,
        'error',
        `free space on the filesystem of ${names} is ${after} bytes, under the floor of ${floor}, and nothing deletable is left`,
        { filesystem: fs, freeBytes: after, floorBytes: floor },
      );
      return;
    }
    if (after <= before) {
      raise(
        state.summary,
        'floor_futile',
        null,
        'error',
        `deleting recordings freed no space on the filesystem of ${names}: something else is filling it`,
        { filesystem: fs, freeBytes: after, floorBytes: floor },
      );
      return;
    }
  }
}

/**
 * The loop every phase shares: walks `candidates` (oldest first) and hands out the deletable ones in
 * batches while `wanted()` holds. The camera's counted bytes drop as each goes out and come back
 * if it stays, so that `wanted` sees what is left to do; `hooks` let a phase count more.
 */
function* take(
  state: PlanState,
  candidates: Iterable<Recording>,
  reason: Reason,
  wanted: () => boolean,
  hooks: TakeHooks = {},
): Generator<Deletion[], Ending, BatchOutcome | undefined> {
  let batch: Deletion[] = [];
  for (const recording of candidates) {
    if (!wanted()) {
      break;
    }
    if (state.handed.has(recording.id) || !mayDelete(state, recording)) {
      continue;
    }
    state.handed.add(recording.id);
    stopCounting(state, recording);
    hooks.onHandedOut?.(recording);
    batch.push({ recording, reason });
    if (batch.length >= state.batchSize) {
      const progressed = yield* handOver(state, batch, hooks);
      batch = [];
      if (!progressed) {
        return 'stalled';
      }
    }
  }
  if (batch.length > 0 && !(yield* handOver(state, batch, hooks))) {
    return 'stalled';
  }
  return wanted() ? 'exhausted' : 'done';
}

/**
 * Yields one batch to the sweeper and takes in its answer: a recording that stays counts again, one
 * that went is forgotten, and in a dry run (no answer) each is assumed to have freed its size.
 * True when at least one recording went.
 */
function* handOver(state: PlanState, batch: Deletion[], hooks: TakeHooks): Generator<Deletion[], boolean, BatchOutcome | undefined> {
  const outcome = yield batch;
  const kept = new Set(outcome?.keptIds ?? []);
  for (const { recording } of batch) {
    if (kept.has(recording.id)) {
      countAgain(state, recording);
      hooks.onKept?.(recording);
    } else if (outcome) {
      state.handed.delete(recording.id);
    } else {
      assumeFreed(state, recording);
    }
  }
  for (const [id, bytes] of outcome?.freeBytes ?? []) {
    state.free.set(id, bytes);
  }
  if (state.input.batchSize === undefined) {
    state.batchSize = outcome?.nextBatchSize ?? DEFAULT_BATCH_SIZE;
  }
  return kept.size < batch.length;
}

/** Whether a phase may hand the recording out; a held one is noted as spared. */
function mayDelete(state: PlanState, recording: Recording): boolean {
  const judged = verdict(recording, state.input.now, state.input.minAgeMs);
  if (judged === 'held') {
    state.summary.sparedIds.add(recording.id);
  }
  return judged === 'deletable';
}

/** A recording handed out no longer counts against its camera's quota or the cap. */
function stopCounting(state: PlanState, recording: Recording): void {
  const cameraUsage = state.usage.get(recording.cameraId);
  if (cameraUsage) {
    cameraUsage.countedBytes -= recording.size;
  }
}

/** A recording that stayed counts against its camera again. */
function countAgain(state: PlanState, recording: Recording): void {
  const cameraUsage = state.usage.get(recording.cameraId);
  if (cameraUsage) {
    cameraUsage.countedBytes += recording.size;
  }
}

/** A dry run assumes the size was freed; an unmeasured filesystem stays unmeasured. */
function assumeFreed(state: PlanState, recording: Recording): void {
  const own = recording.dev === undefined || recording.dev === null ? undefined : String(recording.dev);
  const fs = own !== undefined && state.free.has(own) ? own : state.cameraOf.get(recording.cameraId)!.filesystem;
  const before = state.free.get(fs);
  if (before !== undefined) {
    state.free.set(fs, before + recording.size);
  }
}

function raiseStalled(summary: PlanSummary, camera: string | null, reason: Reason): void {
  raise(summary, 'no_progress', camera, 'error', `${reason} phase stopped: a whole batch of deletions failed`, { phase: reason });
}

function raise(
  summary: PlanSummary,
  kind: EventKind,
  camera: string | null,
  severity: PlanEvent['severity'],
  message: string,
  details: Record<string, unknown>,
): void {
  summary.events.push({ ...details, kind, camera, severity, message });
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

function cameraNames(cameras: CameraPolicy[]): string {
  return cameras.map((camera) => camera.name).join(', ');
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
