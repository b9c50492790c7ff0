/**
 * Issue 11, item 10: a recording rewritten in place (a ring recorder reusing its names) between the
 * sweep's check of it and its unlink is never deleted. Real sweeps of 30,000 recordings on a tmpfs;
 * in the middle of several batches, every file of the batch still there is rewritten: half in place
 * (same inode, new content, mtime now), half replaced by a new file given the old mtime back (a new
 * inode, as `cp -p` over it makes). Needs root (mount).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { makeTree, midBatch, missing, mountTmpfs, recordingPath, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, makeSandbox, type Sandbox } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const FILES = 30_000;
const BATCH = 500;
/** Past the middle of a batch: the old code had checked every file of it and unlinked none yet. */
const REWRITE_AT_CALL = 250;
/**
 * Files in flight overlapped. A file whose unlink was already handed to the thread pool when the
 * rewrite came cannot be called back (there is no "unlink if unchanged" call): at most these per try.
 */
const IN_FLIGHT = 8;

let sandbox: Sandbox;
let front: string;
let engine: RetentionEngine | undefined;

beforeEach(() => {
  sandbox = makeSandbox('nvr-rewrite');
  const disk = join(sandbox.root, 'disk');
  mountTmpfs(disk, '512m');
  front = join(disk, 'front');
  makeTree(front, FILES);
});

afterEach(() => {
  engine?.close();
  engine = undefined;
  unmountAll();
  sandbox.remove();
});

/** Rewrites the file if it is still there; returns whether it did. */
function rewrite(path: string, sameInode: boolean): boolean {
  try {
    if (sameInode) {
      const fd = fs.openSync(path, 'r+');
      fs.writeSync(fd, Buffer.from('new content'), 0);
      fs.closeSync(fd);
    } else {
      const { mtime } = fs.lstatSync(path);
      fs.writeFileSync(`${path}.new`, 'new content');
      fs.utimesSync(`${path}.new`, mtime, mtime);
      fs.renameSync(`${path}.new`, path);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      fs.rmSync(`${path}.new`, { force: true });
      return false;
    }
    throw error;
  }
}

describe.each(['in place', 'overlapped'] as const)('deleting %s', (way) => {
  test('item 10: files rewritten in the middle of their batch stay, the rest of the camera goes', async () => {
    engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), { log: silentLogger });
    const rewriteBatches = [1, 2, 4, 7, 11, 16];
    const rewritten: string[] = [];
    const hook = midBatch((batch, call) => {
      if (rewriteBatches.includes(batch) && call === REWRITE_AT_CALL) {
        for (let i = batch * BATCH; i < (batch + 1) * BATCH; i++) {
          const path = join(front, recordingPath(i));
          if (rewrite(path, i % 2 === 0)) {
            rewritten.push(path);
          }
        }
      }
    });
    const report = await engine.sweep({ batchSize: BATCH, fileDeletion: way, unlinkConcurrency: IN_FLIGHT, ...hook });
    const deleted = missing(rewritten);
    console.log(`item 10 (${way}): ${rewriteBatches.length} tries, ${deleted} of ${rewritten.length} rewritten files deleted`);
    expect(rewritten.length).toBeGreaterThan(rewriteBatches.length * 100);
    // The old two passes deleted about 250 a try (every file checked before the rewrite).
    expect(deleted).toBeLessThanOrEqual(way === 'in place' ? 0 : IN_FLIGHT * rewriteBatches.length);
    expect(report.status).toBe('done');
    expect(report.deleted.count).toBe(FILES - rewritten.length + deleted);
  });
});
