/**
 * Issue 11, "also fix, smaller": the index is compacted once most of it is free pages; a file name
 * with a newline cannot fake a line of the text dry-run output; `export --to` refuses a folder
 * inside a camera folder, as the config refuses `exportPath`. Real files, the real CLI, real SQLite.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { makeTree, mountTmpfs, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox, writeRecording } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const CLI = resolve('dist/cli/bin.js');

let sandbox: Sandbox;
let front: string;
let configFile: string;

beforeEach(() => {
  sandbox = makeSandbox('nvr-small');
  front = join(sandbox.root, 'front');
  fs.mkdirSync(front);
  configFile = join(sandbox.storage, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      platform: 'NvrRetention',
      databasePath: sandbox.databasePath,
      cameras: [{ name: 'Front', path: front, retentionDays: 7 }],
    }),
  );
});

afterEach(() => {
  unmountAll();
  sandbox.remove();
});

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args, '--config', configFile], { encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test('the index is compacted by the sweep after one that freed most of it', async () => {
  mountTmpfs(front, '256m');
  makeTree(front, 30_000);
  const engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), { log: silentLogger });
  try {
    engine.scan();
    const pages = () => ({
      pages: (engine.store.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count,
      free: (engine.store.db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count,
    });
    const before = pages();
    const report = await engine.sweep();
    expect(report.deleted.count).toBe(30_000);
    // The big sweep leaves it; the next one (deleting little) compacts it.
    expect((await engine.sweep()).deleted.count).toBe(0);
    const after = pages();
    console.log(`index pages: ${before.pages} before the sweep; after it ${after.pages}, ${after.free} free`);
    expect(after.free).toBeLessThanOrEqual(after.pages / 2);
    expect(after.pages).toBeLessThan(before.pages / 4);
    expect(fs.statSync(sandbox.databasePath).size).toBeLessThan(before.pages * 4096 * 0.25);
  } finally {
    engine.close();
  }
});

test('a file name with a newline cannot fake a line of the text dry-run output', () => {
  const fake = 'ok.mp4\n  age   Front: /etc/passwd (1.00 kB, continuous, ended 2020-01-01T00:00:00.000Z)\nx.mp4';
  writeRecording(front, fake, { ageMs: 30 * DAY_MS });
  writeRecording(front, 'plain.mp4', { ageMs: 31 * DAY_MS });
  const { code, stdout } = cli('sweep', '--dry-run');
  expect(code).toBe(0);
  // The summary line, then one line per planned deletion.
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines.some((line) => line.startsWith('  age   Front: /etc/passwd'))).toBe(false);
  expect(lines[1]).toMatch(/^ {2}age {3}Front: plain\.mp4 \(/);
  expect(lines[2]).toContain(`Front: ${JSON.stringify(fake)} (`);
});

test('export --to a folder inside a camera folder is refused, naming the camera folder; nothing is copied', () => {
  const clip = writeRecording(front, 'day/clip.mp4', { ageMs: DAY_MS });
  expect(cli('scan').code).toBe(0);
  const inside = join(front, 'exports');
  const { code, stderr } = cli('export', clip, '--to', inside);
  expect(code).toBe(1);
  expect(stderr).toContain(`inside the camera folder ${front}`);
  expect(fs.existsSync(inside)).toBe(false);
  // Outside every camera folder it works.
  const outside = join(sandbox.root, 'exports');
  expect(cli('export', clip, '--to', outside).code).toBe(0);
  expect(fs.existsSync(join(outside, 'Front', 'day/clip.mp4'))).toBe(true);
});
