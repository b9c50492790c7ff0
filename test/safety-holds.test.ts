/**
 * Holds that must follow their recording (issue 11, items 8, 9, 17): a folder away for a sweep and
 * back, a camera folder moved to another disk, a hold by hand on what the Protect switch holds. Real
 * processes: the CLI, and a long-lived engine as Homebridge runs one; real files on tmpfs disks.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RetentionEngine } from '../src/retention/engine.js';
import { isRoot, safetySandbox, type SafetySandbox } from './helpers/safety.js';
import { buildConfig, DAY_MS, HOUR_MS, writeRecording } from './helpers/tree.js';

const rootTest = isRoot ? test : test.skip;

let box: SafetySandbox;

beforeEach(() => {
  box = safetySandbox('nvr-safety-holds');
});

afterEach(() => box.remove());

function protectedPaths(configFile: string): { path: string; protectedBy: string }[] {
  const listed = box.cli(configFile, 'list', '--protected', '--json');
  expect(listed.code).toBe(0);
  return (JSON.parse(listed.stdout) as { recordings: { path: string; protectedBy: string }[] }).recordings.map(({ path, protectedBy }) => ({
    path,
    protectedBy,
  }));
}

describe('the journal is the source of holds at every scan, in every process (rules §10)', () => {
  test('a protected recording whose folder is away for one sweep and then back stays protected in a long-lived engine', async () => {
    for (let i = 0; i < 15; i++) {
      writeRecording(box.front, `d0/young-${i}.mp4`, { ageMs: DAY_MS });
      writeRecording(box.front, `d2/young-${i}.mp4`, { ageMs: DAY_MS });
    }
    const byUi = writeRecording(box.front, 'd1/evidence-ui.mp4', { ageMs: 30 * DAY_MS });
    const byCli = writeRecording(box.front, 'd1/evidence-cli.mp4', { ageMs: 30 * DAY_MS });
    const file = box.config('config.json');
    const homebridge = box.child(file);
    expect(await homebridge.next()).toMatchObject({ ready: true });
    homebridge.send(`protect ${byUi}`);
    expect(await homebridge.next()).toEqual({ protected: 1 });
    expect(box.cli(file, 'protect', byCli).code).toBe(0);

    const away = join(box.root, 'away');
    renameSync(join(box.front, 'd1'), away);
    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done', deleted: 0 });
    renameSync(away, join(box.front, 'd1'));
    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done', deleted: 0 });

    expect(existsSync(byUi)).toBe(true);
    expect(existsSync(byCli)).toBe(true);
    expect(
      protectedPaths(file)
        .map((r) => r.path)
        .sort(),
    ).toEqual([byCli, byUi]);
  });
});

describe('holds follow a camera by its name (rules §12)', () => {
  rootTest('a camera folder moved to a new disk, config path updated, index intact: its protected recording stays', () => {
    const kept = writeRecording(box.front, '2026-10-01/evidence.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(box.front, '2026-10-01/old.mp4', { ageMs: 31 * DAY_MS });
    writeRecording(box.front, '2026-11-30/young.mp4', { ageMs: DAY_MS });
    const before = box.config('before.json');
    expect(box.cli(before, 'protect', kept).code).toBe(0);

    const disk = join(box.root, 'newdisk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    execFileSync('cp', ['-a', box.front, join(disk, 'front')]);
    rmSync(box.front, { recursive: true });
    const moved = join(disk, 'front');
    const after = box.config('after.json', { cameras: [{ name: 'Front', path: moved, retentionDays: 7 }] });

    const sweep = box.cli(after, 'sweep', '--json');
    expect(sweep.code).toBe(0);
    expect(sweep.stdout).toContain(`"deleted": {\n    "count": 1`);
    expect(sweep.stderr + sweep.stdout).toMatch(/folder of camera "Front" changed from .* to .*: its recordings and holds follow it/);
    expect(existsSync(join(moved, '2026-10-01/evidence.mp4'))).toBe(true);
    expect(existsSync(join(moved, '2026-10-01/old.mp4'))).toBe(false);
    expect(protectedPaths(after)).toEqual([{ path: join(moved, '2026-10-01/evidence.mp4'), protectedBy: 'cli' }]);
    execFileSync('umount', [disk]);
  });
});

describe('a hold by hand on what the Protect switch holds (rules §5)', () => {
  test('engine: recorded as a hold by hand, and turning the switch off does not release it, not even after the index is lost', () => {
    const config = buildConfig({ storage: box.storage, databasePath: box.index }, [
      { name: 'Front', path: box.front, protectSwitch: true },
    ]);
    const path = writeRecording(box.front, 'clip.mp4', { ageMs: HOUR_MS });
    const engine = new RetentionEngine(config);
    engine.scan();
    const camera = engine.cameraByName('Front')!;
    expect(engine.setProtectSwitch(camera, true)).toBe(1);
    const { recording } = engine.resolveRecording(path);
    expect(recording.protectedBy).toBe('switch');

    expect(engine.protect([recording.id], 'settings UI')).toBe(1);
    expect(engine.store.recording(recording.id)).toMatchObject({ protected: true, protectedBy: 'settings UI' });
    expect(engine.setProtectSwitch(camera, false)).toBe(0);
    expect(engine.store.recording(recording.id)).toMatchObject({ protected: true, protectedBy: 'settings UI' });
    engine.close();

    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${box.index}${suffix}`, { force: true });
    }
    const rebuilt = new RetentionEngine(config);
    rebuilt.scan();
    expect(rebuilt.resolveRecording(path).recording).toMatchObject({ protected: true, protectedBy: 'settings UI' });
    rebuilt.close();
  });

  test('CLI while Homebridge holds the switch on: {"protected":1}, and the switch turned off leaves the hold and the file', async () => {
    const file = box.config('config.json', { cameras: [{ name: 'Front', path: box.front, retentionDays: 7, protectSwitch: true }] });
    const homebridge = box.child(file);
    expect(await homebridge.next()).toMatchObject({ ready: true });
    homebridge.send('switch Front on');
    expect(await homebridge.next()).toEqual({ changed: 0 });
    // An old file indexed while the switch is on: the switch holds it (rules §5.4).
    const evidence = writeRecording(box.front, 'evidence.mp4', { ageMs: 30 * DAY_MS });
    writeRecording(box.front, 'other.mp4', { ageMs: 30 * DAY_MS });
    expect(box.cli(file, 'scan').code).toBe(0);
    expect(protectedPaths(file).map((r) => r.protectedBy)).toEqual(['switch', 'switch']);

    const protect = box.cli(file, 'protect', evidence, '--json');
    expect(protect.code).toBe(0);
    expect(JSON.parse(protect.stdout)).toMatchObject({ protected: 1 });
    homebridge.send('switch Front off');
    expect(await homebridge.next()).toEqual({ changed: 1 });
    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done', deleted: 1 });
    expect(existsSync(evidence)).toBe(true);
    expect(protectedPaths(file)).toEqual([{ path: evidence, protectedBy: 'cli' }]);
  });
});
