/**
 * Issue 11, item 12: an export that takes longer than its lease keeps its originals. The camera
 * folder is an ext4 disk behind a device-mapper `delay` target (every read waits, as on a slow NAS),
 * so one clip's copy takes seconds; the engine's lease is shortened to one second to be outlasted.
 * A real CLI sweep runs in the middle of the copy, after the first lease would have run out. Needs
 * root (losetup, dmsetup, mount).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { mount, unmountAll } from './helpers/safety.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox, writeRecording } from './helpers/tree.js';

const CLI = resolve('dist/cli/bin.js');
const LEASE_MS = 1000;
/** Each read of the camera disk waits this long: a 2 MB clip takes seconds to copy. */
const READ_DELAY_MS = 250;

let sandbox: Sandbox;
let front: string;
let loop: string | undefined;
let mapper: string | undefined;
let engine: RetentionEngine | undefined;

beforeEach(() => {
  sandbox = makeSandbox('nvr-export');
  front = join(sandbox.root, 'front');
  fs.mkdirSync(front);
});

afterEach(() => {
  engine?.close();
  engine = undefined;
  unmountAll();
  if (mapper) {
    execFileSync('dmsetup', ['remove', mapper]);
    mapper = undefined;
  }
  if (loop) {
    execFileSync('losetup', ['-d', loop]);
    loop = undefined;
  }
  sandbox.remove();
});

const run = (command: string, ...args: string[]): string => execFileSync(command, args, { encoding: 'utf8' }).trim();

test('item 12: a sweep in the middle of an export longer than its lease leaves the originals; the export completes', async () => {
  const image = join(sandbox.root, 'disk.img');
  run('truncate', '-s', '64M', image);
  run('mkfs.ext4', '-q', image);
  loop = run('losetup', '-f', '--show', image);
  mount(loop, front);
  writeRecording(front, 'day/clip.mp4', { ageMs: 30 * DAY_MS, size: 2_000_000 });
  // Unmounted, the page cache of the disk goes: every read of it after this meets the delay.
  unmountAll();
  mapper = `nvr-slow-${process.pid}`;
  const sectors = run('blockdev', '--getsz', loop);
  run('dmsetup', 'create', mapper, '--table', `0 ${sectors} delay ${loop} 0 ${READ_DELAY_MS} ${loop} 0 0`);
  mount(`/dev/mapper/${mapper}`, front);

  const configFile = join(sandbox.storage, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({ platform: 'NvrRetention', databasePath: sandbox.databasePath, cameras: [{ name: 'Front', path: front, retentionDays: 7 }] }),
  );
  engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), {
    log: silentLogger,
    exportLeaseMs: LEASE_MS,
  });
  engine.scan();
  const id = engine.list({}, { limit: 10, offset: 0 })[0]!.id;
  const destination = join(sandbox.root, 'exported');

  let exportDone = false;
  const exporting = engine.export([id], destination, 'test').finally(() => {
    exportDone = true;
  });
  // Well past the first lease, the copy still under way.
  await new Promise((done) => setTimeout(done, 2 * LEASE_MS));
  const sweep = spawn(process.execPath, [CLI, 'sweep', '--json', '--config', configFile], { encoding: 'utf8' } as never);
  let output = '';
  sweep.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((done) => sweep.once('exit', done));
  const sweptDuringExport = !exportDone;
  const result = await exporting;

  console.log(`item 12: sweep finished ${sweptDuringExport ? 'during' : 'after'} the export; it deleted ${JSON.parse(output).deleted.count}`);
  expect(sweptDuringExport).toBe(true);
  expect(JSON.parse(output).deleted.count).toBe(0);
  expect(result.exported).toEqual([join(destination, 'Front', 'day/clip.mp4')]);
  expect(fs.existsSync(join(front, 'day/clip.mp4'))).toBe(true);
  expect(fs.statSync(join(destination, 'Front', 'day/clip.mp4')).size).toBe(2_000_000);
});
