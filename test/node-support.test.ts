/**
 * The built plugin on the Node versions users run it on, as real processes: on a Node without
 * `node:sqlite` (this machine's /usr/bin/node, Node 20) the plugin in a real Homebridge and the
 * command each say so in one line; on Node 22 neither the plugin (nor its worker thread), the
 * settings server nor the command prints SQLite's ExperimentalWarning, and other warnings still show.
 */
import { fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from '@jest/globals';
import {
  CLEAN_EXIT_CODES,
  killIfRunning,
  loadFailureLines,
  startHomebridge,
  stopWithinBound,
  waitForLog,
  writeRecordings,
} from '../scripts/lib/homebridge-process.js';
import { node22, oldNode } from './helpers/node-runtimes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOMEBRIDGE = join(ROOT, 'node_modules', 'homebridge', 'bin', 'homebridge');
const CLI = join(ROOT, 'dist', 'cli', 'bin.js');
const UI_SERVER = join(ROOT, 'homebridge-ui', 'server.js');
const SQLITE_WARNING = /ExperimentalWarning|SQLite is an experimental/;

let sandbox: string;
let run: Awaited<ReturnType<typeof startHomebridge>> | undefined;

/** A sandbox with a camera folder (two old recordings, one recent) and a config.json in a storage folder beside it. */
function setUp(): { camera: string; old: string[]; storage: string; config: string; block: Record<string, unknown> } {
  sandbox = mkdtempSync(join(tmpdir(), 'nvr-node-'));
  const camera = join(sandbox, 'cam');
  const old = writeRecordings(camera, 2);
  const storage = join(sandbox, 'storage');
  mkdirSync(storage);
  const block = { platform: 'NvrRetention', cameras: [{ name: 'Cam', path: camera, retentionDays: 7 }] };
  const config = join(storage, 'config.json');
  writeFileSync(config, JSON.stringify({ platforms: [block] }));
  return { camera, old, storage, config, block };
}

afterEach(async () => {
  await killIfRunning(run);
  run = undefined;
  rmSync(sandbox, { recursive: true, force: true });
});

describe('on a Node older than 22.13', () => {
  const old = oldNode();
  const line = `homebridge-nvr-retention needs Node.js 22.13 or newer; this is ${old.version}; see the README: https://github.com/nvr-retention/homebridge-nvr-retention#install`;

  test('the command prints one line, no stack trace, and exits 2', () => {
    const { config } = setUp();
    const result = spawnSync(old.path, [CLI, 'sweep', '--config', config], { encoding: 'utf8' });
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(2);
  });

  test('in a real Homebridge the plugin logs one clear error, registers nothing, deletes nothing, and Homebridge runs on', async () => {
    const { old: files, storage, block } = setUp();
    run = await startHomebridge({ node: old.path, homebridge: HOMEBRIDGE, storage, pluginPath: ROOT, platforms: [block] });
    await waitForLog(run, 'is running on port');
    const log = run.output();
    expect(log.split('\n').filter((l) => l.includes('needs Node.js'))).toEqual([expect.stringContaining(`[NvrRetention] ${line}`)]);
    expect(loadFailureLines(log)).toEqual([]);
    expect(log).not.toContain("Registering platform 'homebridge-nvr-retention.NvrRetention'");
    expect(files.filter((file) => existsSync(file))).toEqual(files);
    expect(CLEAN_EXIT_CODES).toContain((await stopWithinBound(run)).code);
  });
});

describe('on Node 22', () => {
  const node = node22();

  test('Homebridge with the plugin (its engine in a worker thread) sweeps without the SQLite warning', async () => {
    const { old: files, storage, block } = setUp();
    run = await startHomebridge({ node, homebridge: HOMEBRIDGE, storage, pluginPath: ROOT, platforms: [block] });
    await waitForLog(run, /Sweep deleted 2 recordings/);
    expect(files.filter((file) => existsSync(file))).toEqual([]);
    expect(CLEAN_EXIT_CODES).toContain((await stopWithinBound(run)).code);
    expect(run.output()).not.toMatch(SQLITE_WARNING);
  });

  test('the command sweeps without the SQLite warning', () => {
    const { old: files, config } = setUp();
    const result = spawnSync(node, [CLI, 'sweep', '--config', config], { encoding: 'utf8' });
    expect(result.stderr).not.toMatch(SQLITE_WARNING);
    expect(result.status).toBe(0);
    expect(files.filter((file) => existsSync(file))).toEqual([]);
  });

  test('the settings server answers without the SQLite warning', async () => {
    const { storage, config } = setUp();
    const child = fork(UI_SERVER, [], {
      execPath: node,
      silent: true,
      env: { ...process.env, HOMEBRIDGE_STORAGE_PATH: storage, HOMEBRIDGE_CONFIG_PATH: config, HOMEBRIDGE_UI_VERSION: 'test' },
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((done) => child.once('exit', done));
    const answered = new Promise<{ success: boolean }>((resolve) =>
      child.on('message', (message: { action: string; payload: { success: boolean } }) => {
        if (message.action === 'ready') {
          child.send({ action: 'request', requestId: 'r1', path: '/dashboard', body: {} });
        } else if (message.action === 'response') {
          resolve(message.payload);
        }
      }),
    );
    expect((await answered).success).toBe(true);
    child.disconnect();
    await exited;
    expect(output).not.toMatch(SQLITE_WARNING);
  });

  test('only that warning is dropped: other experimental and deprecation warnings still show', () => {
    const script = [
      `const { silenceSqliteWarning } = await import(${JSON.stringify(join(ROOT, 'dist', 'runtime', 'sqlite-warning.js'))});`,
      'silenceSqliteWarning();',
      "await import('node:sqlite');",
      "process.emitWarning('Something else is an experimental feature', 'ExperimentalWarning');",
      "process.emitWarning('an old API', 'DeprecationWarning');",
    ].join('\n');
    const result = spawnSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('ExperimentalWarning: Something else is an experimental feature');
    expect(result.stderr).toContain('DeprecationWarning: an old API');
    expect(result.stderr).not.toContain('SQLite');
  });
});
