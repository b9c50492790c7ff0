/**
 * Issue 11, items 4 and 5: a hold that lands on a row a sweep has claimed wins. Item 4: `protect`
 * and `protect --until` from the real CLI (a process of its own, as cron or a shell runs it), in the
 * middle of a batch of a running 30,000-recording sweep, on files of that very batch. Item 5: a CLI
 * sweep SIGKILLed while it had a batch claimed, then `protect FILE` on a claimed file. Needs root (mount).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import { silentLogger } from '../src/retention/logger.js';
import { makeTree, midBatch, missing, mountTmpfs, recordingPath, unmountAll } from './helpers/deletion-safety.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const CLI = resolve('dist/cli/bin.js');
const FILES = 30_000;
const BATCH = 500;
const ACT_AT_CALL = 250;

let sandbox: Sandbox;
let front: string;
let configFile: string;
let engine: RetentionEngine | undefined;

beforeEach(() => {
  sandbox = makeSandbox('nvr-holds');
  const disk = join(sandbox.root, 'disk');
  mountTmpfs(disk, '512m');
  front = join(disk, 'front');
  makeTree(front, FILES);
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
  engine?.close();
  engine = undefined;
  unmountAll();
  sandbox.remove();
});

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--config', configFile], { encoding: 'utf8' }).trim();
}

describe.each(['in place', 'overlapped'] as const)('deleting %s', (way) => {
  test('item 4: protect and keep-until from the CLI on files of the batch under way: reported as made, and the files stay', async () => {
    engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front, retentionDays: 7 }]), { log: silentLogger });
    const tries = [1, 3, 6];
    const held: string[] = [];
    const said: string[] = [];
    const until = new Date(Date.now() + 2 * DAY_MS).toISOString();
    const hook = midBatch((batch, call) => {
      if (tries.includes(batch) && call === ACT_AT_CALL) {
        // Files 300..319 of this batch: claimed with it, not unlinked yet.
        const protect = Array.from({ length: 10 }, (_, k) => join(front, recordingPath(batch * BATCH + 300 + k)));
        const keep = Array.from({ length: 10 }, (_, k) => join(front, recordingPath(batch * BATCH + 310 + k)));
        said.push(cli('protect', ...protect), cli('protect', ...keep, '--until', until));
        held.push(...protect, ...keep);
      }
    });
    const report = await engine.sweep({ batchSize: BATCH, fileDeletion: way, ...hook });
    console.log(
      `item 4 (${way}): ${tries.length} tries, ${missing(held)} of ${held.length} held files deleted; the CLI said: ${said[0]} / ${said[1]}`,
    );
    expect(said).toEqual(tries.flatMap(() => ['Protected 10 recordings.', `Kept until ${until}: 10 recordings.`]));
    expect(missing(held)).toBe(0);
    expect(report.deleted.count).toBe(FILES - held.length);
    expect(report.events.filter((event) => event.kind === 'hold_too_late')).toEqual([]);
  });
});

test('item 5: after a SIGKILLed sweep, protect FILE on a row it left claimed: the hold is recorded and wins', async () => {
  const tries = 3;
  const protectedFiles: string[] = [];
  const said: string[] = [];
  const claimedRows = (): { id: number; rel_path: string }[] => {
    if (!fs.existsSync(sandbox.databasePath)) {
      return [];
    }
    const db = new DatabaseSync(sandbox.databasePath, { readOnly: true, timeout: 5000 });
    try {
      return db.prepare('SELECT id, rel_path FROM recordings WHERE deleting = 1').all() as { id: number; rel_path: string }[];
    } catch {
      return []; // The child is creating the schema.
    } finally {
      db.close();
    }
  };
  // A kill can land after the whole claimed batch is unlinked (a batch of 500 on a tmpfs takes a few
  // milliseconds, and a busy machine delays this poll): such a try left nothing to protect and is tried again.
  const mostAttempts = 4 * tries;
  let attempts = 0;
  while (protectedFiles.length < tries && attempts < mostAttempts) {
    attempts++;
    // What the previous dead sweep left claimed: the next sweep finishes it first; a new claim is what counts.
    const leftover = new Set(claimedRows().map((row) => row.id));
    const child = spawn(process.execPath, [CLI, 'sweep', '--config', configFile], { stdio: 'ignore' });
    const exited = new Promise((done) => child.once('exit', done));
    // Killed once the index shows a batch claimed (each claim is committed before its unlinks).
    let claimed: { rel_path: string }[] = [];
    for (let waited = 0; waited < 60_000 && claimed.length === 0; waited += 2) {
      await new Promise((done) => setTimeout(done, 2));
      claimed = claimedRows().filter((row) => !leftover.has(row.id));
      if (claimed.length > 0) {
        child.kill('SIGKILL');
      }
    }
    await exited;
    const present = claimed.map((row) => join(front, row.rel_path)).filter((path) => fs.existsSync(path));
    if (present.length === 0) {
      continue;
    }
    const target = present[present.length - 1]!;
    said.push(cli('protect', target));
    protectedFiles.push(target);
  }
  expect(protectedFiles).toHaveLength(tries);
  // The next sweep finishes what the dead ones started, and the rest of the camera goes.
  cli('sweep');
  console.log(
    `item 5: ${tries} SIGKILLed sweeps (${attempts} killed in all), ${missing(protectedFiles)} of ${protectedFiles.length} files protected afterwards deleted`,
  );
  expect(said).toEqual(Array.from({ length: tries }, () => 'Protected 1 recording.'));
  expect(missing(protectedFiles)).toBe(0);
  expect(fs.readdirSync(front, { recursive: true }).filter((name) => String(name).endsWith('.mp4'))).toHaveLength(tries);
});
