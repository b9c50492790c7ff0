/**
 * Issue 11, items 1 and 2: a sweep never deletes through a link that was put in place of a camera
 * folder or of a folder below it while the sweep ran. Real sweeps of 30,000 recordings on a tmpfs;
 * the swap happens in the middle of a batch (after the old code had checked the folder and before it
 * unlinked its files), several times, both ways of deleting. Needs root (mount).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import {
  copyWhatIsLeft,
  folderName,
  makeTree,
  midBatch,
  missing,
  mountTmpfs,
  PER_FOLDER,
  recordingPath,
  unmountAll,
} from './helpers/deletion-safety.js';
import { buildConfig, makeSandbox, type Sandbox } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const FILES = 30_000;
const BATCH = 500;
/** The folder of in-batch files 400..499: the old code checked it at file 400 and unlinked its files after file 500's check. */
const SWAP_AT_CALL = 450;

let sandbox: Sandbox;
let disk: string;
let front: string;
const engines: RetentionEngine[] = [];

beforeEach(() => {
  sandbox = makeSandbox('nvr-links');
  disk = join(sandbox.root, 'disk');
  mountTmpfs(disk, '512m');
  front = join(disk, 'front');
  makeTree(front, FILES);
});

afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.close();
  }
  unmountAll();
  sandbox.remove();
});

function engineFor(): RetentionEngine {
  const engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), { log: silentLogger });
  engines.push(engine);
  return engine;
}

/** Every file below `dir`, absolute. */
function allFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.each(['in place', 'overlapped'] as const)('deleting %s', (way) => {
  test('item 1: the camera folder moved away and a link to a backup copy put in its place mid-batch: no backup file is deleted, the camera is unavailable', async () => {
    const backup = join(disk, 'backup');
    fs.cpSync(front, backup, { recursive: true, preserveTimestamps: true });
    const backupFiles = allFiles(backup);
    expect(backupFiles).toHaveLength(FILES);
    // One try per batch index: the swap lands in batch 1, 4 and 9 of three fresh sweeps.
    const tries = [1, 4, 9];
    let backupDeleted = 0;
    for (const [n, swapBatch] of tries.entries()) {
      if (n > 0) {
        fs.rmSync(front, { force: true });
        fs.rmSync(`${front}.moved`, { recursive: true, force: true });
        fs.rmSync(sandbox.storage, { recursive: true, force: true });
        fs.mkdirSync(sandbox.storage);
        makeTree(front, FILES);
      }
      const engine = engineFor();
      let swapped = false;
      const hook = midBatch((batch, call) => {
        if (!swapped && batch === swapBatch && call === SWAP_AT_CALL) {
          fs.renameSync(front, `${front}.moved`);
          fs.symlinkSync(backup, front);
          swapped = true;
        }
      });
      const report = await engine.sweep({ batchSize: BATCH, fileDeletion: way, ...hook });
      engine.close();
      engines.pop();
      expect(swapped).toBe(true);
      const lost = missing(backupFiles);
      console.log(`item 1 (${way}), try ${n + 1} (swap in batch ${swapBatch}): ${lost} backup files deleted`);
      expect(lost).toBe(0);
      backupDeleted += lost;
      expect(report.events).toContainEqual(expect.objectContaining({ kind: 'camera_unavailable', camera: 'Front' }));
      // Only what the batches before and the batch under way had claimed went, all of it from the real folder.
      expect(report.deleted.count).toBeLessThanOrEqual((swapBatch + 1) * BATCH);
      expect(allFiles(`${front}.moved`).length).toBe(FILES - report.deleted.count);
    }
    console.log(`item 1 (${way}): ${tries.length} tries, ${backupDeleted} backup files deleted`);
    expect(backupDeleted).toBe(0);
  });

  test('item 2: a dated folder of the batch under way swapped for a link to outside copies: nothing outside is deleted', async () => {
    const outside = join(disk, 'outside');
    const engine = engineFor();
    const swapBatches = [1, 2, 3, 5, 8];
    const outsideFiles: string[] = [];
    const hook = midBatch((batch, call) => {
      if (swapBatches.includes(batch) && call === SWAP_AT_CALL) {
        // The folder of this batch's files 400..499: the same names and mtimes outside, then the swap.
        const folder = folderName((batch * BATCH) / PER_FOLDER + 4);
        copyWhatIsLeft(join(front, folder), join(outside, folder));
        outsideFiles.push(...allFiles(join(outside, folder)));
        fs.renameSync(join(front, folder), join(front, `${folder}.away`));
        fs.symlinkSync(join(outside, folder), join(front, folder));
      }
    });
    const report = await engine.sweep({ batchSize: BATCH, fileDeletion: way, ...hook });
    console.log(
      `item 2 (${way}): ${swapBatches.length} swaps in one sweep, ${missing(outsideFiles)} of ${outsideFiles.length} outside files deleted`,
    );
    // Copied at the swap: what of the folder was still there (all of it for the old two passes, less than half now).
    expect(outsideFiles.length).toBeGreaterThanOrEqual(swapBatches.length * 20);
    expect(missing(outsideFiles)).toBe(0);
    expect(report.status).toBe('done');
    // The swapped folders' recordings stay indexed (a link is never followed); the rest of the camera went.
    expect(fs.existsSync(join(front, recordingPath(FILES - 1)))).toBe(false);
  });
});
