/**
 * Whole sweeps (rules §3, §4) through RetentionEngine.sweep on real files in temporary folders, with
 * the real node:sqlite index and, where it matters, real mounts (a read-only bind mount, a small
 * tmpfs). Mount tests need root; without it they are skipped and say why.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { RetentionEngine } from '../src/retention/engine.js';
import type { Logger } from '../src/retention/logger.js';
import type { SweepReport } from '../src/retention/report.js';
import { SweepLockHeldError } from '../src/store/lock.js';
import type { RecordingDetail } from '../src/store/store.js';
import {
  buildConfig,
  bytesOf,
  type CameraInput,
  DAY_MS,
  filesBelow,
  foldersBelow,
  HOUR_MS,
  MINUTE_MS,
  type RecordingSpec,
  SECOND_MS,
  settleFolders,
  useSandbox,
  writeRecording,
} from './helpers/tree.js';
import { staleLock } from './helpers/lock.js';
import { MOUNT_PROBLEM, mountTest } from './helpers/mounts.js';

// ---- mounts ------------------------------------------------------------------------------------

if (MOUNT_PROBLEM) {
  console.warn(`sweep.test.ts: skipping the tests that need real mounts: ${MOUNT_PROBLEM}`);
}

let mounts: string[] = [];

function mount(...args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

function bindReadOnly(dir: string): void {
  mount('--bind', dir, dir);
  mounts.push(dir);
  mount('-o', 'remount,bind,ro', dir);
}

function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  mount('-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir);
  mounts.push(dir);
}

function unmountAll(): void {
  for (const dir of mounts.reverse()) {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  }
  mounts = [];
}

function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

// ---- fixture -----------------------------------------------------------------------------------

/** Camera folders `front` ("Front") and `back` ("Back"), made anew for each test. */
const sandbox = useSandbox('nvr-sweep', ['front', 'back'], { beforeRemove: unmountAll });

interface CapturedLog extends Logger {
  lines: string[];
}

function captureLog(): CapturedLog {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { lines, info: push('info'), warn: push('warn'), error: push('error'), debug: () => {} };
}

function engineFor(cameras: CameraInput[], settings: Record<string, unknown> = {}, log: Logger = captureLog()): RetentionEngine {
  return sandbox.engine(buildConfig(sandbox, cameras, settings), { log });
}

const frontOnly = (overrides: Record<string, unknown> = {}): CameraInput[] => [
  { name: 'Front', path: sandbox.front, retentionDays: 7, ...overrides },
];

/**
 * Stages a sweep that died after claiming `ids` and before deleting their rows: it claims them the
 * way a real sweep does before its first unlink (store.claimForDeletion); the test then unlinks what
 * the dead sweep got to.
 */
function claimAsADeadSweepDid(engine: RetentionEngine, ids: number[]): void {
  const claimed = engine.store.claimForDeletion(ids, Date.now());
  if (claimed.size !== ids.length) {
    throw new Error(`the staged sweep claimed ${claimed.size} of ${ids.length} recordings: a hold or lease is in the way`);
  }
}

/** Indexed recordings of one camera, by relative path. */
function rows(engine: RetentionEngine, camera: string): Map<string, RecordingDetail> {
  return new Map(engine.list({ cameraNames: [camera] }, { limit: 100_000, offset: 0 }).map((r) => [r.relPath, r]));
}

function idOf(engine: RetentionEngine, camera: string, relPath: string): number {
  const row = rows(engine, camera).get(relPath);
  if (!row) {
    throw new Error(`${relPath} is not indexed`);
  }
  return row.id;
}

const exists = (path: string) => {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

const kinds = (events: { kind: string }[]) => events.map((event) => event.kind);

const RECORDING_FILE = /\.(mp4|mkv|mov|avi|ts|m4s|h264|hevc|jpe?g)$/i;

/**
 * The index and the folder agree: every row's file and sidecars exist, no row is left marked as
 * being deleted, and every recording-like file on disk is a row or a sidecar of one.
 */
function expectConsistent(engine: RetentionEngine, camera: string, dir: string): void {
  const indexed = rows(engine, camera);
  const owned = new Set<string>();
  for (const row of indexed.values()) {
    expect(exists(join(dir, row.relPath))).toBe(true);
    owned.add(row.relPath);
    const folder = row.relPath.includes('/') ? row.relPath.slice(0, row.relPath.lastIndexOf('/') + 1) : '';
    for (const sidecar of row.sidecars) {
      expect(exists(join(dir, folder + sidecar))).toBe(true);
      owned.add(folder + sidecar);
    }
  }
  const unowned = filesBelow(dir).filter(
    (path) => RECORDING_FILE.test(path) && !owned.has(path) && !path.split('/').some((part) => part.startsWith('.')),
  );
  expect(unowned).toEqual([]);
  expect(engine.store.interruptedDeletes()).toEqual([]);
}

// ---- tests -------------------------------------------------------------------------------------

describe('age', () => {
  test('deletes continuous recordings older than retentionDays with their sidecars; event clips are kept three times as long', async () => {
    const withSidecars: RecordingSpec = {
      ageMs: 8 * DAY_MS,
      size: 4000,
      sidecars: { json: { trigger: 'schedule' }, srt: 100, 'thumb.jpg': 300 },
    };
    writeRecording(sandbox.front, 'day/old.mp4', withSidecars);
    writeRecording(sandbox.front, 'day/fresh.mp4', { ageMs: 6 * DAY_MS });
    writeRecording(sandbox.front, 'events/ten-days.mp4', { ageMs: 10 * DAY_MS });
    writeRecording(sandbox.front, 'motion-20-days.mp4', { ageMs: 20 * DAY_MS });
    writeRecording(sandbox.front, 'clip.mp4', { ageMs: 15 * DAY_MS, sidecars: { json: { trigger: 'motion' } } });
    writeRecording(sandbox.front, 'events/ancient.mp4', { ageMs: 22 * DAY_MS, size: 2000 });
    const log = captureLog();
    const engine = engineFor(frontOnly(), {}, log);

    const report = await engine.sweep();

    expect(report.status).toBe('done');
    expect(filesBelow(sandbox.front)).toEqual(['clip.json', 'clip.mp4', 'day/fresh.mp4', 'events/ten-days.mp4', 'motion-20-days.mp4']);
    expect([...rows(engine, 'Front').keys()].sort()).toEqual(['clip.mp4', 'day/fresh.mp4', 'events/ten-days.mp4', 'motion-20-days.mp4']);
    expect(report.deleted).toEqual({ count: 2, bytes: bytesOf(withSidecars) + 2000 });
    expect(report.byReason.age).toEqual({ count: 2, bytes: bytesOf(withSidecars) + 2000 });
    expect(report.byClass).toEqual({ continuous: { count: 1, bytes: bytesOf(withSidecars) }, event: { count: 1, bytes: 2000 } });
    expect(report.failures).toEqual([]);
    expect(log.lines.filter((line) => line.startsWith('info: Sweep deleted 2 recordings'))).toHaveLength(1);
    expectConsistent(engine, 'Front', sandbox.front);
  });

  test('eventRetentionDays overrides the default of three times retentionDays', async () => {
    writeRecording(sandbox.front, 'events/a.mp4', { ageMs: 5 * DAY_MS });
    writeRecording(sandbox.front, 'events/b.mp4', { ageMs: 3 * DAY_MS });
    writeRecording(sandbox.front, 'c.mp4', { ageMs: 5 * DAY_MS });
    const engine = engineFor(frontOnly({ retentionDays: 7, eventRetentionDays: 4 }));
    const report = await engine.sweep();
    expect(filesBelow(sandbox.front)).toEqual(['c.mp4', 'events/b.mp4']);
    expect(report.byClass.event.count).toBe(1);
  });

  test('a retention in fractional days (0.5 = 12 hours) is honoured', async () => {
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 13 * HOUR_MS });
    writeRecording(sandbox.front, 'b.mp4', { ageMs: 11 * HOUR_MS });
    const engine = engineFor(frontOnly({ retentionDays: 0.5 }));
    await engine.sweep();
    expect(filesBelow(sandbox.front)).toEqual(['b.mp4']);
  });
});

describe('what is never deleted', () => {
  test('protected, keep-until and export-locked recordings survive; expired keep-until and expired locks do not', async () => {
    for (const name of ['protected', 'kept', 'locked', 'kept-expired', 'lock-expired', 'plain']) {
      writeRecording(sandbox.front, `${name}.mp4`, { ageMs: 30 * DAY_MS, sidecars: { json: 10 } });
    }
    const engine = engineFor(frontOnly());
    engine.scan();
    const now = Date.now();
    engine.protect([idOf(engine, 'Front', 'protected.mp4')], 'user');
    engine.protect([idOf(engine, 'Front', 'kept.mp4')], 'user', now + DAY_MS);
    engine.protect([idOf(engine, 'Front', 'kept-expired.mp4')], 'user', now - HOUR_MS);
    expect(engine.store.takeExportLock([idOf(engine, 'Front', 'locked.mp4')], 'exporter', now + HOUR_MS, now)).toHaveLength(1);
    engine.store.takeExportLock([idOf(engine, 'Front', 'lock-expired.mp4')], 'exporter', now - MINUTE_MS, now - HOUR_MS);

    const report = await engine.sweep();

    expect(filesBelow(sandbox.front)).toEqual(['kept.json', 'kept.mp4', 'locked.json', 'locked.mp4', 'protected.json', 'protected.mp4']);
    expect(report.byReason.age.count).toBe(3);
    // Export-locked recordings are skipped, but they are not protected.
    expect(report.spared.protected).toBe(2);
    expect(rows(engine, 'Front').get('protected.mp4')).toMatchObject({ protected: true, protectedBy: 'user' });
    expectConsistent(engine, 'Front', sandbox.front);
  });

  test('in-progress recordings survive every phase: mtime within minAgeSeconds, or in the future', async () => {
    writeRecording(sandbox.front, 'done.mp4', { ageMs: 2 * DAY_MS, size: 5000 });
    writeRecording(sandbox.front, 'writing.mp4', { ageMs: 30 * SECOND_MS, size: 5000 });
    writeRecording(sandbox.front, 'slow-writer.mp4', { ageMs: 8 * MINUTE_MS, size: 5000 });
    writeRecording(sandbox.front, 'clock-skew.mp4', { ageMs: -DAY_MS, size: 5000 });
    // A tiny retention and a 1-byte quota would delete everything that may be deleted.
    const engine = engineFor(frontOnly({ retentionDays: 0.00001, storageQuotaGB: 1e-9 }), { minAgeSeconds: 600 });

    const report = await engine.sweep();

    expect(filesBelow(sandbox.front)).toEqual(['clock-skew.mp4', 'slow-writer.mp4', 'writing.mp4']);
    expect(report.deleted.count).toBe(1);
    // They do not count toward the quota either, so the quota is met.
    expect(kinds(report.events)).not.toContain('quota_unsatisfiable');
  });

  test('nothing outside a camera folder is touched: a sibling folder with old files, and links to it, survive', async () => {
    const sibling = join(sandbox.root, 'sibling');
    writeRecording(sibling, 'old-1.mp4', { ageMs: 400 * DAY_MS });
    writeRecording(sibling, 'deep/old-2.mp4', { ageMs: 400 * DAY_MS, sidecars: { json: 10 } });
    writeRecording(sandbox.front, 'own-old.mp4', { ageMs: 400 * DAY_MS });
    fs.symlinkSync(sibling, join(sandbox.front, 'archive'));
    fs.symlinkSync(join(sibling, 'old-1.mp4'), join(sandbox.front, 'link.mp4'));
    fs.mkdirSync(join(sandbox.front, 'day'));
    fs.symlinkSync(join(sibling, 'deep'), join(sandbox.front, 'day', 'linked-day'));
    const siblingBefore = filesBelow(sibling);
    const engine = engineFor(frontOnly({ retentionDays: 0.00001, storageQuotaGB: 1e-9 }), { maxTotalGB: 1e-9 });

    const report = await engine.sweep();

    expect(report.deleted.count).toBe(1);
    expect(filesBelow(sibling)).toEqual(siblingBefore);
    expect(fs.lstatSync(join(sandbox.front, 'archive')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(join(sandbox.front, 'link.mp4')).isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(join(sandbox.front, 'day', 'linked-day')).isSymbolicLink()).toBe(true);
    expect(filesBelow(sandbox.front)).toEqual(['archive', 'day/linked-day', 'link.mp4']);
  });
});

/**
 * Two cameras where age, quota and cap all have work, with protected, kept-until, export-locked
 * and in-progress recordings in the way. Sizes are picked so the expected outcome is worked out
 * by hand below.
 */
function mixedTree(): { cameras: CameraInput[]; settings: Record<string, unknown>; hold: (engine: RetentionEngine) => void } {
  const d = DAY_MS;
  // Front: retention 7 days (events 21), quota 10,500 bytes.
  writeRecording(sandbox.front, 'old/f-age.mp4', { ageMs: 10 * d, size: 1000, sidecars: { json: 100 } });
  writeRecording(sandbox.front, 'events/f-ev-age.mp4', { ageMs: 25 * d, size: 1000 });
  writeRecording(sandbox.front, 'events/f-ev-keep.mp4', { ageMs: 12 * d, size: 1000 });
  writeRecording(sandbox.front, 'f-export.mp4', { ageMs: 7.5 * d, size: 2000 });
  writeRecording(sandbox.front, 'p.mp4', { ageMs: 6.5 * d, size: 2000 });
  for (const [i, age] of [6.4, 6.2, 6.1, 6.0, 5.9].entries()) {
    writeRecording(sandbox.front, `f-${i + 1}.mp4`, { ageMs: age * d, size: 2000 });
  }
  writeRecording(sandbox.front, 'f-6.mp4', { ageMs: 6.3 * d, size: 2000 });
  writeRecording(sandbox.front, 'live.mp4', { ageMs: 30 * SECOND_MS, size: 2000 });
  // Back: retention 7 days, no quota.
  writeRecording(sandbox.back, 'b-age.mp4', { ageMs: 8 * d, size: 1500 });
  writeRecording(sandbox.back, 'b-kept.mp4', { ageMs: 6.35 * d, size: 2000 });
  for (const [i, age] of [6.45, 6.25, 6.05, 5.5, 5.0].entries()) {
    writeRecording(sandbox.back, `b-${i + 1}.mp4`, { ageMs: age * d, size: 2000 });
  }
  return {
    cameras: [
      { name: 'Front', path: sandbox.front, retentionDays: 7, storageQuotaGB: 0.0000105 },
      { name: 'Back', path: sandbox.back, retentionDays: 7 },
    ],
    settings: { maxTotalGB: 0.0000145 },
    hold: (engine) => {
      engine.scan();
      const now = Date.now();
      engine.protect([idOf(engine, 'Front', 'p.mp4')], 'user');
      engine.protect([idOf(engine, 'Back', 'b-kept.mp4')], 'user', now + DAY_MS);
      engine.store.takeExportLock([idOf(engine, 'Front', 'f-export.mp4')], 'exporter', now + HOUR_MS, now);
    },
  };
}

describe('the report', () => {
  // What the mixed tree loses (the report's figures below follow from it):
  // Age: f-age (1100 with its sidecar), f-ev-age (event, 25 days), b-age. f-export is older than
  // 7 days too, but export-locked.
  // Quota (Front counts f-ev-keep 1000 + p 2000 + f-1..f-6 12000 = 15000 > 10500; live is in
  // progress, f-export locked): f-ev-keep, then p is spared, f-1, f-6 (6.3 d) → 10000.
  // Cap (Front 10000 + Back 12000 = 22000 > 14500), oldest across cameras: p spared, b-1, b-kept
  // spared, b-2, f-2, f-3 → 14000.
  async function sweepMixedTree(): Promise<{ engine: RetentionEngine; report: SweepReport }> {
    const tree = mixedTree();
    const engine = engineFor(tree.cameras, tree.settings);
    tree.hold(engine);
    return { engine, report: await engine.sweep() };
  }

  test('the phases on real files leave exactly the files they should, and the index agrees with the disk', async () => {
    const { engine } = await sweepMixedTree();

    expect(filesBelow(sandbox.front)).toEqual(['f-4.mp4', 'f-5.mp4', 'f-export.mp4', 'live.mp4', 'p.mp4']);
    expect(filesBelow(sandbox.back)).toEqual(['b-3.mp4', 'b-4.mp4', 'b-5.mp4', 'b-kept.mp4']);
    expectConsistent(engine, 'Front', sandbox.front);
    expectConsistent(engine, 'Back', sandbox.back);
  });

  test('a sweep where every phase can do its work raises no events and no failures', async () => {
    const { report } = await sweepMixedTree();

    expect(report.events).toEqual([]);
    expect(report.failures).toEqual([]);
  });

  test('the next sweep finds nothing more to do', async () => {
    const { engine } = await sweepMixedTree();

    const again = await engine.sweep();
    expect(again.deleted.count).toBe(0);
  });

  test('byReason counts each deletion under the phase that made it', async () => {
    const { report } = await sweepMixedTree();

    expect(report.byReason).toEqual({
      age: { count: 3, bytes: 1100 + 1000 + 1500 },
      quota: { count: 3, bytes: 1000 + 2000 + 2000 },
      cap: { count: 4, bytes: 8000 },
      floor: { count: 0, bytes: 0 },
    });
  });

  test('byCamera counts each deletion under its camera', async () => {
    const { report } = await sweepMixedTree();

    expect(report.byCamera).toEqual({
      Front: { count: 7, bytes: 1100 + 1000 + 1000 + 4 * 2000 },
      Back: { count: 3, bytes: 1500 + 2 * 2000 },
    });
  });

  test('byClass counts each deletion under its class', async () => {
    const { report } = await sweepMixedTree();

    expect(report.byClass).toEqual({ continuous: { count: 8, bytes: 1100 + 1500 + 6 * 2000 }, event: { count: 2, bytes: 2000 } });
  });

  test('deleted is the total, and spared.protected counts the held recordings a phase passed over', async () => {
    const { report } = await sweepMixedTree();

    expect(report.deleted).toEqual({ count: 10, bytes: 3600 + 5000 + 8000 });
    expect(report.spared.protected).toBe(2);
  });

  test('a dry run deletes nothing, and its list is exactly what the next real sweep deletes, in order, with the same reasons', async () => {
    const tree = mixedTree();
    const engine = engineFor(tree.cameras, tree.settings);
    tree.hold(engine);
    const frontBefore = filesBelow(sandbox.front);
    const backBefore = filesBelow(sandbox.back);
    const eventsBefore = engine.store.recentEvents(100);

    const dry = await engine.sweep({ dryRun: true });

    expect(filesBelow(sandbox.front)).toEqual(frontBefore);
    expect(filesBelow(sandbox.back)).toEqual(backBefore);
    expect(rows(engine, 'Front').size + rows(engine, 'Back').size).toBe(frontBefore.length - 1 + backBefore.length);
    expect(engine.store.recentEvents(100)).toEqual(eventsBefore);
    expect(dry.dryRun).toBe(true);
    expect(dry.deletions).toHaveLength(10);

    // The real sweep deletes one recording per batch; after each, see which file went and why.
    const dirs: Record<string, string> = { Front: sandbox.front, Back: sandbox.back };
    const pending = new Map(dry.deletions!.map((d) => [`${d.camera}:${d.path}`, join(dirs[d.camera], d.path)]));
    for (const camera of ['Front', 'Back']) {
      for (const row of rows(engine, camera).values()) {
        pending.set(`${camera}:${row.relPath}`, join(dirs[camera], row.relPath));
      }
    }
    const deleted: { camera: string; path: string; reason: string }[] = [];
    const real = await engine.sweep({
      batchSize: 1,
      onProgress: (progress) => {
        for (const [key, path] of pending) {
          if (!exists(path)) {
            pending.delete(key);
            const [camera, relPath] = key.split(':');
            deleted.push({ camera, path: relPath, reason: progress.phase });
          }
        }
      },
    });

    expect(deleted).toEqual(dry.deletions!.map(({ camera, path, reason }) => ({ camera, path, reason })));
    expect(real.deletions).toBeUndefined();
    for (const field of ['deleted', 'byReason', 'byCamera', 'byClass', 'spared'] as const) {
      expect(real[field]).toEqual(dry[field]);
    }
    expect(real.events).toEqual(dry.events);
  });

  test('a dry run lists only the first deletionListLimit recordings, in order; its counts cover all of them', async () => {
    for (let i = 0; i < 5; i++) {
      writeRecording(sandbox.front, `d/r${i}.mp4`, { ageMs: (30 - i) * DAY_MS, size: 100 });
    }
    const engine = engineFor(frontOnly());

    const dry = await engine.sweep({ dryRun: true, deletionListLimit: 3 });

    expect(dry.deletions!.map((d) => d.path)).toEqual(['d/r0.mp4', 'd/r1.mp4', 'd/r2.mp4']);
    expect(dry.deletionsNotListed).toBe(2);
    expect(dry.deleted).toEqual({ count: 5, bytes: 500 });
    expect(filesBelow(sandbox.front)).toHaveLength(5);
    const real = await engine.sweep();
    expect(real.deleted).toEqual(dry.deleted);
    expect(real.deletionsNotListed).toBeUndefined();
  });

  test('"oldest" breaks ties on end time: continuous before event, then path order', async () => {
    const when = 3 * DAY_MS;
    for (const name of ['events/a.mp4', 'z.mp4', 'b.mp4', 'motion.mp4']) {
      writeRecording(sandbox.front, name, { ageMs: when, size: 1000 });
    }
    // The same mtime on all four, to the millisecond.
    const mtime = fs.statSync(join(sandbox.front, 'z.mp4')).mtime;
    for (const name of ['events/a.mp4', 'b.mp4', 'motion.mp4']) {
      fs.utimesSync(join(sandbox.front, name), mtime, mtime);
    }
    writeRecording(sandbox.front, 'newer.mp4', { ageMs: DAY_MS, size: 1000 });
    const engine = engineFor(frontOnly({ storageQuotaGB: 0.0000025 }));

    const dry = await engine.sweep({ dryRun: true });

    expect(dry.deletions!.map((d) => d.path)).toEqual(['b.mp4', 'z.mp4', 'events/a.mp4']);
  });

  describe('when protected recordings alone fill the quota and the cap', () => {
    /** Front's quota (5000 bytes) and the cap (8000) are both filled by held recordings; the one free recording is younger. */
    async function sweepHeldFull(): Promise<{ engine: RetentionEngine; report: SweepReport }> {
      writeRecording(sandbox.front, 'p1.mp4', { ageMs: 3 * DAY_MS, size: 3000 });
      writeRecording(sandbox.front, 'p2.mp4', { ageMs: 2 * DAY_MS, size: 3000 });
      writeRecording(sandbox.front, 'free.mp4', { ageMs: DAY_MS, size: 3000 });
      writeRecording(sandbox.back, 'bp.mp4', { ageMs: 3 * DAY_MS, size: 3000 });
      const engine = engineFor(
        [
          { name: 'Front', path: sandbox.front, retentionDays: 7, storageQuotaGB: 0.000005 },
          { name: 'Back', path: sandbox.back, retentionDays: 7 },
        ],
        { maxTotalGB: 0.000008 },
      );
      engine.scan();
      engine.protect([idOf(engine, 'Front', 'p1.mp4'), idOf(engine, 'Front', 'p2.mp4'), idOf(engine, 'Back', 'bp.mp4')], 'user');
      return { engine, report: await engine.sweep() };
    }

    test('nothing is deleted', async () => {
      const { report } = await sweepHeldFull();

      expect(report.deleted.count).toBe(0);
      expect(filesBelow(sandbox.front)).toEqual(['free.mp4', 'p1.mp4', 'p2.mp4']);
    });

    test('the report raises quota_unsatisfiable for the camera and cap_unsatisfiable for the cap, as warnings', async () => {
      const { report } = await sweepHeldFull();

      expect(report.events).toEqual([
        expect.objectContaining({ kind: 'quota_unsatisfiable', camera: 'Front', severity: 'warning' }),
        expect.objectContaining({ kind: 'cap_unsatisfiable', camera: null, severity: 'warning' }),
      ]);
    });

    test('both events are stored in the event log', async () => {
      const { engine } = await sweepHeldFull();

      expect(kinds(engine.store.recentEvents(10))).toEqual(expect.arrayContaining(['quota_unsatisfiable', 'cap_unsatisfiable']));
    });
  });

  describe('a camera whose folder comes up empty (its disk unmounted)', () => {
    /** Front has one old recording; Back's folder is swapped for an empty one after a scan. Returns where Back's files went. */
    async function sweepWithBackAway(): Promise<{ engine: RetentionEngine; report: SweepReport; away: string }> {
      writeRecording(sandbox.front, 'old.mp4', { ageMs: 30 * DAY_MS });
      for (let i = 0; i < 4; i++) {
        writeRecording(sandbox.back, `old-${i}.mp4`, { ageMs: 30 * DAY_MS });
        writeRecording(sandbox.back, `new-${i}.mp4`, { ageMs: DAY_MS });
      }
      const engine = engineFor([...frontOnly(), { name: 'Back', path: sandbox.back, retentionDays: 7 }]);
      engine.scan();
      const away = join(sandbox.root, 'back-unmounted');
      fs.renameSync(sandbox.back, away);
      fs.mkdirSync(sandbox.back);
      return { engine, report: await engine.sweep(), away };
    }

    test('is unavailable and keeps everything, raising camera_unavailable', async () => {
      const { engine, report } = await sweepWithBackAway();

      expect(rows(engine, 'Back').size).toBe(8);
      expect(report.cameras.find((c) => c.name === 'Back')).toMatchObject({ available: false, missing: 8 });
      expect(report.events).toEqual([expect.objectContaining({ kind: 'camera_unavailable', camera: 'Back', severity: 'warning' })]);
      expect(engine.store.recentEvents(10)).toEqual([expect.objectContaining({ kind: 'camera_unavailable', camera: 'Back' })]);
    });

    test('the other cameras are swept', async () => {
      const { report } = await sweepWithBackAway();

      expect(filesBelow(sandbox.front)).toEqual([]);
      expect(report.byCamera).toEqual({ Front: { count: 1, bytes: 1000 } });
    });

    test('once the folder is back, camera_available is raised and the camera is swept', async () => {
      const { engine, away } = await sweepWithBackAway();

      fs.rmdirSync(sandbox.back);
      fs.renameSync(away, sandbox.back);
      const again = await engine.sweep();
      expect(kinds(again.events)).toEqual(['camera_available']);
      expect(filesBelow(sandbox.back)).toEqual(['new-0.mp4', 'new-1.mp4', 'new-2.mp4', 'new-3.mp4']);
    });
  });
});

describe('housekeeping: emptied folders', () => {
  /**
   * Front: dated folders, a folder with a note beside its recording, one with a hidden file, one
   * empty from the start, a recording at the top; Back: two recordings, all of it due.
   */
  async function sweepDatedFolders(): Promise<{ engine: RetentionEngine; report: SweepReport }> {
    const old = { ageMs: 30 * DAY_MS };
    writeRecording(sandbox.front, '2024/05/01/a.mp4', old);
    writeRecording(sandbox.front, '2024/05/02/b.mp4', { ...old, sidecars: { json: 10, 'thumb.jpg': 10 } });
    writeRecording(sandbox.front, '2024/05/03/c.mp4', { ageMs: DAY_MS });
    writeRecording(sandbox.front, 'notes/old.mp4', old);
    fs.writeFileSync(join(sandbox.front, 'notes/readme.txt'), 'kept');
    writeRecording(sandbox.front, 'hidden/old.mp4', old);
    fs.writeFileSync(join(sandbox.front, 'hidden/.keep'), '');
    fs.mkdirSync(join(sandbox.front, 'empty-before/inner'), { recursive: true });
    writeRecording(sandbox.front, 'top.mp4', old);
    // Back loses everything: its whole tree goes, the camera folder stays.
    writeRecording(sandbox.back, '2024/06/01/x.mp4', old);
    writeRecording(sandbox.back, '2024/06/02/y.mp4', old);
    const engine = engineFor([...frontOnly(), { name: 'Back', path: sandbox.back, retentionDays: 7 }]);
    return { engine, report: await engine.sweep() };
  }

  test('removes the parents of deleted files that are now empty, walking up, and never a folder with a file left', async () => {
    const { report } = await sweepDatedFolders();

    expect(report.deleted.count).toBe(7);
    expect(foldersBelow(sandbox.front)).toEqual(['2024', '2024/05', '2024/05/03', 'empty-before', 'empty-before/inner', 'hidden', 'notes']);
    expect(filesBelow(sandbox.front)).toEqual(['2024/05/03/c.mp4', 'hidden/.keep', 'notes/readme.txt']);
  });

  test('never removes the camera folder, even when everything in it went', async () => {
    await sweepDatedFolders();

    expect(fs.statSync(sandbox.back).isDirectory()).toBe(true);
    expect(foldersBelow(sandbox.back)).toEqual([]);
  });

  test('the index forgets the removed folders cleanly: new recordings in a re-created folder are found', async () => {
    const { engine } = await sweepDatedFolders();

    writeRecording(sandbox.back, '2024/06/01/x2.mp4', { ageMs: DAY_MS });
    const next = await engine.sweep();
    expect(next.status).toBe('done');
    expect([...rows(engine, 'Back').keys()]).toEqual(['2024/06/01/x2.mp4']);
  });
});

describe('a stale index entry', () => {
  test('a file rewritten in place after it was indexed (same name, folder listing unchanged) is not deleted on the strength of its old mtime', async () => {
    // A camera that uploads by FTP overwrites latest.jpg in place: the folder's mtime does not move.
    writeRecording(sandbox.front, 'snap/latest.jpg', { ageMs: 3 * DAY_MS, size: 1000 });
    writeRecording(sandbox.front, 'snap/old.jpg', { ageMs: 3 * DAY_MS, size: 1000 });
    settleFolders(sandbox.front);
    const engine = engineFor(frontOnly({ retentionDays: 1 }));
    engine.scan();
    const folderMtime = fs.statSync(join(sandbox.front, 'snap')).mtimeMs;
    fs.writeFileSync(join(sandbox.front, 'snap/latest.jpg'), Buffer.alloc(2000, 7));
    expect(fs.statSync(join(sandbox.front, 'snap')).mtimeMs).toBe(folderMtime);

    const report = await engine.sweep();

    expect(filesBelow(sandbox.front)).toEqual(['snap/latest.jpg']);
    expect(report.deleted.count).toBe(1);
    expect(report.failures).toEqual([]);
    // The next sweep sees the file as it is now, and leaves it alone.
    const next = await engine.sweep();
    expect(next.deleted.count).toBe(0);
    expect(rows(engine, 'Front').get('snap/latest.jpg')).toMatchObject({
      size: 2000,
      endTime: fs.statSync(join(sandbox.front, 'snap/latest.jpg')).mtimeMs,
    });
  });

  test('a folder emptied by the sweep is removed even when another file in it was moved away after the scan', async () => {
    writeRecording(sandbox.front, 'incoming/old.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'incoming/live.mp4', { ageMs: 10 * SECOND_MS });
    for (let i = 0; i < 3; i++) {
      writeRecording(sandbox.front, `archive/${i}.mp4`, { ageMs: DAY_MS });
    }
    const engine = engineFor(frontOnly());

    // The recorder finishes live.mp4 and moves it to the archive while the sweep runs.
    const report = await engine.sweep({
      onProgress: () => fs.renameSync(join(sandbox.front, 'incoming/live.mp4'), join(sandbox.front, 'archive/live.mp4')),
    });

    expect(report.status).toBe('done');
    expect(report.deleted.count).toBe(1);
    expect(foldersBelow(sandbox.front)).toEqual(['archive']);
    const next = await engine.sweep();
    expect(next.status).toBe('done');
    expect([...rows(engine, 'Front').keys()].sort()).toEqual(['archive/0.mp4', 'archive/1.mp4', 'archive/2.mp4', 'archive/live.mp4']);
    expectConsistent(engine, 'Front', sandbox.front);
  });
});

describe('failures', () => {
  describe('an unlink that fails (a read-only folder)', () => {
    /** locked/a.mp4 (with a sidecar) sits in a read-only bind mount, free/b.mp4 beside it; both are due. */
    async function sweepReadOnly(): Promise<{ engine: RetentionEngine; report: SweepReport; log: CapturedLog; path: string }> {
      writeRecording(sandbox.front, 'locked/a.mp4', { ageMs: 30 * DAY_MS, size: 1234, sidecars: { json: 10 } });
      writeRecording(sandbox.front, 'free/b.mp4', { ageMs: 30 * DAY_MS });
      bindReadOnly(join(sandbox.front, 'locked'));
      const log = captureLog();
      const engine = engineFor(frontOnly(), {}, log);
      return { engine, report: await engine.sweep(), log, path: join(sandbox.front, 'locked/a.mp4') };
    }

    mountTest('keeps the recording it could not delete whole (file, sidecar, row) and deletes the other', async () => {
      const { engine, report, path } = await sweepReadOnly();

      expect(report.status).toBe('done');
      expect(report.deleted.count).toBe(1);
      expect(exists(path)).toBe(true);
      expect(exists(join(sandbox.front, 'locked/a.json'))).toBe(true);
      expect(exists(join(sandbox.front, 'free/b.mp4'))).toBe(false);
      expect(rows(engine, 'Front').get('locked/a.mp4')).toMatchObject({ size: 1244 });
      expect(engine.store.interruptedDeletes()).toEqual([]);
    });

    mountTest('counts as a failure with the path and the error', async () => {
      const { report, path } = await sweepReadOnly();

      expect(report.failures).toEqual([{ camera: 'Front', path, error: expect.stringMatching(/EROFS/) }]);
    });

    mountTest('raises delete_failed in the report, the event log and a warning naming the path', async () => {
      const { engine, report, log, path } = await sweepReadOnly();

      expect(report.events).toEqual([expect.objectContaining({ kind: 'delete_failed', camera: 'Front', path })]);
      expect(engine.store.recentEvents(10)).toEqual([expect.objectContaining({ kind: 'delete_failed', camera: 'Front', path })]);
      expect(log.lines.some((line) => line.startsWith('warn:') && line.includes(path))).toBe(true);
    });

    mountTest('is retried by the next sweep, which deletes it once it can', async () => {
      const { engine, path } = await sweepReadOnly();

      unmountAll();
      const retry = await engine.sweep();
      expect(retry.failures).toEqual([]);
      expect(retry.byReason.age).toEqual({ count: 1, bytes: 1244 });
      expect(exists(path)).toBe(false);
      expect(foldersBelow(sandbox.front)).toEqual([]);
      expectConsistent(engine, 'Front', sandbox.front);
    });
  });

  describe('a crash between unlinks and row deletes', () => {
    /**
     * The crashed sweep had claimed six recordings and unlinked five of them; of one (day/4), only
     * the video went. Returns the next engine and its sweep.
     */
    async function sweepAfterCrash(): Promise<{ engine: RetentionEngine; report: SweepReport }> {
      for (let i = 0; i < 10; i++) {
        writeRecording(sandbox.front, `day/${i}.mp4`, { ageMs: DAY_MS + i * MINUTE_MS, sidecars: { json: 20, 'thumb.jpg': 30 } });
      }
      const first = engineFor(frontOnly({ retentionDays: 30 }));
      first.scan();
      const marked = [0, 1, 2, 3, 4, 5].map((i) => idOf(first, 'Front', `day/${i}.mp4`));
      claimAsADeadSweepDid(first, marked);
      for (const i of [0, 1, 2, 3]) {
        for (const suffix of ['mp4', 'json', 'thumb.jpg']) {
          fs.unlinkSync(join(sandbox.front, `day/${i}.${suffix}`));
        }
      }
      fs.unlinkSync(join(sandbox.front, 'day/4.mp4'));
      first.close();

      const engine = engineFor(frontOnly({ retentionDays: 30 }));
      return { engine, report: await engine.sweep() };
    }

    test('the next engine does not read the rows of the unlinked files as a lost disk', async () => {
      const { engine, report } = await sweepAfterCrash();

      expect(report.status).toBe('done');
      expect(report.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true, missing: 0 })]);
      expect(kinds(report.events)).not.toContain('camera_unavailable');
      expect(engine.store.cameraByPath(sandbox.front)).toMatchObject({ available: true, recordingCount: 5 });
    });

    test('the next engine drops those rows and finishes the half-done deletion, sidecars too', async () => {
      const { engine } = await sweepAfterCrash();

      expect([...rows(engine, 'Front').keys()].sort()).toEqual(['day/5.mp4', 'day/6.mp4', 'day/7.mp4', 'day/8.mp4', 'day/9.mp4']);
      expect(filesBelow(join(sandbox.front, 'day')).filter((name) => name.startsWith('4.'))).toEqual([]);
    });

    test('the index and the disk agree afterwards', async () => {
      const { engine } = await sweepAfterCrash();

      expectConsistent(engine, 'Front', sandbox.front);
    });
  });

  test('after a crash, interrupted deletions of a camera whose folder is gone (NAS unmounted) keep their rows until it is back', async () => {
    for (let i = 0; i < 4; i++) {
      writeRecording(sandbox.front, `day/${i}.mp4`, { ageMs: DAY_MS });
    }
    const first = engineFor(frontOnly({ retentionDays: 30 }));
    first.scan();
    const marked = [idOf(first, 'Front', 'day/0.mp4')];
    claimAsADeadSweepDid(first, marked);
    first.close();
    const unmounted = `${sandbox.front}.away`;
    fs.renameSync(sandbox.front, unmounted);

    const engine = engineFor(frontOnly({ retentionDays: 30 }));
    const report = await engine.sweep();
    expect(report.cameras).toEqual([expect.objectContaining({ name: 'Front', available: false })]);
    expect(engine.store.cameraByPath(sandbox.front)).toMatchObject({ recordingCount: 4 });

    fs.renameSync(unmounted, sandbox.front);
    const remounted = await engine.sweep();
    expect(remounted.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true })]);
    // The file was still there: it stays indexed, no longer marked, and nothing was lost.
    expect(filesBelow(join(sandbox.front, 'day'))).toHaveLength(4);
    expectConsistent(engine, 'Front', sandbox.front);
  });

  test('after a crash, a scan or a dry run does not read the interrupted deletions as a lost disk either', async () => {
    for (let i = 0; i < 10; i++) {
      writeRecording(sandbox.front, `day/${i}.mp4`, { ageMs: DAY_MS });
    }
    const engine = engineFor(frontOnly({ retentionDays: 30 }));
    engine.scan();
    const marked = [0, 1, 2, 3, 4, 5].map((i) => idOf(engine, 'Front', `day/${i}.mp4`));
    claimAsADeadSweepDid(engine, marked);
    for (const i of [0, 1, 2, 3, 4, 5]) {
      fs.unlinkSync(join(sandbox.front, `day/${i}.mp4`));
    }

    const dry = await engine.sweep({ dryRun: true });
    expect(dry.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true })]);
    const [scan] = engine.scan();
    expect(scan).toMatchObject({ available: true, missing: 0 });
    expect(engine.store.cameraByPath(sandbox.front)).toMatchObject({ available: true, recordingCount: 4 });
  });

  test('a folder swapped for a link to outside during the sweep is not deleted through: the recording fails and stays', async () => {
    const outside = join(sandbox.root, 'outside');
    writeRecording(outside, '2.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'a/1.mp4', { ageMs: 31 * DAY_MS });
    writeRecording(sandbox.front, 'b/2.mp4', { ageMs: 30 * DAY_MS });
    const engine = engineFor(frontOnly());

    // One recording per batch; after the first, b/ is replaced by a link to the outside folder.
    const report = await engine.sweep({
      batchSize: 1,
      onProgress: () => {
        if (!fs.lstatSync(join(sandbox.front, 'b')).isSymbolicLink()) {
          fs.rmSync(join(sandbox.front, 'b'), { recursive: true });
          fs.symlinkSync(outside, join(sandbox.front, 'b'));
        }
      },
    });

    expect(exists(join(outside, '2.mp4'))).toBe(true);
    expect(report.deleted.count).toBe(1);
    expect(report.failures).toEqual([{ camera: 'Front', path: join(sandbox.front, 'b/2.mp4'), error: expect.stringMatching(/a link/) }]);
  });
});

describe('free-space floor on a real tmpfs', () => {
  const MB = 1_000_000;
  let disk: string;
  let cam: string;

  /** Seven 1 MB recordings (plus a small sidecar each), 7 days old down to 1 day. */
  function fill(): void {
    for (let day = 7; day >= 1; day--) {
      writeRecording(cam, `day-${day}/rec.mp4`, { ageMs: day * DAY_MS, size: MB, sidecars: { json: 100 } });
    }
  }

  function setUpDisk(): void {
    disk = join(sandbox.root, 'disk');
    mountTmpfs(disk, '8m');
    cam = join(disk, 'cam');
    fs.mkdirSync(cam);
  }

  mountTest('deletes the oldest recordings until free space is above the floor, and not much more than the shortfall', async () => {
    setUpDisk();
    fill();
    const floor = 4 * MB;
    const shortfall = floor - freeBytes(disk);
    expect(shortfall).toBeGreaterThan(2 * MB);
    const engine = engineFor([{ name: 'Cam', path: cam, retentionDays: 30 }], { minFreeGB: floor / 1e9 });

    const dry = await engine.sweep({ dryRun: true });
    const report = await engine.sweep();

    expect(report.status).toBe('done');
    expect(freeBytes(disk)).toBeGreaterThanOrEqual(floor);
    expect(report.byReason.floor.count).toBe(report.deleted.count);
    expect(report.deleted.bytes).toBeGreaterThanOrEqual(shortfall);
    expect(report.deleted.bytes - shortfall).toBeLessThan(MB + 100);
    expect(filesBelow(cam)).toEqual([
      'day-1/rec.json',
      'day-1/rec.mp4',
      'day-2/rec.json',
      'day-2/rec.mp4',
      'day-3/rec.json',
      'day-3/rec.mp4',
      'day-4/rec.json',
      'day-4/rec.mp4',
    ]);
    expect(report.events).toEqual([]);
    // The dry run assumed each deletion frees its size, and picked the same recordings.
    expect(dry.deletions!.map((d) => d.path)).toEqual(['day-7/rec.mp4', 'day-6/rec.mp4', 'day-5/rec.mp4']);
    expectConsistent(engine, 'Cam', cam);
  });

  mountTest('while retention is paused only the floor deletes, and the pause survives a restart', async () => {
    setUpDisk();
    fill();
    const floor = 4 * MB;
    const settings = { minFreeGB: floor / 1e9 };
    const paused = engineFor([{ name: 'Cam', path: cam, retentionDays: 2.5 }], settings);
    paused.setPaused(true);
    paused.close();

    const log = captureLog();
    const engine = engineFor([{ name: 'Cam', path: cam, retentionDays: 2.5 }], settings, log);
    expect(engine.paused).toBe(true);
    const report = await engine.sweep();
    // Age alone would take days 7 to 3; paused, only the floor's three oldest (7, 6, 5) go.
    expect(report.paused).toBe(true);
    expect(report.byReason.age.count).toBe(0);
    expect(report.byReason.floor.count).toBe(3);
    expect(freeBytes(disk)).toBeGreaterThanOrEqual(floor);
    expect(log.lines.at(-1)).toMatch(/retention paused: only the free-space floor deletes/);

    engine.setPaused(false);
    const resumed = await engine.sweep();
    expect(resumed.paused).toBe(false);
    expect(resumed.byReason.age.count).toBe(2);
    expect(filesBelow(cam)).toEqual(['day-1/rec.json', 'day-1/rec.mp4', 'day-2/rec.json', 'day-2/rec.mp4']);
  });

  mountTest('floor_misconfigured when the floor is larger than the whole filesystem: nothing is deleted', async () => {
    setUpDisk();
    fill();
    const engine = engineFor([{ name: 'Cam', path: cam, retentionDays: 30 }], { minFreeGB: 0.01 });

    const report = await engine.sweep();

    expect(report.deleted.count).toBe(0);
    expect(filesBelow(cam)).toHaveLength(14);
    expect(report.events).toEqual([expect.objectContaining({ kind: 'floor_misconfigured', severity: 'error' })]);
    expect(kinds(engine.store.recentEvents(10))).toEqual(['floor_misconfigured']);
  });

  mountTest('floor_unreachable when everything left is protected', async () => {
    setUpDisk();
    fill();
    const engine = engineFor([{ name: 'Cam', path: cam, retentionDays: 30 }], { minFreeGB: 0.004 });
    engine.scan();
    engine.protect(
      [...rows(engine, 'Cam').values()].map((r) => r.id),
      'user',
    );

    const report = await engine.sweep();

    expect(report.deleted.count).toBe(0);
    expect(report.spared.protected).toBe(7);
    expect(kinds(report.events)).toEqual(['floor_unreachable']);
  });

  mountTest(
    'floor_futile when deleting frees nothing (the recordings are hard-linked elsewhere on the disk), and the other links survive',
    async () => {
      setUpDisk();
      fill();
      const backup = join(disk, 'backup');
      fs.mkdirSync(backup);
      for (let day = 7; day >= 1; day--) {
        fs.linkSync(join(cam, `day-${day}/rec.mp4`), join(backup, `day-${day}.mp4`));
        fs.linkSync(join(cam, `day-${day}/rec.json`), join(backup, `day-${day}.json`));
      }
      const engine = engineFor([{ name: 'Cam', path: cam, retentionDays: 30 }], { minFreeGB: 0.004 });

      const report = await engine.sweep();

      expect(kinds(report.events)).toEqual(['floor_futile']);
      // One round's worth, not the whole camera.
      expect(report.deleted.count).toBe(3);
      expect(filesBelow(backup)).toHaveLength(14);
    },
  );
});

describe('stopping', () => {
  test('a stop requested during the scan ends the sweep as "stopped": nothing deleted, nothing forgotten', async () => {
    for (let day = 0; day < 5; day++) {
      writeRecording(sandbox.front, `day-${day}/old.mp4`, { ageMs: 30 * DAY_MS });
    }
    const engine = engineFor(frontOnly());
    engine.scan();
    fs.rmSync(join(sandbox.front, 'day-0'), { recursive: true });
    let polls = 0;
    const report = await engine.sweep({ shouldStop: () => ++polls > 2 });

    expect(report.status).toBe('stopped');
    expect(report.deleted.count).toBe(0);
    expect(report.events).toEqual([]);
    // The vanished folder is noticed by the next full scan, not half-applied by a stopped one.
    expect(rows(engine, 'Front').size).toBe(5);
    expect(engine.store.lock.holder()).toBeUndefined();
    const next = await engine.sweep();
    expect(next.status).toBe('done');
    expect(next.deleted.count).toBe(4);
    expectConsistent(engine, 'Front', sandbox.front);
  });
});

describe('the sweep lock', () => {
  test('while one engine holds the lock, a second engine on the same index gets SweepLockHeldError and deletes nothing', async () => {
    writeRecording(sandbox.front, 'old.mp4', { ageMs: 30 * DAY_MS });
    const holder = engineFor(frontOnly());
    holder.store.lock.acquire('test');
    const other = engineFor(frontOnly());

    await expect(other.sweep()).rejects.toBeInstanceOf(SweepLockHeldError);
    await expect(other.sweep({ dryRun: true })).rejects.toThrow(/another sweep is running \(test, pid/);
    expect(exists(join(sandbox.front, 'old.mp4'))).toBe(true);

    holder.store.lock.release();
    const report = await other.sweep();
    expect(report.deleted.count).toBe(1);
  });

  test('a lock left by a dead process is taken over', async () => {
    writeRecording(sandbox.front, 'old.mp4', { ageMs: 30 * DAY_MS });
    const engine = engineFor(frontOnly());
    staleLock(engine.store.db);

    const report: SweepReport = await engine.sweep();

    expect(report.status).toBe('done');
    expect(report.deleted.count).toBe(1);
    expect(engine.store.lock.holder()).toBeUndefined();
  });

  test('a lock left by a dead process whose pid is now reused by a live one (a restarted container) is taken over', async () => {
    writeRecording(sandbox.front, 'old.mp4', { ageMs: 30 * DAY_MS });
    const engine = engineFor(frontOnly());
    staleLock(engine.store.db, { pidReused: true });

    const report: SweepReport = await engine.sweep();
    expect(report.status).toBe('done');
    expect(report.deleted.count).toBe(1);
  });
});

// ---- how files are deleted ---------------------------------------------------------------------

// The sweep deletes files in place (synchronous calls) while the disk is fast and overlaps them once it
// is slow; which one a test machine's disk picks is not known, so each is forced here in turn.
describe.each(['in place', 'overlapped'] as const)('deleting files %s', (fileDeletion) => {
  test('sidecars go with their recording, a file rewritten since indexing stays, a folder swapped for a link is not followed', async () => {
    const withSidecars: RecordingSpec = { ageMs: 30 * DAY_MS, size: 4000, sidecars: { json: { trigger: 'schedule' }, 'thumb.jpg': 300 } };
    writeRecording(sandbox.front, 'a/old.mp4', withSidecars);
    writeRecording(sandbox.front, 'snap/latest.jpg', { ageMs: 31 * DAY_MS, size: 1000 });
    writeRecording(sandbox.front, 'snap/gone.jpg', { ageMs: 30 * DAY_MS, size: 1000 });
    writeRecording(sandbox.front, 'z/last.mp4', { ageMs: 29 * DAY_MS });
    const outside = join(sandbox.root, 'outside');
    writeRecording(outside, 'last.mp4', { ageMs: 29 * DAY_MS });
    settleFolders(sandbox.front);
    const engine = engineFor(frontOnly());
    engine.scan();
    fs.writeFileSync(join(sandbox.front, 'snap/latest.jpg'), Buffer.alloc(2000, 7));

    // Two batches, each with one recording that stays: [latest (rewritten), a/old], [snap/gone, z/last].
    const report = await engine.sweep({
      fileDeletion,
      batchSize: 2,
      onProgress: () => {
        if (!fs.lstatSync(join(sandbox.front, 'z')).isSymbolicLink()) {
          fs.rmSync(join(sandbox.front, 'z'), { recursive: true });
          fs.symlinkSync(outside, join(sandbox.front, 'z'));
        }
      },
    });

    expect(filesBelow(sandbox.front)).toEqual(['snap/latest.jpg', 'z']);
    expect(exists(join(outside, 'last.mp4'))).toBe(true);
    expect(report.deleted).toEqual({ count: 2, bytes: bytesOf(withSidecars) + 1000 });
    expect(report.failures).toEqual([{ camera: 'Front', path: join(sandbox.front, 'z/last.mp4'), error: expect.stringMatching(/a link/) }]);
    expect([...rows(engine, 'Front').keys()].sort()).toEqual(['snap/latest.jpg', 'z/last.mp4']);
    expect(engine.store.interruptedDeletes()).toEqual([]);
  });

  mountTest('an unlink that fails keeps the row and is a failure; the files before and after it in the batch go', async () => {
    writeRecording(sandbox.front, 'a/1.mp4', { ageMs: 32 * DAY_MS });
    writeRecording(sandbox.front, 'locked/2.mp4', { ageMs: 31 * DAY_MS });
    writeRecording(sandbox.front, 'z/3.mp4', { ageMs: 30 * DAY_MS });
    bindReadOnly(join(sandbox.front, 'locked'));
    const engine = engineFor(frontOnly());

    const report = await engine.sweep({ fileDeletion });

    expect(report.deleted.count).toBe(2);
    expect(report.failures).toEqual([
      { camera: 'Front', path: join(sandbox.front, 'locked/2.mp4'), error: expect.stringMatching(/^EROFS: /) },
    ]);
    expect([...rows(engine, 'Front').keys()]).toEqual(['locked/2.mp4']);
    expect(exists(join(sandbox.front, 'locked/2.mp4'))).toBe(true);
    expect(engine.store.interruptedDeletes()).toEqual([]);
  });

  test('many batches over several phases: each recording is deleted and counted once, and the index matches the disk', async () => {
    // Age takes the 30 oldest; the quota then walks the camera again while age's last batch may still be settling.
    for (let i = 0; i < 60; i++) {
      writeRecording(sandbox.front, `d${Math.floor(i / 7)}/r${String(i).padStart(2, '0')}.mp4`, {
        ageMs: (40 - i * 0.5) * DAY_MS,
        size: 1000,
      });
    }
    const engine = engineFor(frontOnly({ retentionDays: 25, storageQuotaGB: 20_000 / 1e9 }));
    const phases: string[] = [];

    const report = await engine.sweep({
      fileDeletion,
      batchSize: 4,
      unlinkConcurrency: 3,
      onProgress: (progress) => phases.push(progress.phase),
    });

    expect(report.byReason.age).toEqual({ count: 31, bytes: 31_000 });
    expect(report.byReason.quota).toEqual({ count: 9, bytes: 9000 });
    expect(new Set(phases)).toEqual(new Set(['age', 'quota']));
    expect(filesBelow(sandbox.front)).toHaveLength(20);
    expect(rows(engine, 'Front').size).toBe(20);
    expect(engine.store.cameraByPath(sandbox.front)).toMatchObject({ recordingCount: 20, bytes: 20_000 });
    expectConsistent(engine, 'Front', sandbox.front);
  });

  test('work queued on the event loop during a batch runs before the next batch is claimed: a recording protected then survives', async () => {
    // The engine worker answers a Protect switch this way, between batches, even when no file call yields.
    for (let i = 0; i < 9; i++) {
      writeRecording(sandbox.front, `d/r${i}.mp4`, { ageMs: (30 - i * 0.1) * DAY_MS });
    }
    const engine = engineFor(frontOnly());
    engine.scan();
    const last = idOf(engine, 'Front', 'd/r8.mp4');
    let queued = false;

    const report = await engine.sweep({
      fileDeletion,
      batchSize: 3,
      onProgress: () => {
        if (!queued) {
          queued = true;
          setImmediate(() => engine.store.protect([last], 'test', Date.now()));
        }
      },
    });

    expect(report.deleted.count).toBe(8);
    expect(filesBelow(sandbox.front)).toEqual(['d/r8.mp4']);
    expect(rows(engine, 'Front').get('d/r8.mp4')).toMatchObject({ protected: true });
  });

  test('a stop during deleting ends at the next recording: what was deleted is settled, the rest stays indexed and unmarked', async () => {
    for (let i = 0; i < 12; i++) {
      writeRecording(sandbox.front, `d/r${String(i).padStart(2, '0')}.mp4`, { ageMs: (30 - i * 0.1) * DAY_MS });
    }
    const engine = engineFor(frontOnly());
    let batches = 0;

    const report = await engine.sweep({ fileDeletion, batchSize: 5, shouldStop: () => batches >= 1, onProgress: () => batches++ });

    expect(report.status).toBe('stopped');
    expect(report.deleted.count).toBe(5);
    expect(filesBelow(sandbox.front)).toHaveLength(7);
    expect(rows(engine, 'Front').size).toBe(7);
    expect(engine.store.interruptedDeletes()).toEqual([]);
    expectConsistent(engine, 'Front', sandbox.front);
  });
});
