import { describe, expect, test } from '@jest/globals';
import {
  arraySource,
  type BatchOutcome,
  type CameraPolicy,
  type CameraUsage,
  collectPlan,
  type Deletion,
  type PlanInput,
  type PlanSummary,
  planSweep,
  type RecordingSource,
} from '../src/retention/plan.js';
import type { Reason } from '../src/retention/reasons.js';
import type { Recording } from '../src/store/store.js';
import { seededRandom } from './helpers/random.js';

// Unit tests of the pure retention planner (rules §3.2–§3.5, §4). Everything is in memory: a
// factory builds recordings, `arraySource` serves them oldest first, and a dry run (`collectPlan`) or
// a hand-driven generator stands in for the sweeper.

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const MIN_AGE_MS = 120 * SECOND;

// ---- factories ---------------------------------------------------------------------------------

let nextId = 1;

interface RecordingFields extends Partial<Recording> {
  /** Age at NOW; ignored when `endTime` is given. */
  age?: number;
}

function rec(fields: RecordingFields = {}): Recording {
  const { age = 30 * DAY, ...rest } = fields;
  const id = rest.id ?? nextId++;
  return {
    id,
    cameraId: 1,
    relPath: `2025/rec-${String(id).padStart(6, '0')}.mp4`,
    size: 100,
    endTime: NOW - age,
    cls: 'continuous',
    protected: false,
    keepUntil: null,
    exportLockUntil: null,
    sidecars: [],
    ...rest,
  };
}

/** `count` recordings of one camera, one hour apart, the oldest `oldest` old. */
function series(count: number, fields: RecordingFields & { oldest: number }): Recording[] {
  const { oldest, ...rest } = fields;
  return Array.from({ length: count }, (_, i) => rec({ ...rest, age: oldest - i * HOUR }));
}

function camera(id: number, overrides: Partial<CameraPolicy> = {}): CameraPolicy {
  return {
    id,
    name: `Cam ${id}`,
    available: true,
    retentionMs: 365 * DAY,
    eventRetentionMs: 3 * 365 * DAY,
    filesystem: 'fs1',
    ...overrides,
  };
}

/** What the store reports (rules §3.3): protected counts, export-locked and in-progress do not. */
function usageOf(recordings: Recording[], cameras: CameraPolicy[], now = NOW, minAgeMs = MIN_AGE_MS): Map<number, CameraUsage> {
  const usage = new Map<number, CameraUsage>(cameras.map((c) => [c.id, { countedBytes: 0, undeletableBytes: 0 }]));
  for (const r of recordings) {
    const entry = usage.get(r.cameraId);
    const busy = (r.exportLockUntil !== null && r.exportLockUntil > now) || r.endTime > now - minAgeMs;
    if (!entry || busy) {
      continue;
    }
    entry.countedBytes += r.size;
    if (r.protected || (r.keepUntil !== null && r.keepUntil > now)) {
      entry.undeletableBytes += r.size;
    }
  }
  return usage;
}

/** The in-memory index: serves recordings oldest first, and loses the rows a sweep deleted (see settle). */
type IndexSource = RecordingSource & { remove(ids: number[]): void };

/** A plan input over an in-memory index, which the test can update as a real sweeper updates the store. */
interface IndexedPlanInput extends PlanInput {
  source: IndexSource;
}

const BIG_DISK = [{ id: 'fs1', freeBytes: 1e12, totalBytes: 2e12 }];

function plan(recordings: Recording[], overrides: Partial<IndexedPlanInput> = {}): IndexedPlanInput {
  const cameras = overrides.cameras ?? [camera(1)];
  return {
    now: NOW,
    minAgeMs: MIN_AGE_MS,
    cameras,
    usage: usageOf(recordings, cameras, overrides.now ?? NOW, overrides.minAgeMs ?? MIN_AGE_MS),
    filesystems: BIG_DISK,
    source: arraySource(recordings),
    ...overrides,
  };
}

// ---- helpers -----------------------------------------------------------------------------------

const ids = (deletions: Deletion[]) => deletions.map((d) => d.recording.id);
const idsOf = (recordings: Recording[]) => recordings.map((r) => r.id);
const bytes = (deletions: Deletion[]) => deletions.reduce((total, d) => total + d.recording.size, 0);
const byReason = (deletions: Deletion[], reason: Reason) => deletions.filter((d) => d.reason === reason);
const kinds = (summary: PlanSummary) => summary.events.map((e) => e.kind);

/** The batch a hand-driven planner step hands out; throws if the planner finished instead. */
function batchOf(step: IteratorResult<Deletion[], PlanSummary>): Deletion[] {
  if (step.done) {
    throw new Error('the planner finished where a batch was expected');
  }
  return step.value;
}

/** The summary a hand-driven planner ends with; throws if it handed out a batch instead. */
function summaryOf(step: IteratorResult<Deletion[], PlanSummary>): PlanSummary {
  if (!step.done) {
    throw new Error('the planner handed out a batch where its summary was expected');
  }
  return step.value;
}

/**
 * What a real sweeper does once a batch is carried out: the rows of the files that went leave the
 * index (here the array source) before the planner hears the outcome, which it then returns.
 */
function settle(input: IndexedPlanInput, batch: Deletion[], outcome: BatchOutcome): BatchOutcome {
  const kept = new Set(outcome.keptIds);
  input.source.remove(ids(batch).filter((id) => !kept.has(id)));
  return outcome;
}

/**
 * A real sweeper: answers each batch with `answer` (default: everything deleted, nothing measured).
 * Stops with an error if the planner keeps going, so that a spinning planner fails instead of hanging.
 */
function drive(
  input: IndexedPlanInput,
  answer: (batch: Deletion[], index: number) => BatchOutcome = () => ({ keptIds: [] }),
): { batches: Deletion[][]; summary: PlanSummary } {
  const planner = planSweep(input);
  const batches: Deletion[][] = [];
  let step = planner.next();
  while (!step.done) {
    batches.push(step.value);
    if (batches.length > 1000) {
      throw new Error('the planner keeps handing out batches');
    }
    step = planner.next(settle(input, step.value, answer(step.value, batches.length - 1)));
  }
  return { batches, summary: step.value };
}

// ---- phase 2: age ------------------------------------------------------------------------------

describe('age', () => {
  const policy = camera(1, { retentionMs: 7 * DAY, eventRetentionMs: 21 * DAY });

  test('continuous recordings older than retentionDays go, event clips stay until eventRetentionDays', () => {
    const oldContinuous = rec({ age: 8 * DAY });
    const youngContinuous = rec({ age: 6 * DAY });
    const youngEvent = rec({ age: 8 * DAY, cls: 'event' });
    const olderEvent = rec({ age: 20 * DAY, cls: 'event' });
    const oldEvent = rec({ age: 22 * DAY, cls: 'event' });
    const all = [oldContinuous, youngContinuous, youngEvent, olderEvent, oldEvent];

    const { deletions, summary } = collectPlan(plan(all, { cameras: [policy] }));

    expect(ids(deletions).sort()).toEqual([oldContinuous.id, oldEvent.id].sort());
    expect(deletions.every((d) => d.reason === 'age')).toBe(true);
    expect(summary.events).toEqual([]);
  });

  test('decimal days: 0.5 day is 12 hours', () => {
    const halfDay = camera(1, { retentionMs: 0.5 * DAY, eventRetentionMs: 1.5 * DAY });
    const c13h = rec({ age: 13 * HOUR });
    const c11h = rec({ age: 11 * HOUR });
    const e37h = rec({ age: 37 * HOUR, cls: 'event' });
    const e35h = rec({ age: 35 * HOUR, cls: 'event' });
    const e13h = rec({ age: 13 * HOUR, cls: 'event' });

    const { deletions } = collectPlan(plan([c13h, c11h, e37h, e35h, e13h], { cameras: [halfDay] }));

    expect(ids(deletions).sort()).toEqual([c13h.id, e37h.id].sort());
  });

  test('nothing younger than its retention goes, not even a recording exactly retentionDays old', () => {
    const exactly = rec({ age: 7 * DAY });
    const eventExactly = rec({ age: 21 * DAY, cls: 'event' });
    const young = series(5, { oldest: 6 * DAY });

    const { deletions, summary } = collectPlan(plan([exactly, eventExactly, ...young], { cameras: [policy] }));

    expect(deletions).toEqual([]);
    expect(summary.events).toEqual([]);
    expect(summary.sparedIds.size).toBe(0);
  });

  test('each camera uses its own retention', () => {
    const short = camera(1, { retentionMs: 2 * DAY, eventRetentionMs: 6 * DAY });
    const long = camera(2, { retentionMs: 10 * DAY, eventRetentionMs: 30 * DAY });
    const a = rec({ cameraId: 1, age: 3 * DAY });
    const b = rec({ cameraId: 2, age: 3 * DAY });
    const c = rec({ cameraId: 2, age: 11 * DAY });

    const { deletions } = collectPlan(plan([a, b, c], { cameras: [short, long] }));

    expect(ids(deletions).sort()).toEqual([a.id, c.id].sort());
  });
});

// ---- never deleted -----------------------------------------------------------------------------

describe('never deleted by any phase', () => {
  /**
   * Every phase at its most eager: retention 1 s, a quota and a cap of 1 byte, a floor far above
   * the free space. Whatever survives this survives every phase.
   */
  function everyPhase(recordings: Recording[], overrides: Partial<IndexedPlanInput> = {}): IndexedPlanInput {
    return plan(recordings, {
      cameras: [camera(1, { retentionMs: SECOND, eventRetentionMs: SECOND, quotaBytes: 1 })],
      capBytes: 1,
      floorBytes: 1e9,
      filesystems: [{ id: 'fs1', freeBytes: 0, totalBytes: 1e12 }],
      ...overrides,
    });
  }

  test('a protected recording', () => {
    const held = rec({ age: 400 * DAY, protected: true, size: 1 });
    const heldEvent = rec({ age: 400 * DAY, protected: true, cls: 'event', size: 1 });
    const plain = rec({ age: 10 * DAY });

    const { deletions } = collectPlan(everyPhase([held, heldEvent, plain]));

    expect(ids(deletions)).toEqual([plain.id]);
  });

  test('a protected recording also survives the floor while paused', () => {
    const held = rec({ age: 400 * DAY, protected: true });

    const { deletions, summary } = collectPlan(everyPhase([held], { floorOnly: true }));

    expect(deletions).toEqual([]);
    expect(kinds(summary)).toEqual(['floor_unreachable']);
  });

  test('keep-until in the future holds it; once keep-until has passed it goes', () => {
    const kept = rec({ age: 400 * DAY, keepUntil: NOW + HOUR });
    const expired = rec({ age: 400 * DAY, keepUntil: NOW - HOUR });

    const { deletions } = collectPlan(everyPhase([kept, expired]));

    expect(ids(deletions)).toEqual([expired.id]);
    expect(deletions[0].reason).toBe('age');
  });

  test('an export lock with a live lease skips it; once the lease expires it goes', () => {
    const locked = rec({ age: 400 * DAY, exportLockUntil: NOW + 5 * 60 * SECOND });
    const expired = rec({ age: 400 * DAY, exportLockUntil: NOW - SECOND });

    const { deletions } = collectPlan(everyPhase([locked, expired]));

    expect(ids(deletions)).toEqual([expired.id]);
  });

  test('an in-progress recording: end time within minAge, or in the future (a camera with a wrong clock)', () => {
    const writing = rec({ age: 60 * SECOND });
    const justNow = rec({ age: 0 });
    const future = rec({ age: -3 * DAY });
    const settled = rec({ age: 5 * 60 * SECOND });

    const { deletions } = collectPlan(everyPhase([writing, justNow, future, settled]));

    expect(ids(deletions)).toEqual([settled.id]);
  });

  test('the same recordings survive a real sweep answered batch by batch', () => {
    const keepers = [
      rec({ age: 400 * DAY, protected: true }),
      rec({ age: 400 * DAY, keepUntil: NOW + DAY }),
      rec({ age: 400 * DAY, exportLockUntil: NOW + HOUR }),
      rec({ age: 30 * SECOND }),
      rec({ age: -HOUR }),
    ];
    const plain = series(5, { oldest: 20 * DAY });

    // The sweeper frees what it is given, but the disk never gets above the floor.
    const { batches } = drive(everyPhase([...keepers, ...plain], { batchSize: 2 }), () => ({
      keptIds: [],
      freeBytes: new Map([['fs1', 0]]),
    }));

    const handed = ids(batches.flat());
    expect(handed.sort()).toEqual(idsOf(plain).sort());
  });
});

// ---- phase 3: camera quota ---------------------------------------------------------------------

describe('camera quota', () => {
  test('deletes the oldest deletable recordings first until the camera is under its quota', () => {
    const recordings = series(10, { oldest: 5 * DAY });
    const { deletions, summary } = collectPlan(plan(recordings, { cameras: [camera(1, { quotaBytes: 650 })] }));

    // 1000 bytes, quota 650: the four oldest go (600 left).
    expect(ids(deletions)).toEqual(idsOf(recordings.slice(0, 4)));
    expect(deletions.every((d) => d.reason === 'quota')).toBe(true);
    expect(summary.events).toEqual([]);
  });

  test('stops exactly when the counted bytes reach the quota; export-locked and in-progress bytes are not counted', () => {
    const recordings = series(10, { oldest: 5 * DAY });
    const locked = rec({ age: 6 * DAY, size: 300, exportLockUntil: NOW + HOUR });
    const writing = rec({ age: SECOND, size: 200 });
    // The caller counts only the ten plain recordings: 1000 bytes.
    const usage = new Map([[1, { countedBytes: 1000, undeletableBytes: 0 }]]);

    const atQuota = collectPlan(plan([...recordings, locked, writing], { cameras: [camera(1, { quotaBytes: 700 })], usage }));
    // 1000 → 700: three go, and 700 ≤ 700 stops it.
    expect(ids(atQuota.deletions)).toEqual(idsOf(recordings.slice(0, 3)));

    const justOver = collectPlan(plan([...recordings, locked, writing], { cameras: [camera(1, { quotaBytes: 699 })], usage }));
    expect(ids(justOver.deletions)).toEqual(idsOf(recordings.slice(0, 4)));

    const underQuota = collectPlan(plan([...recordings, locked, writing], { cameras: [camera(1, { quotaBytes: 1000 })], usage }));
    expect(underQuota.deletions).toEqual([]);
  });

  test('protected bytes count toward the quota, and the quota skips over them to the next oldest', () => {
    const held = rec({ age: 9 * DAY, size: 500, protected: true });
    const plain = series(5, { oldest: 5 * DAY });

    // 1000 counted (500 of them protected), quota 700: three plain recordings go.
    const { deletions, summary } = collectPlan(plan([held, ...plain], { cameras: [camera(1, { quotaBytes: 700 })] }));

    expect(ids(deletions)).toEqual(idsOf(plain.slice(0, 3)));
    expect([...summary.sparedIds]).toEqual([held.id]);
  });

  test('protected bytes alone at or over the quota: quota_unsatisfiable, and the quota deletes nothing of that camera', () => {
    const cameras = [camera(1, { quotaBytes: 500, retentionMs: 30 * DAY }), camera(2, { quotaBytes: 200 })];
    const held = series(5, { oldest: 20 * DAY, protected: true });
    const aged = rec({ age: 40 * DAY });
    const plain = series(5, { oldest: 10 * DAY });
    const other = series(4, { oldest: 10 * DAY, cameraId: 2 });

    const { deletions, summary } = collectPlan(plan([...held, aged, ...plain, ...other], { cameras }));

    // Camera 1 loses only what age deletes; camera 2 still gets its quota enforced.
    expect(deletions.filter((d) => d.recording.cameraId === 1)).toEqual([{ recording: aged, reason: 'age' }]);
    expect(ids(byReason(deletions, 'quota'))).toEqual(idsOf(other.slice(0, 2)));
    expect(summary.events).toHaveLength(1);
    expect(summary.events[0]).toMatchObject({
      kind: 'quota_unsatisfiable',
      camera: 'Cam 1',
      quotaBytes: 500,
      protectedBytes: 500,
    });
  });

  test('keep-until counts as protected for quota_unsatisfiable', () => {
    const kept = series(3, { oldest: 20 * DAY, keepUntil: NOW + DAY });
    const plain = series(3, { oldest: 10 * DAY });

    const { deletions, summary } = collectPlan(plan([...kept, ...plain], { cameras: [camera(1, { quotaBytes: 300 })] }));

    expect(deletions).toEqual([]);
    expect(kinds(summary)).toEqual(['quota_unsatisfiable']);
  });

  test('a camera over quota after age deletions only deletes what is still needed', () => {
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 500 });
    const old = series(3, { oldest: 10 * DAY });
    const young = series(6, { oldest: 5 * DAY });

    // 900 bytes: age takes 300, so the quota needs only one more (600 → 500).
    const { deletions } = collectPlan(plan([...old, ...young], { cameras: [policy] }));

    expect(ids(byReason(deletions, 'age')).sort()).toEqual(idsOf(old).sort());
    expect(ids(byReason(deletions, 'quota'))).toEqual([young[0].id]);
  });

  test('a camera already under quota after age deletions loses nothing to the quota', () => {
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 600 });
    const old = series(3, { oldest: 10 * DAY });
    const young = series(6, { oldest: 5 * DAY });

    const { deletions, summary } = collectPlan(plan([...old, ...young], { cameras: [policy] }));

    expect(byReason(deletions, 'quota')).toEqual([]);
    expect(summary.events).toEqual([]);
  });
});

// ---- phase 4: global cap -----------------------------------------------------------------------

describe('global cap', () => {
  test('deletes the oldest first across cameras', () => {
    const a = series(4, { cameraId: 1, oldest: 10 * DAY });
    const b = series(4, { cameraId: 2, oldest: 10 * DAY - 30 * 60 * SECOND });
    const cameras = [camera(1), camera(2)];

    // 800 bytes, cap 450: four go, alternating between the cameras by end time.
    const { deletions, summary } = collectPlan(plan([...a, ...b], { cameras, capBytes: 450 }));

    expect(ids(deletions)).toEqual([a[0].id, b[0].id, a[1].id, b[1].id]);
    expect(deletions.every((d) => d.reason === 'cap')).toBe(true);
    expect(summary.events).toEqual([]);
  });

  test('quota deletions are subtracted before the cap', () => {
    const a = series(4, { cameraId: 1, oldest: 10 * DAY });
    const b = series(4, { cameraId: 2, oldest: 20 * DAY });
    const cameras = [camera(1, { quotaBytes: 200 }), camera(2)];

    // Quota: camera 1 800 → ... 400 → 200; total 600, cap 500: camera 2's oldest goes.
    const { deletions } = collectPlan(plan([...a, ...b], { cameras, capBytes: 500 }));

    expect(deletions.map((d) => [d.recording.id, d.reason])).toEqual([
      [a[0].id, 'quota'],
      [a[1].id, 'quota'],
      [b[0].id, 'cap'],
    ]);
  });

  test('protected bytes alone reaching the cap: cap_unsatisfiable and the cap deletes nothing', () => {
    const cameras = [camera(1), camera(2)];
    const held1 = series(3, { cameraId: 1, oldest: 20 * DAY, protected: true });
    const held2 = series(3, { cameraId: 2, oldest: 20 * DAY, keepUntil: NOW + DAY });
    const plain = series(3, { cameraId: 2, oldest: 10 * DAY });

    const { deletions, summary } = collectPlan(plan([...held1, ...held2, ...plain], { cameras, capBytes: 600 }));

    expect(deletions).toEqual([]);
    expect(summary.events).toHaveLength(1);
    expect(summary.events[0]).toMatchObject({ kind: 'cap_unsatisfiable', camera: null, capBytes: 600, protectedBytes: 600 });
  });

  test('protected bytes count toward the cap', () => {
    const cameras = [camera(1), camera(2)];
    const held = series(3, { cameraId: 1, oldest: 20 * DAY, protected: true });
    const plain = series(4, { cameraId: 2, oldest: 10 * DAY });

    // 700 counted, cap 500: two plain recordings go, the protected ones are skipped.
    const { deletions } = collectPlan(plan([...held, ...plain], { cameras, capBytes: 500 }));

    expect(ids(deletions)).toEqual(idsOf(plain.slice(0, 2)));
  });
});

// ---- ordering ----------------------------------------------------------------------------------

describe('oldest first', () => {
  test('smallest end time first; on a tie continuous before event, then path order', () => {
    const t = NOW - 10 * DAY;
    const eventB = rec({ endTime: t, cls: 'event', relPath: 'b/clip.mp4' });
    const contB = rec({ endTime: t, relPath: 'b/seg.mp4' });
    const eventA = rec({ endTime: t, cls: 'event', relPath: 'a/clip.mp4' });
    const contA = rec({ endTime: t, relPath: 'a/seg.mp4' });
    const older = rec({ endTime: t - 1, cls: 'event', relPath: 'z/clip.mp4' });
    const newer = rec({ endTime: t + 1, relPath: '0/seg.mp4' });
    // Handed over in scrambled order: the source sorts.
    const recordings = [eventB, newer, contB, eventA, older, contA];

    const { deletions } = collectPlan(plan(recordings, { cameras: [camera(1, { quotaBytes: 1 })] }));

    expect(ids(deletions)).toEqual([older.id, contA.id, contB.id, eventA.id, eventB.id, newer.id]);
  });

  test('the same order across cameras for the cap', () => {
    const t = NOW - 10 * DAY;
    const event1 = rec({ cameraId: 1, endTime: t, cls: 'event', relPath: 'a.mp4' });
    const cont2 = rec({ cameraId: 2, endTime: t, relPath: 'b.mp4' });
    const cont1 = rec({ cameraId: 1, endTime: t, relPath: 'c.mp4' });

    const { deletions } = collectPlan(plan([event1, cont1, cont2], { cameras: [camera(1), camera(2)], capBytes: 1 }));

    expect(ids(deletions)).toEqual([cont2.id, cont1.id, event1.id]);
  });
});

// ---- phase 5: free-space floor -----------------------------------------------------------------

describe('free-space floor', () => {
  test('deletes only from cameras on the short filesystem, oldest first, just enough to cover the shortfall', () => {
    const cameras = [camera(1, { filesystem: 'fs1' }), camera(2, { filesystem: 'fs2' })];
    const sizes = [70, 130, 90, 200, 50, 120];
    const onShort = sizes.map((size, i) => rec({ cameraId: 1, size, age: 10 * DAY - i * HOUR }));
    // Older, but on a disk with room to spare.
    const onRoomy = series(4, { cameraId: 2, oldest: 30 * DAY });
    const filesystems = [
      { id: 'fs1', freeBytes: 750, totalBytes: 10_000 },
      { id: 'fs2', freeBytes: 5000, totalBytes: 10_000 },
    ];

    const { deletions, summary } = collectPlan(plan([...onShort, ...onRoomy], { cameras, filesystems, floorBytes: 1000 }));

    const shortfall = 250;
    expect(ids(deletions)).toEqual(idsOf(onShort.slice(0, 3)));
    expect(deletions.every((d) => d.reason === 'floor')).toBe(true);
    const planned = bytes(deletions);
    expect(planned).toBeGreaterThanOrEqual(shortfall);
    expect(planned - shortfall).toBeLessThan(deletions[deletions.length - 1].recording.size);
    expect(summary.events).toEqual([]);
  });

  test('does not overshoot with many small recordings across several batches', () => {
    const recordings = Array.from({ length: 200 }, (_, i) => rec({ size: 10 + (i % 7), age: 10 * DAY - i * 60 * SECOND }));

    const { deletions } = collectPlan(
      plan(recordings, { floorBytes: 10_000, filesystems: [{ id: 'fs1', freeBytes: 9_000, totalBytes: 50_000 }], batchSize: 16 }),
    );

    const planned = bytes(deletions);
    expect(planned).toBeGreaterThanOrEqual(1000);
    expect(planned - 1000).toBeLessThan(deletions[deletions.length - 1].recording.size);
    expect(ids(deletions)).toEqual(idsOf(recordings.slice(0, deletions.length)));
  });

  test('a dry run assumes earlier deletions freed their size', () => {
    const policy = camera(1, { retentionMs: 7 * DAY });
    const old = series(3, { oldest: 10 * DAY });
    const young = series(5, { oldest: 5 * DAY });

    // Short by 250; age already frees 300.
    const { deletions } = collectPlan(
      plan([...old, ...young], { cameras: [policy], floorBytes: 1000, filesystems: [{ id: 'fs1', freeBytes: 750, totalBytes: 10_000 }] }),
    );

    expect(byReason(deletions, 'floor')).toEqual([]);
    expect(byReason(deletions, 'age')).toHaveLength(3);
  });

  test('a real sweep measures again after each round and covers only the new shortfall', () => {
    const recordings = series(10, { oldest: 10 * DAY });
    const input = plan(recordings, { floorBytes: 1000, filesystems: [{ id: 'fs1', freeBytes: 650, totalBytes: 10_000 }] });
    const planner = planSweep(input);

    let step = planner.next();
    expect(step.done).toBe(false);
    // Short by 350: four recordings.
    expect(ids(batchOf(step))).toEqual(idsOf(recordings.slice(0, 4)));
    // Only 200 bytes show up as free (say, the recorder wrote meanwhile): short by 150 now.
    step = planner.next(settle(input, batchOf(step), { keptIds: [], freeBytes: new Map([['fs1', 850]]) }));
    expect(step.done).toBe(false);
    expect(ids(batchOf(step))).toEqual(idsOf(recordings.slice(4, 6)));
    step = planner.next(settle(input, batchOf(step), { keptIds: [], freeBytes: new Map([['fs1', 1050]]) }));
    expect(step.done).toBe(true);
    expect(summaryOf(step).events).toEqual([]);
  });

  test('floor_misconfigured when the floor is at least the whole filesystem, and nothing is deleted for it', () => {
    const recordings = series(5, { oldest: 10 * DAY });

    for (const floorBytes of [10_000, 20_000]) {
      const { deletions, summary } = collectPlan(
        plan(recordings, { floorBytes, filesystems: [{ id: 'fs1', freeBytes: 100, totalBytes: 10_000 }] }),
      );
      expect(deletions).toEqual([]);
      expect(summary.events).toHaveLength(1);
      expect(summary.events[0]).toMatchObject({
        kind: 'floor_misconfigured',
        filesystem: 'fs1',
        floorBytes,
        totalBytes: 10_000,
      });
    }
  });

  test('floor_unreachable when nothing deletable is left, after deleting everything deletable', () => {
    const plain = series(3, { oldest: 10 * DAY });
    const held = series(3, { oldest: 20 * DAY, protected: true });
    const locked = rec({ age: 30 * DAY, exportLockUntil: NOW + HOUR });

    const { deletions, summary } = collectPlan(
      plan([...plain, ...held, locked], { floorBytes: 5000, filesystems: [{ id: 'fs1', freeBytes: 100, totalBytes: 10_000 }] }),
    );

    expect(ids(deletions)).toEqual(idsOf(plain));
    expect(kinds(summary)).toEqual(['floor_unreachable']);
    expect(summary.events[0]).toMatchObject({ filesystem: 'fs1', floorBytes: 5000 });
  });

  test('floor_futile when a round freed no space: the planner stops instead of deleting more', () => {
    const recordings = series(10, { oldest: 10 * DAY });
    const input = plan(recordings, { floorBytes: 1000, filesystems: [{ id: 'fs1', freeBytes: 600, totalBytes: 10_000 }] });
    const g = planSweep(input);

    let s = g.next();
    expect(s.done).toBe(false);
    expect(bytes(batchOf(s))).toBe(400);
    s = g.next({ keptIds: [], freeBytes: new Map([['fs1', 600]]) });

    expect(s.done).toBe(true);
    const summary = summaryOf(s);
    expect(kinds(summary)).toEqual(['floor_futile']);
    expect(summary.events[0]).toMatchObject({ filesystem: 'fs1', freeBytes: 600, floorBytes: 1000 });
  });

  test('floor_futile also when free space shrank during the round', () => {
    const recordings = series(10, { oldest: 10 * DAY });
    const g = planSweep(plan(recordings, { floorBytes: 1000, filesystems: [{ id: 'fs1', freeBytes: 600, totalBytes: 10_000 }] }));

    g.next();
    const s = g.next({ keptIds: [], freeBytes: new Map([['fs1', 550]]) });

    expect(s.done).toBe(true);
    expect(kinds(summaryOf(s))).toEqual(['floor_futile']);
  });

  test('a filesystem whose free space could not be measured is skipped', () => {
    const recordings = series(5, { oldest: 10 * DAY });
    const unmeasured = [{ id: 'fs1', freeBytes: undefined, totalBytes: undefined }];

    const { deletions, summary } = collectPlan(plan(recordings, { floorBytes: 1e9, filesystems: unmeasured }));

    expect(deletions).toEqual([]);
    expect(summary.events).toEqual([]);
  });

  test('a filesystem whose free space could not be measured stays skipped after age deletions on it', () => {
    const policy = camera(1, { retentionMs: 7 * DAY });
    const old = series(2, { oldest: 10 * DAY });
    const young = series(5, { oldest: 5 * DAY });
    const input = plan([...old, ...young], {
      cameras: [policy],
      floorBytes: 1e9,
      filesystems: [{ id: 'fs1', freeBytes: undefined, totalBytes: 1e12 }],
    });

    const dry = collectPlan(input);
    expect(dry.deletions.map((d) => d.reason)).toEqual(['age', 'age']);
    expect(dry.summary.events).toEqual([]);

    const real = drive(input);
    expect(real.batches.flat().map((d) => d.reason)).toEqual(['age', 'age']);
  });

  test('only the floor deletes while paused (floorOnly)', () => {
    const policy = camera(1, { retentionMs: DAY, quotaBytes: 100 });
    const recordings = series(10, { oldest: 10 * DAY });
    const input = plan(recordings, {
      cameras: [policy],
      capBytes: 100,
      floorBytes: 1000,
      filesystems: [{ id: 'fs1', freeBytes: 800, totalBytes: 10_000 }],
      floorOnly: true,
    });

    const { deletions, summary } = collectPlan(input);

    expect(deletions.map((d) => [d.recording.id, d.reason])).toEqual([
      [recordings[0].id, 'floor'],
      [recordings[1].id, 'floor'],
    ]);
    expect(summary.events).toEqual([]);

    const paused = collectPlan({ ...input, floorBytes: undefined });
    expect(paused.deletions).toEqual([]);
  });
});

// ---- unavailable cameras -----------------------------------------------------------------------

describe('unavailable cameras', () => {
  test('lose nothing in any phase, and their bytes do not count toward the cap', () => {
    const cameras = [
      camera(1, { retentionMs: 7 * DAY }),
      camera(2, { available: false, retentionMs: DAY, eventRetentionMs: DAY, quotaBytes: 1 }),
    ];
    const live = series(5, { cameraId: 1, oldest: 5 * DAY });
    const gone = series(20, { cameraId: 2, oldest: 100 * DAY });
    const input = plan([...live, ...gone], {
      cameras,
      capBytes: 500,
      floorBytes: 1000,
      filesystems: [{ id: 'fs1', freeBytes: 800, totalBytes: 10_000 }],
    });

    const { deletions, summary } = collectPlan(input);

    // Camera 1 alone is at the cap (500): only the floor deletes, and only from camera 1.
    expect(deletions.map((d) => [d.recording.id, d.reason])).toEqual([
      [live[0].id, 'floor'],
      [live[1].id, 'floor'],
    ]);
    expect(summary.events).toEqual([]);
  });

  test('a filesystem holding only unavailable cameras is left alone by the floor', () => {
    const cameras = [camera(1, { available: false })];
    const recordings = series(5, { oldest: 10 * DAY });

    const { deletions, summary } = collectPlan(
      plan(recordings, { cameras, floorBytes: 1000, filesystems: [{ id: 'fs1', freeBytes: 10, totalBytes: 10_000 }] }),
    );

    expect(deletions).toEqual([]);
    expect(summary.events).toEqual([]);
  });
});

// ---- failures ----------------------------------------------------------------------------------

describe('failed deletions', () => {
  test('are not handed out again in a later phase, and their bytes still count', () => {
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 500 });
    const stuck = rec({ age: 10 * DAY });
    const aged = rec({ age: 9 * DAY });
    const young = series(6, { oldest: 5 * DAY });

    // 800 bytes; age hands out two, one fails: 700 left, so the quota needs two more, not one.
    const { batches, summary } = drive(plan([stuck, aged, ...young], { cameras: [policy], capBytes: 1 }), (batch) => ({
      keptIds: ids(batch).filter((id) => id === stuck.id),
    }));

    const handed = batches.flat();
    expect(handed.filter((d) => d.recording.id === stuck.id)).toHaveLength(1);
    expect(ids(byReason(handed, 'age'))).toEqual([stuck.id, aged.id]);
    expect(ids(byReason(handed, 'quota'))).toEqual(idsOf(young.slice(0, 2)));
    // The cap (1 byte) takes everything else, but still not the recording that failed; and since it
    // still takes space, the cap cannot be met.
    expect(ids(byReason(handed, 'cap'))).toEqual(idsOf(young.slice(2)));
    expect(kinds(summary)).toEqual(['cap_unsatisfiable']);
  });

  test('the quota goes on to the next oldest when a deletion fails', () => {
    const recordings = series(6, { oldest: 5 * DAY });
    const input = plan(recordings, { cameras: [camera(1, { quotaBytes: 400 })], batchSize: 2 });

    const { batches, summary } = drive(input, (batch, index) => ({ keptIds: index === 0 ? [batch[0].recording.id] : [] }));

    // 600 bytes, quota 400: two would do, but one failed and still counts, so one more goes.
    expect(batches.map(ids)).toEqual([[recordings[0].id, recordings[1].id], [recordings[2].id]]);
    expect(summary.events).toEqual([]);
  });

  test('the quota reports quota_unsatisfiable when failures leave it over quota with nothing deletable left', () => {
    const recordings = series(3, { oldest: 5 * DAY });
    const input = plan(recordings, { cameras: [camera(1, { quotaBytes: 1 })], batchSize: 3 });

    const { batches, summary } = drive(input, () => ({ keptIds: [recordings[2].id] }));

    expect(batches.map(ids)).toEqual([idsOf(recordings)]);
    expect(summary.events).toHaveLength(1);
    expect(summary.events[0]).toMatchObject({ kind: 'quota_unsatisfiable', camera: 'Cam 1', quotaBytes: 1, usedBytes: 100 });
  });

  const stalls: [string, number, Partial<IndexedPlanInput>, Map<string, number> | undefined, string | null][] = [
    ['quota', 5, { cameras: [camera(1, { quotaBytes: 1 })] }, undefined, 'Cam 1'],
    ['age', 30, { cameras: [camera(1, { retentionMs: 7 * DAY })] }, undefined, 'Cam 1'],
    ['cap', 5, { capBytes: 1 }, undefined, null],
    ['floor', 5, { floorBytes: 5000, filesystems: [{ id: 'fs1', freeBytes: 100, totalBytes: 10_000 }] }, new Map([['fs1', 100]]), null],
  ];
  test.each(stalls)(
    'a %s batch in which every deletion failed stops the phase with no_progress',
    (phase, oldestDays, overrides, freeBytes, cameraName) => {
      const recordings = series(20, { oldest: oldestDays * DAY });
      const input = plan(recordings, { ...overrides, batchSize: 2 });

      const { batches, summary } = drive(input, (batch) => ({ keptIds: ids(batch), freeBytes }));

      expect(batches).toHaveLength(1);
      expect(summary.events).toHaveLength(1);
      expect(summary.events[0]).toMatchObject({ kind: 'no_progress', camera: cameraName, phase });
    },
  );

  test('a batch with some progress does not stop the phase', () => {
    const recordings = series(8, { oldest: 5 * DAY });
    const input = plan(recordings, { cameras: [camera(1, { quotaBytes: 1 })], batchSize: 2 });

    const { batches, summary } = drive(input, (batch) => ({ keptIds: [batch[0].recording.id] }));

    expect(ids(batches.flat())).toEqual(idsOf(recordings));
    expect(kinds(summary)).toEqual(['quota_unsatisfiable']);
  });
});

// ---- dry run vs real sweep ---------------------------------------------------------------------

describe('dry run', () => {
  function scenario(seed: number): IndexedPlanInput {
    const random = seededRandom(seed);
    const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)];
    const cameraCount = 3 + Math.floor(random() * 3);
    const cameras = Array.from({ length: cameraCount }, (_, i) => {
      const retentionDays = pick([1, 2.5, 4, 7]);
      return camera(i + 1, {
        retentionMs: retentionDays * DAY,
        eventRetentionMs: retentionDays * pick([1, 3]) * DAY,
        quotaBytes: random() < 0.6 ? Math.floor(random() * 20_000) : undefined,
        filesystem: pick(['fs1', 'fs2']),
      });
    });
    const recordings: Recording[] = [];
    for (const c of cameras) {
      const count = 20 + Math.floor(random() * 60);
      for (let i = 0; i < count; i++) {
        const roll = random();
        recordings.push(
          rec({
            // Ids of their own, so that two scenarios of one seed are the same.
            id: 100_000 + recordings.length,
            cameraId: c.id,
            // Whole hours, so that end times tie now and then.
            endTime: NOW - Math.floor(random() * 10 * 24) * HOUR + (random() < 0.05 ? 2 * HOUR : 0),
            cls: random() < 0.35 ? 'event' : 'continuous',
            size: 50 + Math.floor(random() * 950),
            relPath: `${Math.floor(random() * 1000)}.mp4`,
            protected: roll < 0.1,
            keepUntil: roll >= 0.1 && roll < 0.15 ? NOW + pick([-DAY, DAY]) : null,
            exportLockUntil: roll >= 0.15 && roll < 0.2 ? NOW + pick([-HOUR, HOUR]) : null,
          }),
        );
      }
    }
    const input = plan(recordings, { cameras, batchSize: 1 + Math.floor(random() * 7) });
    const counted = [...input.usage.values()].reduce((total, u) => total + u.countedBytes, 0);
    return { ...input, capBytes: Math.floor(counted * (0.3 + random() * 0.5)) };
  }

  const seeds = [1, 2, 3, 42, 1234, 99_999];

  test.each(seeds)('its list for age, quota and cap is exactly what a real sweep hands out (seed %d)', (seed) => {
    const dry = collectPlan(scenario(seed));
    const real = drive(scenario(seed));

    const steps = (deletions: Deletion[]) => deletions.map((d) => [d.recording.id, d.reason]);
    expect(steps(dry.deletions)).toEqual(steps(real.batches.flat()));
    expect(dry.summary.events).toEqual(real.summary.events);
    expect([...dry.summary.sparedIds].sort()).toEqual([...real.summary.sparedIds].sort());
  });

  test('the seeded scenarios exercise every one of those phases and the holds', () => {
    const reasons = new Set<Reason>();
    for (const seed of seeds) {
      const input = scenario(seed);
      const { deletions, summary } = collectPlan(input);
      for (const d of deletions) {
        reasons.add(d.reason);
        expect(d.recording.protected).toBe(false);
        expect(d.recording.keepUntil === null || d.recording.keepUntil <= NOW).toBe(true);
        expect(d.recording.exportLockUntil === null || d.recording.exportLockUntil <= NOW).toBe(true);
      }
      expect(new Set(ids(deletions)).size).toBe(deletions.length);
      expect(summary.sparedIds.size).toBeGreaterThan(0);
    }
    expect([...reasons].sort()).toEqual(['age', 'cap', 'quota']);
  });
});

// ---- spared ------------------------------------------------------------------------------------

describe('spared protected recordings', () => {
  test('counts each held recording that a phase would otherwise have deleted, once', () => {
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 1 });
    // Reached by age, the quota, the cap and the floor alike.
    const oldHeld = rec({ age: 30 * DAY, protected: true });
    const oldKept = rec({ age: 20 * DAY, keepUntil: NOW + DAY });
    // Reached only by the quota.
    const youngHeld = rec({ age: 2 * DAY, protected: true, cls: 'event' });
    const plain = series(3, { oldest: 3 * DAY });

    const { deletions, summary } = collectPlan(
      plan([oldHeld, oldKept, youngHeld, ...plain], {
        cameras: [policy],
        capBytes: 1,
        floorBytes: 1e6,
        filesystems: [{ id: 'fs1', freeBytes: 0, totalBytes: 1e9 }],
      }),
    );

    expect(ids(deletions)).toEqual(idsOf(plain));
    expect([...summary.sparedIds].sort()).toEqual([oldHeld.id, oldKept.id, youngHeld.id].sort());
  });

  test('does not count held recordings that no phase reached', () => {
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 300 });
    const plain = series(3, { oldest: 10 * DAY });
    const youngHeld = series(3, { oldest: 2 * DAY, protected: true });

    // 600 counted, quota 300: age takes the three plain ones; the held ones are never in the way.
    const { deletions, summary } = collectPlan(plan([...plain, ...youngHeld], { cameras: [policy] }));

    expect(ids(deletions)).toEqual(idsOf(plain));
    expect(summary.sparedIds.size).toBe(0);
  });
});

// ---- memory over a long sweep ------------------------------------------------------------------

describe('a long real sweep', () => {
  test('the planner remembers only the failed recordings, however many it hands out (300,000)', () => {
    const total = 300_000;
    const failing = new Set([17, 150_001, total]);
    const gone = new Set<number>();
    // Generated on the fly, like the store's pages: the planner is the only thing that could hold them.
    const source: IndexSource = {
      remove: (removed) => removed.forEach((id) => gone.add(id)),
      *oldest(cameraIds, filter = {}) {
        for (let id = 1; id <= total; id++) {
          const recording = rec({ id, endTime: NOW - 40 * DAY + id, relPath: `d/${id}.mp4` });
          if (
            !gone.has(id) &&
            cameraIds.includes(recording.cameraId) &&
            (filter.cls === undefined || recording.cls === filter.cls) &&
            (filter.endBefore === undefined || recording.endTime < filter.endBefore)
          ) {
            yield recording;
          }
        }
      },
    };
    // A quota of 0 makes a second phase walk the whole camera again after age.
    const policy = camera(1, { retentionMs: 7 * DAY, quotaBytes: 0 });
    const input: IndexedPlanInput = {
      ...plan([], { cameras: [policy] }),
      usage: new Map([[1, { countedBytes: total * 100, undeletableBytes: 0 }]]),
      source,
    };
    const handedOut = new Map<number, number>();

    const { summary } = drive(input, (batch) => {
      for (const id of ids(batch)) {
        handedOut.set(id, (handedOut.get(id) ?? 0) + 1);
      }
      return { keptIds: ids(batch).filter((id) => failing.has(id)) };
    });

    expect(handedOut.size).toBe(total);
    expect([...handedOut.values()].every((times) => times === 1)).toBe(true);
    expect(summary.rememberedIds).toBe(failing.size);
    expect(kinds(summary)).toEqual(['quota_unsatisfiable']);
  });

  test('a dry run remembers every recording it planned: it cannot see them leave the index', () => {
    const recordings = series(1200, { oldest: 400 * DAY });
    const { deletions, summary } = collectPlan(plan(recordings, { cameras: [camera(1, { retentionMs: 7 * DAY, quotaBytes: 0 })] }));

    expect(deletions).toHaveLength(1200);
    expect(new Set(ids(deletions)).size).toBe(1200);
    expect(summary.rememberedIds).toBe(1200);
  });
});
