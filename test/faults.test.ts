/**
 * Faults (issue 6): a damaged or deleted index, failing unlinks, a vanishing recordings folder, a
 * failing statfs, a full disk under the index, a write lock held by another process. Each is made
 * real where the kernel can be made to produce it (mounts, chattr, a child process); the one that is
 * injected says why. What is asserted is what a user would notice: log lines, event-log rows, the
 * files still on disk, and a sweep that goes on.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, test } from '@jest/globals';
import { runCli } from '../src/cli/main.js';
import { EngineWorker } from '../src/retention/engine-worker.js';
import { RetentionEngine } from '../src/retention/engine.js';
import type { DiskProbe } from '../src/retention/disk.js';
import type { Logger } from '../src/retention/logger.js';
import type { SweepReport } from '../src/retention/report.js';
import { locationFileIn } from '../src/store/recover.js';
import { buildConfig, type CameraInput, DAY_MS, filesBelow, useSandbox, writeRecording } from './helpers/tree.js';

const WORKER = new URL('../dist/retention/worker.js', import.meta.url);

let mounts: string[] = [];
/** The "Front" camera folder `sandbox.front`, made anew for each test. */
const sandbox = useSandbox('nvr-faults', ['front'], { beforeRemove: unmountAll });

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

const cameras = (overrides: Partial<CameraInput> = {}): CameraInput[] => [
  { name: 'Front', path: sandbox.front, retentionDays: 7, ...overrides },
];

function open(log: Logger = captureLog(), settings: Record<string, unknown> = {}, disk?: DiskProbe): RetentionEngine {
  return sandbox.engine(buildConfig(sandbox, cameras(), settings), { log, disk, locationFile: locationFileIn(sandbox.storage) });
}

function idOf(engine: RetentionEngine, relPath: string): number {
  const found = engine.list({}, { limit: 1000, offset: 0 }).find((row) => row.relPath === relPath);
  if (!found) {
    throw new Error(`${relPath} is not indexed`);
  }
  return found.id;
}

const kinds = (engine: RetentionEngine) => engine.store.recentEvents(50).map((event) => event.kind);
const corruptCopies = () => fs.readdirSync(sandbox.storage).filter((name) => name.includes('.corrupt-'));

/** Old recordings a..d, of which a is protected by hand and b kept until next week; then the engine is closed. */
function protectedTree(): void {
  for (const name of ['a', 'b', 'c', 'd']) {
    writeRecording(sandbox.front, `${name}.mp4`, { ageMs: 30 * DAY_MS });
  }
  const engine = open();
  engine.scan();
  engine.protect([idOf(engine, 'a.mp4')], 'settings UI');
  engine.protect([idOf(engine, 'b.mp4')], 'cli', Date.now() + 7 * DAY_MS);
  // Enough rows that the index has pages past the first, to damage one in the middle.
  for (let i = 0; i < 300; i++) {
    engine.store.addEvent({ time: Date.now(), camera: 'Front', kind: 'filler', severity: 'info', message: 'x'.repeat(200) });
  }
  sandbox.close(engine);
}

describe('a damaged or deleted index', () => {
  const damage: [string, (path: string) => void][] = [
    ['garbage written over the whole file', (path) => fs.writeFileSync(path, Buffer.alloc(64 * 1024, 0x5a))],
    ['the file truncated to half', (path) => fs.truncateSync(path, Math.floor(fs.statSync(path).size / 2))],
    [
      'a page in the middle overwritten (the header is fine, the check fails)',
      (path) => {
        const fd = fs.openSync(path, 'r+');
        fs.writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 4 * 4096);
        fs.closeSync(fd);
      },
    ],
    ['the file deleted', (path) => fs.rmSync(path)],
  ];

  describe.each(damage)('%s, met by an engine', (_, harm) => {
    /** The protected tree, its index harmed, then a sweep by a new engine. */
    async function sweepDamaged(): Promise<{ engine: RetentionEngine; report: SweepReport; log: CapturedLog; deleted: boolean }> {
      protectedTree();
      harm(sandbox.databasePath);
      const deleted = !fs.existsSync(sandbox.databasePath);

      const log = captureLog();
      const engine = open(log);
      return { engine, report: await engine.sweep(), log, deleted };
    }

    test('the damaged index is moved aside (if there is anything to move), with a clear error', async () => {
      const { engine, log, deleted } = await sweepDamaged();

      if (deleted) {
        expect(corruptCopies()).toEqual([]);
      } else {
        expect(corruptCopies()).toEqual([expect.stringMatching(/^index\.db\.corrupt-\d{4}-\d\d-\d\dT/)]);
        expect(log.lines.find((line) => line.startsWith('error:'))).toMatch(
          /^error: The index .*index\.db was damaged \(.+\); it was moved to .*index\.db\.corrupt-.* and a new one is built/,
        );
        expect(kinds(engine)).toContain('index_rebuilt');
      }
    });

    test('a new index is built from the folders, with the holds back', async () => {
      const { engine } = await sweepDamaged();

      expect(engine.store.recording(idOf(engine, 'a.mp4'))).toMatchObject({ protected: true, protectedBy: 'settings UI' });
      expect(kinds(engine)).toContain('holds_restored');
    });

    test('the sweep completes and deletes nothing held', async () => {
      const { report } = await sweepDamaged();

      expect(report.status).toBe('done');
      expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    });
  });

  test.each(damage)(
    '%s, met by the CLI (no check at open): at most one failed run, then the index is rebuilt, holds back, nothing held deleted',
    async (_, harm) => {
      protectedTree();
      harm(sandbox.databasePath);
      const configFile = join(sandbox.storage, 'config.json');
      fs.writeFileSync(
        configFile,
        JSON.stringify({ platforms: [{ platform: 'NvrRetention', databasePath: sandbox.databasePath, cameras: cameras() }] }),
      );
      const sweep = async () => {
        const out: string[] = [];
        const code = await runCli(['sweep', '--config', configFile], {
          out: (text) => out.push(text),
          err: (text) => out.push(text),
          cwd: sandbox.storage,
        });
        return { code, out: out.join('\n') };
      };

      const runs = [await sweep()];
      if (runs[0].code !== 0) {
        expect(runs[0].out).toMatch(/malformed|not a database|damaged/);
        runs.push(await sweep());
      }

      expect(runs.at(-1)).toMatchObject({ code: 0, out: expect.stringMatching(/Sweep deleted 2 recordings/) });
      expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    },
  );

  test('deleted while in use: the next sweep notices, opens a new index (seen by the CLI too), and the holds come back', async () => {
    protectedTree();
    const log = captureLog();
    const engine = open(log);
    for (const suffix of ['', '-wal', '-shm']) {
      fs.rmSync(`${sandbox.databasePath}${suffix}`, { force: true });
    }

    const report = await engine.sweep();

    expect(report.deleted.count).toBe(2);
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    expect(log.lines).toContain(
      `warn: The index ${sandbox.databasePath} was deleted or replaced while in use; it is opened again (a new one is built from the camera folders).`,
    );
    // Another process opening the configured path finds the index the sweep wrote.
    const other = new DatabaseSync(sandbox.databasePath);
    const protectedRows = other.prepare('SELECT rel_path FROM recordings WHERE protected = 1').all();
    other.close();
    expect(protectedRows).toEqual([{ rel_path: 'a.mp4' }]);
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
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    expect(log.lines.some((line) => /^error: The index .* was damaged/.test(line))).toBe(true);
  });

  test('an index that cannot be opened at all (its folder is a file): the engine worker rejects the call with the reason, nothing throws in the calling thread', async () => {
    const notAFolder = join(sandbox.storage, 'not-a-folder');
    fs.writeFileSync(notAFolder, '');
    const worker = new EngineWorker(buildConfig(sandbox, cameras(), { databasePath: join(notAFolder, 'index.db') }), captureLog(), WORKER);
    try {
      await expect(worker.status()).rejects.toThrow(/EEXIST: file already exists, mkdir/);
      await expect(worker.sweep({ trigger: 'test' })).rejects.toThrow(/engine (stopped|is not running)/);
    } finally {
      await worker.stop();
    }
  });

  test('damage found while running (a sweep hits a malformed page): the index is moved aside and the next sweep rebuilds it', async () => {
    protectedTree();
    const log = captureLog();
    const engine = open(log);
    await engine.sweep();
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    for (const name of ['e', 'f']) {
      writeRecording(sandbox.front, `${name}.mp4`, { ageMs: 30 * DAY_MS });
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
    expect(filesBelow(sandbox.front)).toEqual(['a.mp4', 'b.mp4']);
    expect(corruptCopies()).toHaveLength(1);
    expect(log.lines.some((line) => /^error: The index .* was damaged/.test(line))).toBe(true);
  });
});

// ---- failing unlinks ---------------------------------------------------------------------------

/**
 * The contract for an unlink that fails (rules §3.7): the recording and its row stay, the failure is
 * logged with the path and kept as a delete_failed row, the rest is deleted, the next sweep tries
 * again (and ends: one failure, no loop), and once the cause is gone the recording goes.
 */
async function expectUnlinkFailureHandled(blocked: string, code: RegExp, unblock: () => void): Promise<void> {
  writeRecording(sandbox.front, 'free/ok.mp4', { ageMs: 30 * DAY_MS });
  const log = captureLog();
  const engine = open(log);

  for (const attempt of [1, 2]) {
    const report = await engine.sweep();
    expect(report.status).toBe('done');
    expect(report.failures).toEqual([{ camera: 'Front', path: join(sandbox.front, blocked), error: expect.stringMatching(code) }]);
    expect(report.deleted.count).toBe(attempt === 1 ? 1 : 0);
    expect(fs.existsSync(join(sandbox.front, blocked))).toBe(true);
    expect(engine.list({}, { limit: 10, offset: 0 }).map((row) => row.relPath)).toEqual([blocked]);
  }
  expect(engine.store.recentEvents(10).filter((event) => event.kind === 'delete_failed')).toHaveLength(2);
  expect(log.lines.filter((line) => line.startsWith('warn:') && line.includes(join(sandbox.front, blocked)))).toHaveLength(2);
  expect(engine.store.interruptedDeletes()).toEqual([]);

  unblock();
  const last = await engine.sweep();
  expect(last.failures).toEqual([]);
  expect(filesBelow(sandbox.front)).toEqual([]);
  expect(engine.list({}, { limit: 10, offset: 0 })).toEqual([]);
}

describe('an unlink that fails', () => {
  test('EPERM: an immutable folder (chattr +i, which binds root too)', async () => {
    writeRecording(sandbox.front, 'held/a.mp4', { ageMs: 30 * DAY_MS });
    const folder = join(sandbox.front, 'held');
    execFileSync('chattr', ['+i', folder]);
    try {
      await expectUnlinkFailureHandled('held/a.mp4', /EPERM/, () => execFileSync('chattr', ['-i', folder]));
    } finally {
      if (fs.existsSync(folder)) {
        execFileSync('chattr', ['-i', folder]);
      }
    }
  });

  test('EROFS: the recordings tmpfs remounted read-only', async () => {
    mountTmpfs(sandbox.front, '4m');
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    mount('-o', 'remount,ro', sandbox.front);
    await expectUnlinkFailureHandledOnMount(() => mount('-o', 'remount,rw', sandbox.front));
  });

  test('EBUSY: a recording that is a mount point (a file bind-mounted over it)', async () => {
    const when = new Date(Date.now() - 30 * DAY_MS);
    writeRecording(sandbox.front, 'busy/a.mp4', { ageMs: 30 * DAY_MS });
    const source = join(sandbox.root, 'source.mp4');
    fs.writeFileSync(source, Buffer.alloc(1000, 1));
    fs.utimesSync(source, when, when);
    fs.utimesSync(join(sandbox.front, 'busy/a.mp4'), when, when);
    mount('--bind', source, join(sandbox.front, 'busy/a.mp4'));
    mounts.push(join(sandbox.front, 'busy/a.mp4'));
    await expectUnlinkFailureHandled('busy/a.mp4', /EBUSY/, unmountAll);
  });

  test('EACCES: the sweep run by an unprivileged user (the CLI as "nobody") on a folder it may not write', async () => {
    writeRecording(sandbox.front, 'theirs/a.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'mine/b.mp4', { ageMs: 30 * DAY_MS });
    const configFile = join(sandbox.storage, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ platform: 'NvrRetention', databasePath: sandbox.databasePath, cameras: cameras() }));
    // Everything is the unprivileged user's except the folder "theirs" (root's, 0755).
    execFileSync('chown', ['-R', 'nobody:nogroup', sandbox.root, sandbox.storage]);
    execFileSync('chown', ['root:root', join(sandbox.front, 'theirs')]);
    const sweepAsNobody = () => runAsNobody(['sweep', '--json', '--config', configFile]);

    const first = JSON.parse(sweepAsNobody()) as { failures: { path: string; error: string }[]; deleted: { count: number } };
    const second = JSON.parse(sweepAsNobody()) as typeof first;

    expect(first.deleted.count).toBe(1);
    expect(first.failures).toEqual([
      { camera: 'Front', path: join(sandbox.front, 'theirs/a.mp4'), error: expect.stringMatching(/^EACCES/) },
    ]);
    expect(second.failures).toHaveLength(1);
    expect(filesBelow(sandbox.front)).toEqual(['theirs/a.mp4']);
    const engine = open();
    expect(engine.list({}, { limit: 10, offset: 0 }).map((row) => row.relPath)).toEqual(['theirs/a.mp4']);
    expect(engine.store.recentEvents(10).filter((event) => event.kind === 'delete_failed')).toHaveLength(2);
  });
});

/** The EROFS case: the blocked recording is the camera's only one, on the read-only mount. */
async function expectUnlinkFailureHandledOnMount(unblock: () => void): Promise<void> {
  const log = captureLog();
  const engine = open(log);
  for (let attempt = 0; attempt < 2; attempt++) {
    const report = await engine.sweep();
    expect(report.status).toBe('done');
    expect(report.failures).toEqual([{ camera: 'Front', path: join(sandbox.front, 'a.mp4'), error: expect.stringMatching(/^EROFS/) }]);
  }
  expect(fs.existsSync(join(sandbox.front, 'a.mp4'))).toBe(true);
  expect(engine.store.recentEvents(10).filter((event) => event.kind === 'delete_failed')).toHaveLength(2);
  unblock();
  expect((await engine.sweep()).deleted.count).toBe(1);
  expect(filesBelow(sandbox.front)).toEqual([]);
}

/** Runs the built CLI in a child process that drops to uid/gid nobody before it touches any file; returns its standard output. */
function runAsNobody(args: string[]): string {
  const cli = new URL('../dist/cli/main.js', import.meta.url).href;
  const script = `
    const { runCli } = await import(${JSON.stringify(cli)});
    process.setgid(65534);
    process.setuid(65534);
    const out = [];
    process.exitCode = await runCli(${JSON.stringify(args)}, { out: (t) => out.push(t), err: (t) => process.stderr.write(t + '\\n'), cwd: '/' });
    process.stdout.write(out.join('\\n'));`;
  // Exit code 1: the sweep had failures, which is the point here.
  return spawnSync(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], { encoding: 'utf8' }).stdout;
}

function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  mount('-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir);
  mounts.push(dir);
}

// ---- the recordings folder goes away -----------------------------------------------------------

describe('the recordings folder goes away', () => {
  /** The camera folder as a NAS share: the files live in `nas` (its own tmpfs), mounted at the camera folder. */
  function nasMountedAtFront(): string {
    const nas = join(sandbox.root, 'nas');
    mountTmpfs(nas, '16m');
    mount('--bind', nas, sandbox.front);
    mounts.push(sandbox.front);
    return nas;
  }

  test('unmounted mid-sweep: the sweep deletes nothing more, the camera is unavailable at once, and the next sweep finds it unavailable too', async () => {
    const nas = nasMountedAtFront();
    for (let i = 0; i < 120; i++) {
      // Some in the camera folder itself (whose mount point stays as an empty folder), some in day folders.
      writeRecording(sandbox.front, `${i % 3 === 0 ? '' : `day-${i % 3}/`}rec-${String(i).padStart(3, '0')}.mp4`, {
        ageMs: (30 + i / 100) * DAY_MS,
      });
    }
    writeRecording(sandbox.front, 'day-0/evidence.mp4', { ageMs: 40 * DAY_MS });
    const log = captureLog();
    const engine = open(log);
    engine.scan();
    engine.protect([idOf(engine, 'day-0/evidence.mp4')], 'settings UI');

    let deletedBeforeUnmount = -1;
    const report = await engine.sweep({
      batchSize: 30,
      onProgress: (progress) => {
        if (deletedBeforeUnmount < 0) {
          deletedBeforeUnmount = progress.deletedCount;
          execFileSync('umount', ['-l', sandbox.front]);
          mounts.splice(mounts.indexOf(sandbox.front), 1);
        }
      },
    });

    expect(deletedBeforeUnmount).toBe(30);
    expect(report.deleted.count).toBe(30);
    expect(filesBelow(nas)).toHaveLength(91);
    expect(fs.existsSync(join(nas, 'day-0/evidence.mp4'))).toBe(true);
    // The empty mount point is not the folder the scan saw: the camera is unavailable at once (issue 11), one event, no failures.
    expect(report.failures).toEqual([]);
    expect(report.events.filter((event) => event.kind === 'camera_unavailable')).toEqual([
      expect.objectContaining({ camera: 'Front', reason: expect.stringMatching(/replaced/) }),
    ]);
    expect(engine.list({}, { limit: 1000, offset: 0 })).toHaveLength(91);

    const next = await engine.sweep();
    expect(next.deleted.count).toBe(0);
    expect(next.cameras).toEqual([expect.objectContaining({ name: 'Front', available: false })]);
    expect(next.events).toEqual([expect.objectContaining({ kind: 'camera_unavailable' })]);
    expect(log.lines.some((line) => line.startsWith('warn: [Front] camera unavailable'))).toBe(true);

    // The share is back: the rest is due and goes, the evidence stays.
    mount('--bind', nas, sandbox.front);
    mounts.push(sandbox.front);
    const back = await engine.sweep();
    expect(back.deleted.count).toBe(90);
    expect(filesBelow(nas)).toEqual(['day-0/evidence.mp4']);
  });

  test('an empty mount point (the NAS is not mounted at start): unavailable, nothing deleted, its holds kept', async () => {
    nasMountedAtFront();
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'b.mp4', { ageMs: 1 * DAY_MS });
    const engine = open();
    engine.scan();
    engine.protect([idOf(engine, 'b.mp4')], 'cli');
    unmountAll();
    fs.mkdirSync(sandbox.front, { recursive: true });

    const report = await engine.sweep();

    expect(report.deleted.count).toBe(0);
    expect(report.events).toEqual([expect.objectContaining({ kind: 'camera_unavailable', camera: 'Front' })]);
    expect(engine.store.recording(idOf(engine, 'b.mp4'))).toMatchObject({ protected: true });
    expect(engine.list({}, { limit: 10, offset: 0 })).toHaveLength(2);
  });
});

// ---- statfs, a full disk under the index, a busy index -----------------------------------------

describe('the disk and the index', () => {
  test('statfs fails (injected: the kernel does not fail statfs on a mounted folder; a dead NAS hangs it instead): the floor is skipped with a warning, age rules still delete', async () => {
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'b.mp4', { ageMs: 1 * DAY_MS });
    const failingStatfs: DiskProbe = {
      filesystemOf: (path) => String(fs.statSync(path).dev),
      measure: () => {
        throw Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' });
      },
    };
    const log = captureLog();
    const engine = open(log, { minFreeGB: 1_000_000 }, failingStatfs);

    const report = await engine.sweep();

    expect(report.status).toBe('done');
    expect(report.byReason.age.count).toBe(1);
    expect(report.byReason.floor.count).toBe(0);
    expect(filesBelow(sandbox.front)).toEqual(['b.mp4']);
    expect(report.events).toEqual([expect.objectContaining({ kind: 'statfs_failed', severity: 'warning' })]);
    expect(engine.store.recentEvents(5).map((event) => event.kind)).toContain('statfs_failed');
    expect(log.lines.some((line) => line.startsWith('warn:') && line.includes('the free-space floor is skipped'))).toBe(true);
  });

  describe('the disk under the index fills up during a sweep', () => {
    // Free the disk before useSandbox closes the engines: closing one whose index cannot be written
    // throws (its sweep lock row cannot be deleted), and a test that ends with the disk full would fail on it.
    afterEach(() => fs.rmSync(join(sandbox.storage, 'small', 'filler'), { force: true }));

    /**
     * The index on a 1 MB tmpfs, 200 due recordings and one young one; the disk is filled once the
     * sweep has begun. Returns the engine, its log, how the sweep ended, and the filler file.
     */
    async function sweepUntilFull(): Promise<{ engine: RetentionEngine; log: CapturedLog; outcome: string; filler: string }> {
      const disk = join(sandbox.storage, 'small');
      mountTmpfs(disk, '1m');
      const databasePath = join(disk, 'index.db');
      for (let i = 0; i < 200; i++) {
        writeRecording(sandbox.front, `day-${i % 4}/rec-${String(i).padStart(3, '0')}.mp4`, { ageMs: (30 + i / 1000) * DAY_MS });
      }
      writeRecording(sandbox.front, 'keep.mp4', { ageMs: 1 * DAY_MS });
      const log = captureLog();
      const engine = open(log, { databasePath });
      const filler = join(disk, 'filler');
      const fillDisk = () => {
        try {
          fs.writeFileSync(filler, Buffer.alloc(2_000_000));
        } catch {
          // ENOSPC: the disk is full now, which is the point.
        }
      };

      const outcome = await engine.sweep({ batchSize: 40, onProgress: () => fs.existsSync(filler) || fillDisk() }).then(
        (report) => `${report.status}: ${report.error}`,
        (error: Error) => `rejected: ${error.message}`,
      );
      return { engine, log, outcome, filler };
    }

    test('the sweep ends with a clear error, logged, and no crash', async () => {
      const { log, outcome } = await sweepUntilFull();

      expect(outcome).toMatch(/^(failed|rejected): database or disk is full/);
      expect(log.lines.some((line) => line.startsWith('error:') && /disk is full/.test(line))).toBe(true);
    });

    test('no file is deleted whose row could not go', async () => {
      const { engine } = await sweepUntilFull();

      // Every recording gone from disk is out of the index, or marked as being deleted (finished by the next sweep).
      const marked = new Set(engine.store.interruptedDeletes().map((row) => row.relPath));
      const onDisk = new Set(filesBelow(sandbox.front));
      const dangling = engine.list({}, { limit: 1000, offset: 0 }).filter((row) => !onDisk.has(row.relPath) && !marked.has(row.relPath));
      expect(dangling).toEqual([]);
      expect(onDisk.has('keep.mp4')).toBe(true);
    });

    test('while it is still full, the next sweep fails the same way and all is well once there is space', async () => {
      const { engine, filler } = await sweepUntilFull();

      // Still full: the next sweep fails the same way, and does not find itself locked out.
      await expect(engine.sweep()).rejects.toThrow(/disk is full/);

      fs.rmSync(filler);
      const report = await engine.sweep();
      expect(report.status).toBe('done');
      expect(filesBelow(sandbox.front)).toEqual(['keep.mp4']);
      expect(engine.list({}, { limit: 1000, offset: 0 }).map((row) => row.relPath)).toEqual(['keep.mp4']);
      expect(engine.store.recentEvents(20).map((event) => event.kind)).toContain('sweep_failed');
    });
  });

  test('another process holds the index write lock for 10 s (BEGIN IMMEDIATE): the sweep waits for it within the busy timeout and completes', async () => {
    writeRecording(sandbox.front, 'a.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(sandbox.front, 'b.mp4', { ageMs: 1 * DAY_MS });
    const engine = open();
    engine.scan();
    const holder = spawn(
      process.execPath,
      [
        '--no-warnings',
        '-e',
        `
      const { DatabaseSync } = require('node:sqlite');
      const db = new DatabaseSync(${JSON.stringify(sandbox.databasePath)});
      db.exec('BEGIN IMMEDIATE');
      db.exec("INSERT INTO plugin_state (key, value) VALUES ('held by', 'another process')");
      process.stdout.write('locked\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000);
      db.exec('COMMIT');
      db.close();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));

    const report = await engine.sweep();
    const holderCode = await exited;

    expect(holderCode).toBe(0);
    expect(report.status).toBe('done');
    expect(filesBelow(sandbox.front)).toEqual(['b.mp4']);
    // Both writers got their turn: the other process's row is there too.
    expect(engine.store.getState('held by')).toBe('another process');
  }, 60_000);
});
