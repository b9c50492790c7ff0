/**
 * Issue 11, item 12: an export that takes longer than its lease keeps its originals. The engine's
 * lease is shortened to 300 ms, and one clip of 300 MB (a tmpfs) takes a few seconds to copy and
 * check; a real sweep, by another engine on the same index as a second process would, runs in the
 * middle of it, after the first lease would have run out. (A disk made slow on purpose, a
 * device-mapper `delay` target, is not available in this kernel; a big clip stands in for a slow NAS.)
 * The test checks that the sweep did land during the export, so a pass means something. Needs root (mount).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { mountTmpfs, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox, setAge } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const LEASE_MS = 300;
const CLIP_BYTES = 300_000_000;

let sandbox: Sandbox;
let front: string;
const engines: RetentionEngine[] = [];

beforeEach(() => {
  sandbox = makeSandbox('nvr-export');
  front = join(sandbox.root, 'front');
  mountTmpfs(front, '700m');
  fs.mkdirSync(join(front, 'day'));
  const fd = fs.openSync(join(front, 'day/clip.mp4'), 'w');
  const chunk = Buffer.alloc(10_000_000, 7);
  for (let written = 0; written < CLIP_BYTES; written += chunk.length) {
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  setAge(join(front, 'day/clip.mp4'), 30 * DAY_MS);
});

afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.close();
  }
  unmountAll();
  sandbox.remove();
});

function engineFor(): RetentionEngine {
  const engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), {
    log: silentLogger,
    exportLeaseMs: LEASE_MS,
  });
  engines.push(engine);
  return engine;
}

test('item 12: a sweep in the middle of an export longer than its lease leaves the originals; the export completes', async () => {
  const exporter = engineFor();
  exporter.scan();
  const sweeper = engineFor();
  const id = exporter.list({}, { limit: 10, offset: 0 })[0]!.id;
  const tries = 3;
  const out = join(sandbox.root, 'out');
  mountTmpfs(out, '400m');
  for (let n = 0; n < tries; n++) {
    const destination = join(out, `exported-${n}`);
    let exportDone = false;
    const exporting = exporter.export([id], destination, 'test').finally(() => {
      exportDone = true;
    });
    // Past two leases, the copy or its check still under way.
    await new Promise((done) => setTimeout(done, 2 * LEASE_MS));
    const leasedAtSweep = !exportDone;
    const report = await sweeper.sweep();
    const result = await exporting;
    console.log(`item 12, try ${n + 1}: sweep ran ${leasedAtSweep ? 'during' : 'after'} the export; it deleted ${report.deleted.count}`);
    expect(leasedAtSweep).toBe(true);
    expect(report.deleted.count).toBe(0);
    expect(result.exported).toEqual([join(destination, 'Front', 'day/clip.mp4')]);
    expect(fs.statSync(join(destination, 'Front', 'day/clip.mp4')).size).toBe(CLIP_BYTES);
    fs.rmSync(destination, { recursive: true });
  }
  // Released at the end: the next sweep deletes the original (it is 30 days old).
  expect((await sweeper.sweep()).deleted.count).toBe(1);
});
