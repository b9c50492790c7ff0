/**
 * databasePath migration (issue 6): when the config moves the index, the index and its holds
 * journal move with it (copy to `.part`, fsync, rename; the old one kept as `.migrated`), and a
 * crash at any step leaves a usable index at one of the two places. The crash states are made with
 * real files, each the state the move leaves when the process dies right after that step.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { EngineWorker } from '../src/retention/engine-worker.js';
import { RetentionEngine } from '../src/retention/engine.js';
import { journalPathFor } from '../src/store/journal.js';
import { locationFileIn } from '../src/store/recover.js';
import { buildConfig, DAY_MS, filesBelow, useSandbox, writeRecording } from './helpers/tree.js';

const WORKER = new URL('../dist/retention/worker.js', import.meta.url);
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** The camera folder `front` ("Front"), made anew for each test; writeRecording creates it. */
const sandbox = useSandbox('nvr-migration', ['front'], { createFolders: false });
/** Where the index starts: the sandbox's default path. */
const oldPath = () => sandbox.databasePath;
/** Where the config moves it. */
const newPath = () => join(sandbox.storage, 'moved', 'nvr.db');
const locationFile = () => locationFileIn(sandbox.storage);

function config(databasePath: string) {
  return buildConfig(sandbox, [{ name: 'Front', path: sandbox.front, retentionDays: 7 }], { databasePath });
}

function engineAt(databasePath: string, log = quiet): RetentionEngine {
  return new RetentionEngine(config(databasePath), { log, locationFile: locationFile() });
}

/** An index at the old path that knows a.mp4 (protected) and b.mp4, with a sweep behind it. */
function indexAtOldPath(): void {
  writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
  writeRecording(sandbox.front, 'b.mp4', { ageMs: 1 * DAY_MS });
  const engine = engineAt(oldPath());
  engine.scan();
  const a = engine.list({}, { limit: 10, offset: 0 }).find((row) => row.relPath === 'a.mp4')!;
  engine.protect([a.id], 'settings UI');
  engine.close();
  // Due by the time the moved index is used: only the hold keeps a.mp4, only the index knows of it.
  writeRecording(sandbox.front, 'c.mp4', { ageMs: 30 * DAY_MS });
}

/** What a user checks after the move: the hold is there, the rest is swept, and the index is the old one (its history kept). */
async function expectUsableAtNewPath(): Promise<void> {
  const engine = engineAt(newPath());
  try {
    expect(engine.store.opened.created).toBe(false);
    const report = await engine.sweep();
    expect(report.status).toBe('done');
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    expect(engine.store.recording(engine.list({}, { limit: 10, offset: 0 }).find((row) => row.relPath === 'a.mp4')!.id)).toMatchObject({
      protectedBy: 'settings UI',
    });
  } finally {
    engine.close();
  }
  expect(JSON.parse(fs.readFileSync(locationFile(), 'utf8'))).toEqual({ databasePath: newPath() });
  expect(fs.existsSync(`${oldPath()}.migrated`)).toBe(true);
  expect(fs.existsSync(oldPath())).toBe(false);
  expect(fs.existsSync(`${newPath()}.part`)).toBe(false);
  // The journal moved too: the moved index, deleted, comes back with its hold.
  for (const suffix of ['', '-wal', '-shm']) {
    fs.rmSync(`${newPath()}${suffix}`, { force: true });
  }
  const rebuilt = engineAt(newPath());
  await rebuilt.sweep();
  rebuilt.close();
  expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
}

describe('a changed databasePath', () => {
  describe('met by the Homebridge engine worker', () => {
    /** The index at the old path, then the worker started (and stopped) on a config naming the new one. Returns its info lines. */
    async function workerOnNewPath(): Promise<string[]> {
      indexAtOldPath();
      const lines: string[] = [];
      const worker = new EngineWorker(config(newPath()), { ...quiet, info: (line) => lines.push(line) }, WORKER, {
        locationFile: locationFile(),
      });
      await worker.status();
      await worker.stop();
      return lines;
    }

    test('the move is logged, naming both paths and the kept .migrated file', async () => {
      const lines = await workerOnNewPath();

      expect(lines).toContain(
        `databasePath changed: the index moved from ${oldPath()} to ${newPath()} (the old file is kept as ${oldPath()}.migrated).`,
      );
    });

    test('the holds journal moves with the index, the old one kept as .migrated', async () => {
      await workerOnNewPath();

      expect(fs.existsSync(journalPathFor(newPath()))).toBe(true);
      expect(fs.existsSync(`${journalPathFor(oldPath())}.migrated`)).toBe(true);
    });

    test('the index at the new path is the old one, holds and history kept', async () => {
      await workerOnNewPath();

      await expectUsableAtNewPath();
    });
  });

  test('an unchanged path moves nothing and leaves no .migrated behind', async () => {
    indexAtOldPath();
    const engine = engineAt(oldPath());
    engine.close();
    expect(fs.existsSync(`${oldPath()}.migrated`)).toBe(false);
    expect(JSON.parse(fs.readFileSync(locationFile(), 'utf8'))).toEqual({ databasePath: oldPath() });
  });
});

describe('a crash in the middle of the move leaves a usable index, and the next start finishes the move', () => {
  // The move's steps in order; the state after a crash in step k is steps 0..k done.
  const steps: [string, () => void][] = [
    [
      'after noting the move, before any copy',
      () => fs.writeFileSync(locationFile(), JSON.stringify({ databasePath: oldPath(), movingTo: newPath() })),
    ],
    [
      'during the copy of the index: a half-written .part',
      () => {
        fs.mkdirSync(join(sandbox.storage, 'moved'), { recursive: true });
        fs.copyFileSync(journalPathFor(oldPath()), journalPathFor(newPath()));
        const whole = fs.readFileSync(oldPath());
        fs.writeFileSync(`${newPath()}.part`, whole.subarray(0, whole.length / 2));
      },
    ],
    [
      'after the copy was renamed into place, before the old index was renamed',
      () => {
        fs.copyFileSync(oldPath(), `${newPath()}.part`);
        fs.renameSync(`${newPath()}.part`, newPath());
      },
    ],
    [
      'after the old journal was renamed, before the old index was',
      () => fs.renameSync(journalPathFor(oldPath()), `${journalPathFor(oldPath())}.migrated`),
    ],
    [
      'after the old index was renamed, before the location file named the new path',
      () => fs.renameSync(oldPath(), `${oldPath()}.migrated`),
    ],
  ];

  test.each(steps.map(([title], i) => [title, i] as const))('%s', async (_, crashedIn) => {
    indexAtOldPath();
    for (const [, step] of steps.slice(0, crashedIn + 1)) {
      step();
    }
    // Before the restart, one of the two places holds the whole index.
    const usable = [oldPath(), newPath()].filter((path) => fs.existsSync(path));
    expect(usable.length).toBeGreaterThan(0);
    await expectUsableAtNewPath();
  });

  test('an index found at the new path that the move did not make (an older version started there) is put aside, not preferred to the real one', async () => {
    indexAtOldPath();
    fs.mkdirSync(join(sandbox.storage, 'moved'), { recursive: true });
    new RetentionEngine(config(newPath()), { log: quiet }).close();

    await expectUsableAtNewPath();
    expect(fs.readdirSync(join(sandbox.storage, 'moved')).filter((name) => name.includes('.replaced-'))).toHaveLength(1);
  });
});
