/**
 * Issue 11, item 11: another filesystem mounted inside a camera folder. The camera folder is an
 * ext4 disk of 64 MB filled to under the free-space floor; `archive/` inside it is a tmpfs of its own
 * with plenty of room, holding the camera's oldest recordings. The floor must delete on the disk that
 * is short, never on the one that is not; the status (dashboard, CLI) and the battery show each disk.
 * Needs root (mount).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { storageState } from '../src/homekit/state.js';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { mount, mountTmpfs, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox, settleFolders, writeRecording } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const MB = 1_000_000;
const FLOOR_BYTES = 20 * MB;

let sandbox: Sandbox;
let front: string;

beforeEach(() => {
  sandbox = makeSandbox('nvr-mounts');
  front = join(sandbox.root, 'front');
});

afterEach(() => {
  unmountAll();
  sandbox.remove();
});

const freeBytes = (path: string): number => {
  const stats = fs.statfsSync(path);
  return stats.bavail * stats.bsize;
};

test('item 11: a disk mounted inside a camera folder has its own floor: the floor deletes on the disk that is short only, and each disk is shown', async () => {
  const image = join(sandbox.root, 'outer.img');
  execFileSync('truncate', ['-s', '64M', image]);
  execFileSync('mkfs.ext4', ['-q', '-m', '0', image]);
  fs.mkdirSync(front);
  mount('-o', 'loop', image, front);
  const archive = join(front, 'archive');
  mountTmpfs(archive, '256m');
  // The archive holds the oldest recordings (60 to 51 days old), the outer disk younger ones until it is short.
  for (let i = 0; i < 10; i++) {
    writeRecording(front, `archive/old-${i}.mp4`, { ageMs: (60 - i) * DAY_MS, size: MB });
  }
  let outer = 0;
  while (freeBytes(front) > FLOOR_BYTES - 8 * MB) {
    writeRecording(front, `days/rec-${String(outer).padStart(3, '0')}.mp4`, { ageMs: (40 - outer / 10) * DAY_MS, size: MB });
    outer++;
  }
  settleFolders(front);
  const shortBefore = FLOOR_BYTES - freeBytes(front);
  expect(shortBefore).toBeGreaterThan(0);

  const engine = new RetentionEngine(
    buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 365 }], { minFreeGB: FLOOR_BYTES / 1e9 }),
    { log: silentLogger },
  );
  try {
    const tries = 3;
    for (let n = 0; n < tries; n++) {
      const report = await engine.sweep();
      const archiveLeft = fs.readdirSync(archive).length;
      console.log(
        `item 11, sweep ${n + 1}: deleted ${report.deleted.count} (${fs.readdirSync(join(front, 'days')).length} of ${outer} left on the full disk, ${archiveLeft} of 10 on the mounted one); outer free ${freeBytes(front)}`,
      );
      expect(archiveLeft).toBe(10);
      expect(freeBytes(front)).toBeGreaterThanOrEqual(FLOOR_BYTES);
      expect(report.events.filter((event) => /floor/.test(event.kind))).toEqual([]);
      if (n === 0) {
        expect(report.deleted.count).toBeGreaterThan(0);
        expect(report.deleted.count).toBeLessThan(outer);
      } else {
        expect(report.deleted.count).toBe(0);
      }
    }

    const status = engine.status();
    expect(status.filesystems).toHaveLength(2);
    const [main, nested] = status.filesystems;
    expect(main).toMatchObject({ cameras: ['Front'], floorBytes: FLOOR_BYTES });
    expect(main!.folder).toBeUndefined();
    expect(nested).toMatchObject({ cameras: ['Front'], folder: archive, floorBytes: FLOOR_BYTES });
    expect(nested!.totalBytes).toBeGreaterThan(200 * MB);
    // The battery is the lowest free share of any disk: the full outer disk, not the roomy archive.
    const battery = storageState(status).batteryLevel!;
    expect(battery).toBeLessThan(50);
    expect(battery).toBe(Math.round((100 * main!.freeBytes!) / main!.totalBytes!));
  } finally {
    engine.close();
  }
});
