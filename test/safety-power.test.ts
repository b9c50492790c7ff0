/**
 * Issue 11, item 19: a power cut in the middle of a sweep. The index lives on an ext4 disk of its own
 * (a loop device, mounted with a long journal commit interval so that only what is synced reaches
 * it); the recordings on a tmpfs. In the middle of a batch, well past half the camera, the disk's
 * image is copied: what a power cut at that moment leaves of the index (the loop device holds what
 * the filesystem wrote to it, not what sat in its page cache). The sweep stops there. After
 * "restart" on the copy, the files the sweep itself unlinked must not count as "gone at once":
 * the camera stays available and the next sweep finishes the job. The sweep runs in a process of its
 * own (test/helpers/power-cut-child.js, the built engine) that dies at the cut. Needs root (losetup, mount).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { makeTree, mount, mountTmpfs, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, makeSandbox, type Sandbox } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const FILES = 10_000;
const CHILD = resolve('test/helpers/power-cut-child.js');

let sandbox: Sandbox;
let front: string;

beforeEach(() => {
  sandbox = makeSandbox('nvr-power');
  front = join(sandbox.root, 'front');
  mountTmpfs(front, '256m');
});

afterEach(() => {
  unmountAll();
  sandbox.remove();
});

function indexDisk(image: string, at: string): void {
  fs.mkdirSync(at, { recursive: true });
  // commit=600: the journal is not committed on its own during the test; what reaches the disk is what was synced.
  mount('-o', 'loop,commit=600', image, at);
}

test('item 19: after a power cut mid-sweep the camera stays available and the next sweep finishes the job', async () => {
  const tries = [11, 14, 17];
  for (const [n, cutInBatch] of tries.entries()) {
    makeTree(front, FILES);
    const image = join(sandbox.root, `index-${n}.img`);
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.ext4', ['-q', image]);
    const disk = join(sandbox.root, `index-disk-${n}`);
    indexDisk(image, disk);
    const config = { ...buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), databasePath: join(disk, 'index.db') };

    // The recordings indexed while young, long before: on the disk.
    const indexing = new RetentionEngine(config, { log: silentLogger });
    indexing.scan();
    indexing.close();
    execFileSync('sync');

    const snapshot = join(sandbox.root, `after-cut-${n}.img`);
    const configFile = join(sandbox.storage, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        platform: 'NvrRetention',
        databasePath: config.databasePath,
        cameras: [{ name: 'Front', path: front, retentionDays: 7 }],
      }),
    );
    const child = spawnSync(process.execPath, [CHILD, configFile, String(cutInBatch), image, snapshot], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    expect(fs.existsSync(snapshot)).toBe(true);
    const left = fs.readdirSync(front, { recursive: true }).filter((name) => String(name).endsWith('.mp4')).length;

    // Restart on what the disk held at the cut.
    const restarted = join(sandbox.root, `restarted-${n}`);
    indexDisk(snapshot, restarted);
    const after = new RetentionEngine({ ...config, databasePath: join(restarted, 'index.db') }, { log: silentLogger });
    const report = await after.sweep();
    after.close();
    const unavailable = report.events.filter((event) => event.kind === 'camera_unavailable');
    console.log(
      `item 19, try ${n + 1}: cut in batch ${cutInBatch} with ${FILES - left} of ${FILES} unlinked; after restart: ${unavailable.map((e) => e.message).join('; ') || 'camera available'}, ${report.deleted.count} deleted`,
    );
    expect(FILES - left).toBeGreaterThan(FILES / 2);
    expect(unavailable).toEqual([]);
    expect(report.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true, missing: 0 })]);
    expect(report.deleted.count).toBe(left);
    unmountAll();
    mountTmpfs(front, '256m');
  }
});
