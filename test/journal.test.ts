/**
 * Protection survives a lost index (issue 6): holds are journaled beside the index and come back
 * when the index is made anew. Real files, the real index, the real journal file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { DatabaseSync } from 'node:sqlite';
import { type RetentionEngine, silentLogger as quiet } from '../src/retention/engine.js';
import { journalPathFor } from '../src/store/journal.js';
import { buildConfig, DAY_MS, filesBelow, HOUR_MS, useSandbox, writeRecording } from './helpers/tree.js';

/**
 * Camera folders `front` ("Front"), `back` ("Back") and `side` ("Side"), made anew for each test;
 * not created up front: writeRecording makes them, and a test that writes none has none.
 */
const sandbox = useSandbox('nvr-journal', ['front', 'back', 'side'], { createFolders: false });

function open(): RetentionEngine {
  // Recent recordings are 2 hours old: a retention of 0.05 days (72 minutes) makes them due, and the
  // default protectHours (24) makes a Protect switch hold them.
  return sandbox.engine(
    buildConfig(sandbox, [
      { name: 'Front', path: sandbox.front, retentionDays: 7 },
      { name: 'Back', path: sandbox.back, retentionDays: 0.05 },
      { name: 'Side', path: sandbox.side, retentionDays: 0.05 },
    ]),
  );
}

function deleteIndex(): void {
  for (const suffix of ['', '-wal', '-shm']) {
    fs.rmSync(`${sandbox.databasePath}${suffix}`, { force: true });
  }
}

function idOf(engine: RetentionEngine, camera: string, relPath: string): number {
  const found = engine.list({ cameraNames: [camera] }, { limit: 1000, offset: 0 }).find((row) => row.relPath === relPath);
  if (!found) {
    throw new Error(`${camera}/${relPath} is not indexed`);
  }
  return found.id;
}

function holdOf(engine: RetentionEngine, camera: string, relPath: string) {
  const row = engine.store.recording(idOf(engine, camera, relPath))!;
  return { protected: row.protected, protectedBy: row.protectedBy, keepUntil: row.keepUntil };
}

/** Two old recordings, a.mp4 protected by the CLI, b.mp4 not; the engine closed again. */
function indexWithHeldA(): void {
  writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
  writeRecording(sandbox.front, 'b.mp4', { ageMs: 30 * DAY_MS });
  const first = open();
  first.scan();
  first.protect([idOf(first, 'Front', 'a.mp4')], 'cli');
  sandbox.close(first);
}

describe('holds survive a deleted index', () => {
  /**
   * Holds of every kind on due recordings (by hand, keep-until, a Protect switch), one released and
   * a switch turned off again; then the index is deleted and opened anew (not yet swept).
   */
  function heldThenIndexDeleted(): { second: RetentionEngine; keepUntil: number } {
    writeRecording(sandbox.front, 'hand/a.mp4', { ageMs: 30 * DAY_MS, sidecars: { json: 10 } });
    writeRecording(sandbox.front, 'keep/b.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'released/c.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'free/d.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.back, 'e.mp4', { ageMs: 2 * HOUR_MS });
    writeRecording(sandbox.back, 'f.mp4', { ageMs: 3 * HOUR_MS });
    writeRecording(sandbox.side, 'g.mp4', { ageMs: 2 * HOUR_MS });
    const keepUntil = Date.now() + 10 * DAY_MS;

    const first = open();
    first.scan();
    expect(first.protect([idOf(first, 'Front', 'hand/a.mp4')], 'settings UI')).toBe(1);
    first.protect([idOf(first, 'Front', 'keep/b.mp4')], 'cli', keepUntil);
    first.protect([idOf(first, 'Front', 'released/c.mp4')], 'cli');
    first.unprotect([idOf(first, 'Front', 'released/c.mp4')]);
    expect(first.setProtectSwitch(first.cameraByName('Back')!, true)).toBe(2);
    // A switch turned off again releases its holds: they must not come back either.
    first.setProtectSwitch(first.cameraByName('Side')!, true);
    first.setProtectSwitch(first.cameraByName('Side')!, false);
    sandbox.close(first);

    deleteIndex();
    return { second: open(), keepUntil };
  }

  test('the new index takes the holds and the switch back from the journal, and says so', () => {
    const { second } = heldThenIndexDeleted();

    expect(second.store.opened).toMatchObject({ created: true, restoredHolds: 4, restoredSwitches: 1 });
    expect(second.store.recentEvents(5)).toEqual([expect.objectContaining({ kind: 'holds_restored', severity: 'info' })]);
  });

  test('a sweep on the new index deletes only what was not held', async () => {
    const { second } = heldThenIndexDeleted();
    const report = await second.sweep();

    expect(report.status).toBe('done');
    expect(filesBelow(sandbox.front)).toEqual(['hand/a.json', 'hand/a.mp4', 'keep/b.mp4']);
    expect(filesBelow(sandbox.back)).toEqual(['e.mp4', 'f.mp4']);
    expect(filesBelow(sandbox.side)).toEqual([]);
  });

  test('each hold comes back as it was: who held it, until when, and the switch on', async () => {
    const { second, keepUntil } = heldThenIndexDeleted();
    await second.sweep();

    expect(holdOf(second, 'Front', 'hand/a.mp4')).toEqual({ protected: true, protectedBy: 'settings UI', keepUntil: null });
    expect(holdOf(second, 'Front', 'keep/b.mp4')).toEqual({ protected: false, protectedBy: null, keepUntil });
    expect(holdOf(second, 'Back', 'e.mp4')).toMatchObject({ protected: true, protectedBy: 'switch' });
    expect(second.status().cameras.find((camera) => camera.name === 'Back')?.protectSwitchOn).toBe(true);
  });

  test('the restored switch still works as a switch: off releases its holds, and the next sweep deletes', async () => {
    const { second } = heldThenIndexDeleted();
    await second.sweep();

    second.setProtectSwitch(second.cameraByName('Back')!, false);
    await second.sweep();
    expect(filesBelow(sandbox.back)).toEqual([]);
    expect(filesBelow(sandbox.front)).toEqual(['hand/a.json', 'hand/a.mp4', 'keep/b.mp4']);
  });

  test('a hold on a recording of a camera that is unavailable during the rebuild waits until its folder is back', async () => {
    indexWithHeldA();
    deleteIndex();

    fs.renameSync(sandbox.front, `${sandbox.front}.away`);
    const second = open();
    await second.sweep();
    sandbox.close(second);
    // Restarted again while the NAS is still away: the hold waits in the new index, not in memory.
    const third = open();
    await third.sweep();
    fs.renameSync(`${sandbox.front}.away`, sandbox.front);
    const report = await third.sweep();

    expect(report.deleted.count).toBe(1);
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4']);
    expect(holdOf(third, 'Front', 'a.mp4')).toMatchObject({ protected: true, protectedBy: 'cli' });
  });

  test('a hold the index lost but the journal has (a power cut after the journal fsync, an index restored from a backup) holds again at the next start, with a warning', async () => {
    indexWithHeldA();
    // The index as it was before the hold: what a lost commit leaves.
    const db = new DatabaseSync(sandbox.databasePath);
    db.exec("UPDATE recordings SET protected = 0, protected_by = NULL, protected_at = NULL WHERE rel_path = 'a.mp4'");
    db.close();

    const log: string[] = [];
    const engine = sandbox.engine(buildConfig(sandbox, [{ name: 'Front', path: sandbox.front, retentionDays: 7 }]), {
      log: { ...quiet, warn: (line) => log.push(line) },
    });
    await engine.sweep();

    expect(filesBelow(sandbox.front)).toEqual(['a.mp4']);
    expect(log).toContain(
      '1 holds of the holds journal were missing from the index (a power cut, or an index from a backup); they hold again.',
    );
    expect(engine.store.recentEvents(10).map((event) => event.kind)).toContain('holds_restored');
  });

  test('an index made by an older version (no journal yet) writes its holds to a new journal when opened', async () => {
    indexWithHeldA();
    fs.rmSync(journalPathFor(sandbox.databasePath));

    sandbox.close(open());
    expect(fs.existsSync(journalPathFor(sandbox.databasePath))).toBe(true);
    deleteIndex();
    await open().sweep();
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4']);
  });
});

describe('the journal file', () => {
  /** a.mp4 held, after b.mp4 was held and released 600 times (1,200 appends); the engine closed. Returns the journal's line count. */
  function churnedJournal(): () => number {
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'b.mp4', { ageMs: 30 * DAY_MS });
    const engine = open();
    engine.scan();
    const a = idOf(engine, 'Front', 'a.mp4');
    const b = idOf(engine, 'Front', 'b.mp4');
    for (let i = 0; i < 600; i++) {
      engine.protect([b], 'cli');
      engine.unprotect([b]);
    }
    engine.protect([a], 'cli');
    sandbox.close(engine);
    const journal = journalPathFor(sandbox.databasePath);
    return () => fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;
  }

  test('grows by appends and is compacted by a snapshot while it runs and at the next start', () => {
    const lines = churnedJournal();
    // Compacted while the engine ran (past 1,000 lines), and again at the next start.
    expect(lines()).toBeLessThan(1000);
    expect(lines()).toBeGreaterThan(1);
    sandbox.close(open());
    expect(lines()).toBeLessThan(1000);
  });

  test('a torn last line (a crash mid-append) is skipped, and a hold appended after it is kept', async () => {
    churnedJournal();
    sandbox.close(open());
    fs.appendFileSync(journalPathFor(sandbox.databasePath), '{"op":"protect","camera":"Front","folder":"/x","paths":["b.m');
    writeRecording(sandbox.front, 'c.mp4', { ageMs: 30 * DAY_MS });
    const after = open();
    after.scan();
    // Appended after the torn line: it must not be glued to it and lost.
    after.protect([idOf(after, 'Front', 'c.mp4')], 'cli');
    sandbox.close(after);
    deleteIndex();
    await open().sweep();
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'c.mp4']);
  });

  test('a hold that cannot be journaled is not made: the caller gets the error and the index is unchanged', () => {
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    const engine = open();
    engine.scan();
    const journal = journalPathFor(sandbox.databasePath);
    // An immutable file cannot be opened for writing, even by root: a real EPERM from the kernel.
    execFileSync('chattr', ['+i', journal]);
    try {
      expect(() => engine.protect([idOf(engine, 'Front', 'a.mp4')], 'cli')).toThrow(/EPERM/);
    } finally {
      execFileSync('chattr', ['-i', journal]);
    }
    expect(holdOf(engine, 'Front', 'a.mp4')).toEqual({ protected: false, protectedBy: null, keepUntil: null });
  });
});
