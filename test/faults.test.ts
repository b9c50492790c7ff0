/**
 * Faults (issue 6): a damaged or deleted index, failing unlinks, a vanishing recordings folder, a
 * failing statfs, a full disk under the index, a write lock held by another process. Each is made
 * real where the kernel can be made to produce it (mounts, chattr, a child process); the one that is
 * injected says why. What is asserted is what a user would notice: log lines, event-log rows, the
 * files still on disk, and a sweep that goes on.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { EngineWorker } from '../src/retention/engine-worker.js';
import { RetentionEngine } from '../src/retention/engine.js';
import type { DiskProbe } from '../src/retention/disk.js';
import type { Logger } from '../src/retention/sweep.js';
import { locationFileIn } from '../src/store/recover.js';
import { buildConfig, type CameraInput, DAY_MS, filesBelow, makeSandbox, type Sandbox, writeRecording } from './helpers/tree.js';

const WORKER = new URL('../dist/retention/worker.js', import.meta.url);

let sandbox: Sandbox;
let front: string;
let mounts: string[] = [];
const engines: RetentionEngine[] = [];

beforeEach(() => {
  sandbox = makeSandbox('nvr-faults');
  front = join(sandbox.root, 'front');
  fs.mkdirSync(front);
});

afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.close();
  }
  unmountAll();
  sandbox.remove();
});

function mount(...args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

function unmountAll(): void {
  for (const dir of mounts.reverse()) {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
  mounts = [];
}

interface CapturedLog extends Logger {
  lines: string[];
}

function captureLog(): CapturedLog {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { lines, info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') };
}

const cameras = (overrides: Partial<CameraInput> = {}): CameraInput[] => [{ name: 'Front', path: front, retentionDays: 7, ...overrides }];

function open(log: Logger = captureLog(), settings: Record<string, unknown> = {}, disk?: DiskProbe): RetentionEngine {
  const engine = new RetentionEngine(buildConfig(sandbox, cameras(), settings), { log, disk, locationFile: locationFileIn(sandbox.storage) });
  engines.push(engine);
  return engine;
}

function close(engine: RetentionEngine): void {
  engine.close();
  engines.splice(engines.indexOf(engine), 1);
}

function idOf(engine: RetentionEngine, relPath: string): number {
  const found = engine.list({}, { limit: 1000, offset: 0 }).find((row) => row.relPath === relPath);
  if (!found) throw new Error(`${relPath} is not indexed`);
  return found.id;
}

const kinds = (engine: RetentionEngine) => engine.store.recentEvents(50).map((event) => event.kind);
const corruptCopies = () => fs.readdirSync(sandbox.storage).filter((name) => name.includes('.corrupt-'));

/** Old recordings a..d, of which a is protected by hand and b kept until next week; then the engine is closed. */
function protectedTree(): void {
  for (const name of ['a', 'b', 'c', 'd']) {
    writeRecording(front, `${name}.mp4`, { ageMs: 30 * DAY_MS });
  }
  const engine = open();
  engine.scan();
  engine.protect([idOf(engine, 'a.mp4')], 'settings UI');
  engine.protect([idOf(engine, 'b.mp4')], 'cli', Date.now() + 7 * DAY_MS);
  // Enough rows that the index has pages past the first, to damage one in the middle.
  for (let i = 0; i < 300; i++) {
    engine.store.addEvent({ time: Date.now(), camera: 'Front', kind: 'filler', severity: 'info', message: 'x'.repeat(200) });
  }
  close(engine);
}

describe('a damaged or deleted index', () => {
  const damage: [string, (path: string) => void][] = [
    ['garbage written over the whole file', (path) => fs.writeFileSync(path, Buffer.alloc(64 * 1024, 0x5a))],
    ['the file truncated to half', (path) => fs.truncateSync(path, Math.floor(fs.statSync(path).size / 2))],
    ['a page in the middle overwritten (the header is fine, the check fails)', (path) => {
      const fd = fs.openSync(path, 'r+');
      fs.writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 4 * 4096);
      fs.closeSync(fd);
    }],
    ['the file deleted', (path) => fs.rmSync(path)],
  ];

  test.each(damage)('%s: moved aside (if there is anything to move), a clear error, a new index from the folders, holds back, nothing held deleted', async (_, harm) => {
    protectedTree();
    harm(sandbox.databasePath);
    const deleted = !fs.existsSync(sandbox.databasePath);

    const log = captureLog();
    const engine = open(log);
    const report = await engine.sweep();

    expect(report.status).toBe('done');
    expect(filesBelow(front)).toEqual(['a.mp4', 'b.mp4']);
    expect(engine.store.recording(idOf(engine, 'a.mp4'))).toMatchObject({ protected: true, protectedBy: 'settings UI' });
    if (deleted) {
      expect(corruptCopies()).toEqual([]);
    } else {
      expect(corruptCopies()).toEqual([expect.stringMatching(/^index\.db\.corrupt-\d{4}-\d\d-\d\dT/)]);
      expect(log.lines.find((line) => line.startsWith('error:'))).toMatch(/^error: The index .*index\.db was damaged \(.+\); it was moved to .*index\.db\.corrupt-.* and a new one is built/);
      expect(kinds(engine)).toContain('index_rebuilt');
    }
    expect(kinds(engine)).toContain('holds_restored');
  });

  test('in the engine worker the plugin runs, the Homebridge thread never sees an exception, and the rebuilt index sweeps', async () => {
    protectedTree();
    fs.writeFileSync(sandbox.databasePath, 'this is not an SQLite file');
    const log = captureLog();
    const worker = new EngineWorker(buildConfig(sandbox, cameras()), log, WORKER, { locationFile: locationFileIn(sandbox.storage) });
    try {
      const status = await worker.status();
      const report = await worker.sweep({ trigger: 'test' });
      expect(status.cameras[0].name).toBe('Front');
      expect(report.status).toBe('done');
      expect(report.deleted.count).toBe(2);
    } finally {
      await worker.stop();
    }
    expect(filesBelow(front)).toEqual(['a.mp4', 'b.mp4']);
    expect(log.lines.some((line) => /^error: The index .* was damaged/.test(line))).toBe(true);
  });

  test('damage found while running (a sweep hits a malformed page): the index is moved aside and the next sweep rebuilds it', async () => {
    protectedTree();
    const log = captureLog();
    const engine = open(log);
    await engine.sweep();
    expect(filesBelow(front)).toEqual(['a.mp4', 'b.mp4']);
    for (const name of ['e', 'f']) {
      writeRecording(front, `${name}.mp4`, { ageMs: 30 * DAY_MS });
    }
    // Damage every page after the first two under the running engine, as a failing disk would.
    const size = fs.statSync(sandbox.databasePath).size;
    engine.store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    // Another process's write (the CLI, say) makes the engine read pages from the file again, not its cache.
    const other = new DatabaseSync(sandbox.databasePath);
    other.exec("INSERT INTO plugin_state (key, value) VALUES ('touched', 'yes')");
    other.close();
    const fd = fs.openSync(sandbox.databasePath, 'r+');
    fs.writeSync(fd, Buffer.alloc(size - 2 * 4096, 0xee), 0, size - 2 * 4096, 2 * 4096);
    fs.closeSync(fd);

    const failed = await engine.sweep().catch((error: unknown) => error);
    const report = await engine.sweep();

    expect(failed).toMatchObject({ message: expect.stringMatching(/malformed/) });
    expect(report.status).toBe('done');
    expect(filesBelow(front)).toEqual(['a.mp4', 'b.mp4']);
    expect(corruptCopies()).toHaveLength(1);
    expect(log.lines.some((line) => /^error: The index .* was damaged/.test(line))).toBe(true);
  });
});
