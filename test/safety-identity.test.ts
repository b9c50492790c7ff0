/**
 * One folder under two camera paths (issue 11, item 3): bind mounts make two paths one directory,
 * or put one camera's folder inside another's, without any path string showing it. Real bind mounts
 * on a tmpfs; checked at start-up (the config) and at every scan (a mount made while running).
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parsePlatformConfig } from '../src/config/schema.js';
import { RetentionEngine } from '../src/retention/engine.js';
import { isRoot, safetySandbox, type SafetySandbox } from './helpers/safety.js';
import { DAY_MS, writeRecording } from './helpers/tree.js';

const rootTest = isRoot ? test : test.skip;

let box: SafetySandbox;
let camsA: string;
let aliasB: string;
const binds: string[] = [];

beforeEach(() => {
  box = safetySandbox('nvr-safety-identity');
  camsA = join(box.root, 'cams', 'a');
  aliasB = join(box.root, 'alias', 'b');
  mkdirSync(camsA, { recursive: true });
  mkdirSync(aliasB, { recursive: true });
});

afterEach(async () => {
  for (const target of binds.splice(0).reverse()) {
    execFileSync('umount', [target]);
  }
  await box.remove();
});

function bind(source: string, target: string): void {
  execFileSync('mount', ['--bind', source, target]);
  binds.push(target);
}

function block(b: string) {
  return {
    platform: 'NvrRetention',
    databasePath: box.index,
    cameras: [
      { name: 'A', path: camsA, retentionDays: 30 },
      { name: 'B', path: b, retentionDays: 1 },
    ],
  };
}

describe('at start-up, the config (rules §1)', () => {
  rootTest('two camera paths that are one directory through a bind mount: both cameras are disabled, saying why', () => {
    bind(camsA, aliasB);
    const parsed = parsePlatformConfig(block(aliasB), { storagePath: box.storage });
    expect(parsed.config.cameras).toEqual([]);
    expect(parsed.disabledCameras.map((c) => c.issues[0]!.message)).toEqual([
      `must not be the same folder as cameras[1] (${aliasB}): they are one directory (by device and inode, e.g. through a bind mount)`,
      `must not be the same folder as cameras[0] (${camsA}): they are one directory (by device and inode, e.g. through a bind mount)`,
    ]);
  });

  rootTest('a camera path inside another camera folder by identity: a bind mount of a subfolder, and one of the parent', () => {
    mkdirSync(join(camsA, 'sub'));
    bind(join(camsA, 'sub'), aliasB);
    const parsed = parsePlatformConfig(block(aliasB), { storagePath: box.storage });
    expect(parsed.disabledCameras.map((c) => c.issues[0]!.message)).toEqual([
      `must not contain the folder of cameras[1] (${aliasB}) (by device and inode, e.g. through a bind mount)`,
      `must not be inside the folder of cameras[0] (${camsA}) (by device and inode, e.g. through a bind mount)`,
    ]);
    execFileSync('umount', [aliasB]);
    binds.pop();

    // B's folder is A's parent, seen elsewhere: A lies inside B by the inode on A's way up.
    bind(join(box.root, 'cams'), aliasB);
    const reversed = parsePlatformConfig(block(aliasB), { storagePath: box.storage });
    expect(reversed.disabledCameras.map((c) => c.issues[0]!.message)).toEqual([
      `must not be inside the folder of cameras[1] (${aliasB}) (by device and inode, e.g. through a bind mount)`,
      `must not contain the folder of cameras[0] (${camsA}) (by device and inode, e.g. through a bind mount)`,
    ]);
  });

  test('two distinct folders are accepted', () => {
    expect(parsePlatformConfig(block(aliasB), { storagePath: box.storage }).disabledCameras).toEqual([]);
  });
});

describe('at every scan (mounts change while running)', () => {
  rootTest("a bind mount made after start-up: neither camera is swept, and A's protected recording stays", async () => {
    const evidence = writeRecording(camsA, 'evidence.mp4', { ageMs: 3 * DAY_MS });
    writeRecording(camsA, 'other.mp4', { ageMs: 3 * DAY_MS });
    const { config } = parsePlatformConfig(block(aliasB), { storagePath: box.storage });
    expect(config.cameras).toHaveLength(2);
    const engine = new RetentionEngine(config);
    engine.scan();
    engine.protect([engine.resolveRecording(evidence).recording.id], 'cli');

    bind(camsA, aliasB);
    const report = await engine.sweep();
    expect(report.deleted.count).toBe(0);
    expect(existsSync(evidence)).toBe(true);
    expect(existsSync(join(camsA, 'other.mp4'))).toBe(true);
    expect(report.events.filter((e) => e.kind === 'camera_overlap').map((e) => e.message)).toEqual([
      `camera unavailable: its folder must not be the same folder as camera "B" (${aliasB}): they are one directory (by device and inode, e.g. through a bind mount); nothing of it is deleted until the folders are apart again`,
      `camera unavailable: its folder must not be the same folder as camera "A" (${camsA}): they are one directory (by device and inode, e.g. through a bind mount); nothing of it is deleted until the folders are apart again`,
    ]);
    expect(engine.status().cameras.map((c) => c.available)).toEqual([false, false]);

    execFileSync('umount', [aliasB]);
    binds.pop();
    const apart = await engine.sweep();
    expect(apart.events.map((e) => e.kind)).toEqual(['camera_available', 'camera_available']);
    expect(existsSync(evidence)).toBe(true);
    engine.close();
  });
});
