/**
 * Issue 6, hostile files: what a camera folder can really hold, scanned and swept by the CLI
 * (dist/cli/main.js) in a process of its own, so that a FIFO opened by mistake shows up as a hung
 * sweep that the test ends, not as a hung test. Real files, links, a FIFO and a character device
 * (mknod: the tests run as root), real mtimes.
 *
 * Decisions the tests pin down: special files and links are not recordings (never opened, never
 * deleted); a file whose mtime is in the future (a camera with a wrong clock) counts as in progress,
 * so no phase deletes it, not age, not quota; a file still being written is in progress too.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import {
  buildConfig,
  DAY_MS,
  filesBelow,
  foldersBelow,
  HOUR_MS,
  MINUTE_MS,
  setAge,
  settleFolders,
  useSandbox,
  writeRecording,
} from './helpers/tree.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
/** Only a guard against a sweep that hangs on a FIFO; a healthy sweep here takes a second or two. */
const HANG_GUARD_MS = 120_000;
const OLD = 30 * DAY_MS;
const YOUNG = HOUR_MS;

/** The camera folder `cam` and a folder `outside` any camera, made anew for each test. */
const sandbox = useSandbox('nvr-hostile', ['cam', 'outside']);

interface SweepOutcome {
  report: { status: string; deleted: { count: number }; failures: unknown[]; events: { kind: string; [detail: string]: unknown }[] };
  stderr: string;
}

/** `nvr-retention sweep --json` on a config with the given cameras; fails if the sweep hangs. */
function sweep(cameras: Record<string, unknown>[]): Promise<SweepOutcome> {
  return cli('sweep', cameras);
}

/** `nvr-retention <command> --json` on a config with the given cameras; fails if the command hangs. */
function cli(command: string, cameras: Record<string, unknown>[]): Promise<SweepOutcome> {
  const configFile = join(sandbox.storage, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ platform: 'NvrRetention', cameras, databasePath: sandbox.databasePath }));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, command, '--json', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: HANG_GUARD_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal) {
        reject(new Error(`the sweep hung and was ended (${signal}); a special file was opened? ${stderr}`));
      } else if (code !== 0) {
        reject(new Error(`the sweep exited with ${code}: ${stderr}${stdout}`));
      } else {
        resolve({ report: JSON.parse(stdout) as SweepOutcome['report'], stderr });
      }
    });
  });
}

/** Indexed recordings of every camera, as '/'-separated paths relative to the camera folder. */
function indexed(): string[] {
  const db = new DatabaseSync(sandbox.databasePath, { readOnly: true });
  try {
    return (db.prepare('SELECT rel_path AS relPath FROM recordings ORDER BY rel_path').all() as { relPath: string }[]).map(
      (row) => row.relPath,
    );
  } finally {
    db.close();
  }
}

function snapshot(dir: string): Map<string, { content: Buffer; mtimeMs: number }> {
  return new Map(
    filesBelow(dir).map((rel) => {
      const file = join(dir, rel);
      return [rel, { content: fs.readFileSync(file), mtimeMs: fs.lstatSync(file).mtimeMs }];
    }),
  );
}

const sorted = (names: string[]) => [...names].sort();

describe('names', () => {
  const NAMES = [
    'with spaces and  two.mp4',
    ' leading and trailing space .mp4',
    'unicode-é-日本-🎥.mp4',
    'cafe\u0301-nfd.mp4', // the same letters as below in decomposed form: two different files
    'caf\u00e9-nfd.mp4',
    'line\nbreak.mp4',
    'tab\there.mkv',
    'quote\'"; DROP TABLE recordings;--.mp4',
    'glob*?[x]{a,b}.mp4',
    '-rf --no-preserve-root.mp4',
    'back\\slash%20.mp4',
    `${'a'.repeat(250)}.mp4`, // its sidecar name is 255 bytes, the most a Linux file name may have
    `${'é'.repeat(125)}.mp4`, // 254 bytes in UTF-8
  ];

  test('odd names are indexed as they are; the old ones go with their sidecars, the young ones stay', async () => {
    for (const name of NAMES) {
      writeRecording(sandbox.cam, `old/${name}`, { ageMs: OLD, sidecars: { json: '{}' } });
      writeRecording(sandbox.cam, `young/${name}`, { ageMs: YOUNG, sidecars: { json: '{}' } });
    }
    writeRecording(sandbox.cam, 'old/.hidden-old.mp4', { ageMs: OLD });

    const { report } = await sweep([{ name: 'Odd', path: sandbox.cam, retentionDays: 7 }]);

    expect(report.failures).toEqual([]);
    expect(report.deleted.count).toBe(NAMES.length);
    const young = NAMES.map((name) => `young/${name}`);
    expect(indexed()).toEqual(sorted(young));
    expect(filesBelow(sandbox.cam)).toEqual(
      sorted([...young, ...young.map((name) => name.replace(/\.(mp4|mkv)$/, '.json')), 'old/.hidden-old.mp4']),
    );
  });

  test('names that are not UTF-8 cannot be handled: they are kept, and a warning says so', async () => {
    // Bytes as an old NVR writing Latin-1 might leave them: "Einfahrt-ä" with ä as 0xE4.
    const latin1 = (name: string) => Buffer.concat([Buffer.from(`${sandbox.cam}/`), Buffer.from(name, 'latin1')]);
    fs.writeFileSync(latin1('Einfahrt-\u00e4.mp4'), 'x');
    fs.writeFileSync(latin1('Einfahrt-\u00e4.json'), '{}');
    fs.mkdirSync(latin1('Gel\u00e4nde'));
    fs.writeFileSync(Buffer.concat([latin1('Gel\u00e4nde'), Buffer.from('/old.mp4')]), 'x');
    writeRecording(sandbox.cam, 'fine.mp4', { ageMs: OLD });
    const oldDate = new Date(Date.now() - OLD);
    for (const name of ['Einfahrt-\u00e4.mp4', 'Einfahrt-\u00e4.json', 'Gel\u00e4nde']) {
      fs.utimesSync(latin1(name), oldDate, oldDate);
    }
    const before = fs.readdirSync(sandbox.cam, { encoding: 'buffer' }).length;

    const { report, stderr } = await sweep([{ name: 'Latin1', path: sandbox.cam, retentionDays: 7 }]);

    expect(report.deleted.count).toBe(1);
    expect(fs.readdirSync(sandbox.cam, { encoding: 'buffer' }).length).toBe(before - 1);
    expect(fs.existsSync(Buffer.concat([latin1('Gel\u00e4nde'), Buffer.from('/old.mp4')]))).toBe(true);
    const warning = report.events.find((event) => event.kind === 'unreadable_names');
    expect(warning).toMatchObject({ camera: 'Latin1', severity: 'warning', count: 3 });
    expect(stderr).toMatch(/Warning: \[Latin1\] 3 file or folder names cannot be used/);
    const db = new DatabaseSync(sandbox.databasePath, { readOnly: true });
    try {
      expect(db.prepare("SELECT camera, severity FROM events WHERE kind = 'unreadable_names'").all()).toEqual([
        { camera: 'Latin1', severity: 'warning' },
      ]);
    } finally {
      db.close();
    }
  });
});

describe('trees and links', () => {
  test('a 100-deep tree is walked to the bottom: the old recording there goes, the young one stays', async () => {
    const deep = Array.from({ length: 100 }, (_, i) => `d${i}`).join('/');
    writeRecording(sandbox.cam, `${deep}/old.mp4`, { ageMs: OLD });
    writeRecording(sandbox.cam, `${deep}/x/young.mp4`, { ageMs: YOUNG });
    writeRecording(sandbox.cam, `${deep.split('/').slice(0, 50).join('/')}/old-mid.mp4`, { ageMs: OLD });

    const { report } = await sweep([{ name: 'Deep', path: sandbox.cam, retentionDays: 7 }]);

    expect(report.failures).toEqual([]);
    expect(report.deleted.count).toBe(2);
    expect(filesBelow(sandbox.cam)).toEqual([`${deep}/x/young.mp4`]);
    expect(indexed()).toEqual([`${deep}/x/young.mp4`]);
  });

  test('a tree deeper than the longest path the system allows is kept and reported; the rest of the camera is still swept', async () => {
    writeRecording(sandbox.cam, 'old.mp4', { ageMs: OLD });
    // 90 folders of 61 characters: about 5,500 bytes, past Linux's 4,096. Only relative steps reach the bottom.
    const steps = `process.chdir(${JSON.stringify(sandbox.cam)});
      for (let i = 10; i < 100; i++) { fs.mkdirSync('f'.repeat(59) + i); process.chdir('f'.repeat(59) + i); }
      fs.writeFileSync('deep.mp4', 'x');
      const old = new Date(Date.now() - ${OLD}); fs.utimesSync('deep.mp4', old, old);`;
    execFileSync(process.execPath, ['-e', `const fs = require('node:fs'); ${steps}`]);
    try {
      const { report, stderr } = await sweep([{ name: 'Deep', path: sandbox.cam, retentionDays: 7 }]);

      expect(report.failures).toEqual([]);
      expect(report.deleted.count).toBe(1);
      expect(fs.existsSync(join(sandbox.cam, 'old.mp4'))).toBe(false);
      expect(report.events).toContainEqual(expect.objectContaining({ kind: 'unreadable_names', camera: 'Deep', count: 1 }));
      expect(stderr).toMatch(/Warning: \[Deep\] 1 file or folder names cannot be used/);
      expect(execFileSync('find', [sandbox.cam, '-name', 'deep.mp4'], { encoding: 'utf8' })).toMatch(/deep\.mp4\n$/);
    } finally {
      // Node's own recursive removal cannot reach that deep; rm can.
      execFileSync('rm', ['-rf', join(sandbox.cam, `${'f'.repeat(59)}10`)]);
    }
  });

  test('link loops and links out of the camera folder are not followed: what they point at is untouched', async () => {
    writeRecording(sandbox.outside, 'old/evidence.mp4', { ageMs: OLD, sidecars: { json: '{}' } });
    writeRecording(sandbox.outside, 'old/other.mkv', { ageMs: OLD });
    const before = snapshot(sandbox.outside);
    writeRecording(sandbox.cam, 'own/old.mp4', { ageMs: OLD });
    fs.symlinkSync('.', join(sandbox.cam, 'loop-to-self'));
    fs.symlinkSync(sandbox.cam, join(sandbox.cam, 'own', 'loop-to-camera'));
    fs.symlinkSync('ping', join(sandbox.cam, 'pong'));
    fs.symlinkSync('pong', join(sandbox.cam, 'ping'));
    fs.symlinkSync(join(sandbox.outside, 'old'), join(sandbox.cam, 'outside-folder'));
    fs.symlinkSync(join(sandbox.outside, 'old', 'evidence.mp4'), join(sandbox.cam, 'outside-file.mp4'));
    fs.symlinkSync(join(sandbox.outside, 'gone.mp4'), join(sandbox.cam, 'dangling.mp4'));
    const links = ['dangling.mp4', 'loop-to-self', 'outside-file.mp4', 'outside-folder', 'ping', 'pong', 'own/loop-to-camera'];
    for (const link of links) {
      setAge(join(sandbox.cam, link), OLD);
    }

    const { report } = await sweep([{ name: 'Links', path: sandbox.cam, retentionDays: 7 }]);

    expect(report.failures).toEqual([]);
    expect(report.deleted.count).toBe(1);
    expect(snapshot(sandbox.outside)).toEqual(before);
    expect(filesBelow(sandbox.cam)).toEqual(sorted(links));
    expect(indexed()).toEqual([]);
  });
});

describe('folders swapped for links after they were indexed', () => {
  const cameras = () => [{ name: 'Swapped', path: sandbox.cam, retentionDays: 7 }];

  test('a subfolder replaced by a link to a folder outside: the files out there are untouched', async () => {
    writeRecording(sandbox.cam, 'day/old.mp4', { ageMs: 10 * DAY_MS, sidecars: { json: '{}' } });
    writeRecording(sandbox.cam, 'keep/young.mp4', { ageMs: YOUNG });
    settleFolders(sandbox.cam);
    await cli('scan', [{ name: 'Swapped', path: sandbox.cam, retentionDays: 30 }]);
    expect(indexed()).toEqual(['day/old.mp4', 'keep/young.mp4']);

    // The folder moves out and a link takes its place; the camera folder's mtime is put back, so
    // its listing looks unchanged and only the folder itself can tell.
    const cameraMtime = fs.statSync(sandbox.cam).mtime;
    fs.renameSync(join(sandbox.cam, 'day'), join(sandbox.outside, 'day'));
    fs.symlinkSync(join(sandbox.outside, 'day'), join(sandbox.cam, 'day'));
    fs.utimesSync(sandbox.cam, cameraMtime, cameraMtime);
    const before = snapshot(sandbox.outside);

    const { report } = await sweep(cameras());

    expect(report.deleted.count).toBe(0);
    expect(snapshot(sandbox.outside)).toEqual(before);
    expect(indexed()).toEqual(['keep/young.mp4']);
  });

  test('a camera folder replaced by a link while running: the camera is unavailable and nothing is deleted, here or there', async () => {
    writeRecording(sandbox.cam, 'day/old.mp4', { ageMs: 10 * DAY_MS });
    await cli('scan', [{ name: 'Swapped', path: sandbox.cam, retentionDays: 30 }]);
    // Parsed before the swap, as by a Homebridge that is already running (a fresh start refuses the path).
    const engine = new RetentionEngine(buildConfig(sandbox, cameras()));
    fs.renameSync(sandbox.cam, join(sandbox.outside, 'moved'));
    fs.symlinkSync(join(sandbox.outside, 'moved'), sandbox.cam);
    const before = snapshot(sandbox.outside);

    let report;
    try {
      report = await engine.sweep();
    } finally {
      engine.close();
    }

    expect(report.deleted.count).toBe(0);
    expect(report.events).toContainEqual(expect.objectContaining({ kind: 'camera_unavailable', camera: 'Swapped' }));
    expect(snapshot(sandbox.outside)).toEqual(before);
  });
});

describe('special files', () => {
  test('a FIFO and a device named like recordings are ignored: never opened (a FIFO would hang the sweep), never deleted', async () => {
    execFileSync('mkfifo', [join(sandbox.cam, 'live.mp4')]);
    execFileSync('mkfifo', [join(sandbox.cam, 'clip.json')]); // where a sidecar of clip.mp4 would be read for its trigger
    execFileSync('mknod', [join(sandbox.cam, 'device.mkv'), 'c', '1', '3']);
    writeRecording(sandbox.cam, 'clip.mp4', { ageMs: YOUNG });
    writeRecording(sandbox.cam, 'old.mp4', { ageMs: OLD });
    for (const special of ['live.mp4', 'clip.json', 'device.mkv']) {
      setAge(join(sandbox.cam, special), OLD);
    }

    const { report } = await sweep([{ name: 'Special', path: sandbox.cam, retentionDays: 7 }]);

    expect(report.failures).toEqual([]);
    expect(report.deleted.count).toBe(1);
    expect(indexed()).toEqual(['clip.mp4']);
    expect(filesBelow(sandbox.cam)).toEqual(['clip.json', 'clip.mp4', 'device.mkv', 'live.mp4']);
    expect(fs.lstatSync(join(sandbox.cam, 'live.mp4')).isFIFO()).toBe(true);
    expect(fs.lstatSync(join(sandbox.cam, 'device.mkv')).isCharacterDevice()).toBe(true);
  });
});

describe('clocks and recorders', () => {
  test('files dated in the future are kept by every phase: not by age, not by a quota that takes everything else', async () => {
    writeRecording(sandbox.cam, 'future-year.mp4', { ageMs: -365 * DAY_MS, size: 5000 });
    writeRecording(sandbox.cam, 'future-minute.mp4', { ageMs: -MINUTE_MS, size: 5000 });
    writeRecording(sandbox.cam, 'yesterday.mp4', { ageMs: DAY_MS, size: 5000 });
    writeRecording(sandbox.cam, 'old.mp4', { ageMs: OLD, size: 5000 });
    const other = join(sandbox.root, 'other');
    fs.mkdirSync(other);
    writeRecording(other, 'future-decade.mp4', { ageMs: -3650 * DAY_MS });

    // 1,000 bytes of quota: the quota alone would delete every recording that may be deleted.
    const { report } = await sweep([
      { name: 'Skewed', path: sandbox.cam, retentionDays: 7, storageQuotaGB: 0.000001 },
      { name: 'Other', path: other, retentionDays: 0.01 },
    ]);

    expect(report.failures).toEqual([]);
    expect(report.deleted.count).toBe(2);
    expect(filesBelow(sandbox.cam)).toEqual(['future-minute.mp4', 'future-year.mp4']);
    expect(filesBelow(other)).toEqual(['future-decade.mp4']);
    expect(indexed()).toEqual(['future-decade.mp4', 'future-minute.mp4', 'future-year.mp4']);
    // Kept, but not silently: a minute ahead is within the tolerance, a year ahead is a wrong clock.
    const clockWarnings = report.events.filter((event) => event.kind === 'clock_ahead');
    expect(clockWarnings).toEqual([
      expect.objectContaining({ camera: 'Skewed', message: expect.stringMatching(/^1 recordings are dated in the future \(up to \d{4}-/) }),
      expect.objectContaining({ camera: 'Other', message: expect.stringMatching(/^1 recordings are dated in the future/) }),
    ]);
  });

  test('a recording still being written is not deleted, even with a retention shorter than its age', async () => {
    writeRecording(sandbox.cam, 'old.mp4', { ageMs: OLD });
    const growing = join(sandbox.cam, 'growing.mp4');
    fs.writeFileSync(growing, Buffer.alloc(1000));
    // Backdated like a recording that started 40 minutes ago; every write below moves its mtime to now.
    setAge(growing, 40 * MINUTE_MS);
    const writer = setInterval(() => fs.appendFileSync(growing, Buffer.alloc(4096, 7)), 5);
    let outcome: SweepOutcome;
    try {
      // 0.01 days is under 15 minutes: by its first bytes the growing file is old enough; by its mtime it is in progress.
      outcome = await sweep([{ name: 'Recorder', path: sandbox.cam, retentionDays: 0.01 }]);
    } finally {
      clearInterval(writer);
    }

    expect(outcome.report.failures).toEqual([]);
    expect(outcome.report.deleted.count).toBe(1);
    expect(filesBelow(sandbox.cam)).toEqual(['growing.mp4']);
    expect(fs.statSync(growing).size).toBeGreaterThan(1000);
    expect(indexed()).toEqual(['growing.mp4']);
  });

  test('a recording the index saw finished but the recorder writes again is not deleted', async () => {
    const cameras = [{ name: 'Recorder', path: sandbox.cam, retentionDays: 0.01 }];
    const resumed = writeRecording(sandbox.cam, 'day/resumed.mp4', { ageMs: 40 * MINUTE_MS });
    writeRecording(sandbox.cam, 'day/old.mp4', { ageMs: OLD });
    // Settled folders are not listed again by the next scan: only the stale row knows about the file.
    settleFolders(sandbox.cam);
    await cli('scan', cameras);
    expect(indexed()).toEqual(['day/old.mp4', 'day/resumed.mp4']);

    const writer = setInterval(() => fs.appendFileSync(resumed, Buffer.alloc(4096, 7)), 5);
    let outcome: SweepOutcome;
    try {
      outcome = await sweep(cameras);
    } finally {
      clearInterval(writer);
    }

    expect(outcome.report.failures).toEqual([]);
    expect(outcome.report.deleted.count).toBe(1);
    expect(filesBelow(sandbox.cam)).toEqual(['day/resumed.mp4']);
  });
});

test('the folders the deep sweep emptied are removed, the camera folder stays', async () => {
  const deep = Array.from({ length: 100 }, (_, i) => `d${i}`).join('/');
  writeRecording(sandbox.cam, `${deep}/old.mp4`, { ageMs: OLD });
  await sweep([{ name: 'Deep', path: sandbox.cam, retentionDays: 7 }]);
  expect(fs.existsSync(sandbox.cam)).toBe(true);
  expect(foldersBelow(sandbox.cam)).toEqual([]);
});
