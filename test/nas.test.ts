/**
 * Issue 15: sweeping where the recordings really are, on a NAS with a millisecond round trip. Every
 * test runs on the project's simulated NAS (helpers/nas.ts: sshfs to an sshd of its own through a
 * relay that delays each packet 0.5 ms each way), with the real command or the real engine. What a
 * user would notice: everything expired goes, nothing held goes, the index made over the network
 * is the one a one-call-at-a-time scan makes, an idle sweep lists nothing again, and the deletions
 * ran many at a time (the command's own account of it, `--verbose`). Needs root.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { RetentionEngine } from '../src/retention/engine.js';
import type { Logger } from '../src/retention/logger.js';
import { inTurnByFolder } from '../src/runtime/folder-order.js';
import { makeTree, midBatch, missing, mountTmpfs } from './helpers/deletion-safety.js';
import { useNas } from './helpers/nas.js';
import { buildConfig, DAY_MS, filesBelow, makeSandbox, type Sandbox, setAge, settleFolders, writeRecording } from './helpers/tree.js';

// Thousands of files through a 1 ms link, several sweeps: a minute or two.
jest.setTimeout(600_000);

const CLI = resolve('dist/cli/bin.js');

// One sandbox for the file: the NAS's sshd keeps its keys there from the first test to the last.
const sandbox: Sandbox = makeSandbox('nvr-nas');
const nas = useNas(() => sandbox.root);

afterEach(() => {
  nas.unmountFolders();
});

afterAll(() => {
  sandbox.remove();
});

function writeConfig(cameraPath: string, name = 'config.json', databasePath = sandbox.databasePath, retentionDays = 7): string {
  const file = join(sandbox.storage, name);
  fs.writeFileSync(
    file,
    JSON.stringify({ platform: 'NvrRetention', databasePath, cameras: [{ name: 'Front', path: cameraPath, retentionDays }] }),
  );
  return file;
}

function cli(config: string, ...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--config', config], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `sweep --verbose`: what it prints on both streams (the log goes to standard error). */
function verboseSweep(config: string): string {
  const run = spawnSync(process.execPath, [CLI, 'sweep', '--verbose', '--config', config], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return `${run.stdout}\n${run.stderr}`;
}

/** What `--verbose` says of the deletions over a network: calls in flight at the end, and the round trip. */
function networkAccount(output: string): { inFlight: number; roundTripMs: number } | undefined {
  const said = /over a network, (\d+) in flight, round trip ([\d.]+) ms/.exec(output);
  return said ? { inFlight: Number(said[1]), roundTripMs: Number(said[2]) } : undefined;
}

function freshIndex(): void {
  for (const name of fs.readdirSync(sandbox.storage)) {
    fs.rmSync(join(sandbox.storage, name), { recursive: true, force: true });
  }
}

describe('the command on a NAS', () => {
  beforeEach(freshIndex);

  test('a first sweep indexes and deletes 4,000 expired recordings in 40 folders, many unlinks in flight, and removes the emptied folders', async () => {
    const front = await nas.folder(sandbox.root, 'front');
    makeTree(front.onDisk, 4000);
    const output = verboseSweep(writeConfig(front.mounted));
    const account = networkAccount(output);
    console.log(`first sweep over the NAS: ${output.trim().split('\n').slice(-2).join(' / ')}`);
    expect(output).toMatch(/scan: 4000 new, .* \(over a network: calls made ahead, many at a time\)/);
    expect(output).toContain('Sweep deleted 4000 recordings');
    expect(account).toBeDefined();
    // The round trip it measured is the link's (1 ms and more), and it never had more than the cap in flight.
    expect(account!.roundTripMs).toBeGreaterThanOrEqual(0.9);
    expect(account!.inFlight).toBeGreaterThanOrEqual(1);
    expect(account!.inFlight).toBeLessThanOrEqual(32);
    expect(filesBelow(front.onDisk)).toEqual([]);
    expect(fs.readdirSync(front.onDisk)).toEqual([]);
  });

  test('the index made ahead over the NAS is the one a scan makes one call at a time, and an idle sweep lists no folder again', async () => {
    const front = await nas.folder(sandbox.root, 'front');
    const young = 2 * DAY_MS;
    writeRecording(front.onDisk, '2026-11-30/10/a.mp4', { ageMs: young, size: 300, sidecars: { jpg: 20 } });
    writeRecording(front.onDisk, '2026-11-30/10/b.mp4', { ageMs: young, size: 400, sidecars: { json: { trigger: 'motion' } } });
    writeRecording(front.onDisk, '2026-11-30/10/notes.txt', { ageMs: young, size: 9 });
    writeRecording(front.onDisk, '2026-11-30/10/.part.mp4', { ageMs: young, size: 5 });
    writeRecording(front.onDisk, '2026-11-30/11/c.mkv', { ageMs: young, size: 50 });
    writeRecording(front.onDisk, 'top.mp4', { ageMs: young, size: 7 });
    fs.symlinkSync('/etc', join(front.onDisk, 'elsewhere'));
    makeTree(join(front.onDisk, 'bulk'), 1500, young);
    settleFolders(front.onDisk);
    setAge(front.onDisk, young);

    // Made ahead: the command's sweep on the fresh mount (a long retention: it deletes nothing).
    const ahead = writeConfig(front.mounted, 'ahead.json', join(sandbox.storage, 'ahead.db'), 30);
    expect(verboseSweep(ahead)).toMatch(/scan: 1504 new, .* \(over a network: calls made ahead, many at a time\)/);
    // One call at a time: the engine's own scan, on the same mount.
    const oneByOne = new RetentionEngine(
      buildConfig({ ...sandbox, databasePath: join(sandbox.storage, 'one.db') }, [
        { name: 'Front', path: front.mounted, retentionDays: 30 },
      ]),
    );
    const [scan] = oneByOne.scan();
    oneByOne.close();
    expect(scan!.added).toBe(1504);
    const rows = (db: string) => {
      const index = new DatabaseSync(db, { readOnly: true });
      try {
        return index
          .prepare('SELECT rel_path, size, file_size, end_time, class, sidecars, file_mtime FROM recordings ORDER BY rel_path')
          .all();
      } finally {
        index.close();
      }
    };
    const madeAhead = rows(join(sandbox.storage, 'ahead.db'));
    expect(madeAhead).toHaveLength(1504);
    expect(madeAhead).toEqual(rows(join(sandbox.storage, 'one.db')));

    const idle = verboseSweep(ahead);
    expect(idle).toMatch(/scan: 0 new, 0 changed, 0 gone; 0 folders read/);
    expect(idle).toContain('Sweep deleted 0 recordings');
  });
});

describe('holds on a NAS', () => {
  beforeEach(freshIndex);

  test('protect and keep-until from the CLI in the middle of a batch over the NAS: reported as made, and the files stay', async () => {
    // Batches over a network are 4,096 recordings: the first, then three more to act in.
    const FILES = 4 * 4096;
    const front = await nas.folder(sandbox.root, 'front');
    makeTree(front.onDisk, FILES);
    const config = writeConfig(front.mounted);
    const debug: string[] = [];
    const log: Logger = { debug: (message) => debug.push(message), info: () => {}, warn: () => {}, error: () => {} };
    const engine = new RetentionEngine(buildConfig(sandbox, [{ name: 'Front', path: front.mounted, retentionDays: 7 }]), { log });
    const tries = [1, 2, 3];
    const held: string[] = [];
    const said: string[] = [];
    const until = new Date(Date.now() + 2 * DAY_MS).toISOString();
    const hook = midBatch((batch, call) => {
      if (tries.includes(batch) && call === 1000) {
        // The batch under way is claimed in the index; the files it takes last (one folder after
        // another in turn) are not in flight yet: twenty of them are protected now, by another process.
        const claimed = claimedPaths().filter((path) => fs.existsSync(join(front.onDisk, path)));
        const last = inTurnByFolder(claimed.map((path) => path.slice(0, path.lastIndexOf('/'))))
          .slice(-20)
          .map((i) => join(front.mounted, claimed[i]!));
        said.push(cli(config, 'protect', ...last.slice(0, 10)).trim(), cli(config, 'protect', ...last.slice(10), '--until', until).trim());
        held.push(...last);
      }
    });
    try {
      const report = await engine.sweep(hook);
      const onDisk = held.map((path) => join(front.onDisk, path.slice(front.mounted.length + 1)));
      console.log(
        `holds over the NAS: ${tries.length} tries, ${missing(onDisk)} of ${held.length} held files deleted; ${debug.find((line) => line.startsWith('deleting files cost'))}`,
      );
      expect(said).toEqual(tries.flatMap(() => ['Protected 10 recordings.', `Kept until ${until}: 10 recordings.`]));
      expect(missing(onDisk)).toBe(0);
      expect(report.deleted.count).toBe(FILES - held.length);
      expect(report.events.filter((event) => event.kind === 'hold_too_late')).toEqual([]);
      expect(networkAccount(debug.join('\n'))).toBeDefined();
    } finally {
      engine.close();
    }

    function claimedPaths(): string[] {
      const index = new DatabaseSync(sandbox.databasePath, { readOnly: true, timeout: 5000 });
      try {
        const rows = index.prepare('SELECT rel_path FROM recordings WHERE deleting = 1 ORDER BY end_time').all() as { rel_path: string }[];
        return rows.map((row) => row.rel_path);
      } finally {
        index.close();
      }
    }
  });
});

describe('a local disk on a busy machine', () => {
  beforeEach(freshIndex);

  test('is not taken for a network when the sweep is descheduled now and then: no calls made ahead, no network batches', () => {
    // Issue 15's first version averaged its timings, and one pause of a few milliseconds (every
    // core busy with other programs) made a tmpfs look like a NAS for the rest of the sweep.
    const disk = join(sandbox.root, 'busy-disk');
    // Unmounted after the test with the NAS's folders (helpers/nas.ts).
    mountTmpfs(disk, '256m');
    makeTree(join(disk, 'front'), 30_000);
    const hogs = Array.from({ length: 2 * os.availableParallelism() }, () =>
      spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
    );
    let output: string;
    try {
      output = verboseSweep(writeConfig(join(disk, 'front')));
    } finally {
      for (const hog of hogs) {
        hog.kill('SIGKILL');
      }
    }
    console.log(`local sweep on a busy machine: ${output.trim().split('\n').slice(-2).join(' / ')}`);
    expect(output).toContain('Sweep deleted 30000 recordings');
    expect(output).toMatch(/scan: 30000 new/);
    expect(output).not.toContain('over a network');
    expect(filesBelow(join(disk, 'front'))).toHaveLength(0);
  });
});
