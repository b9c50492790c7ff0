/**
 * Issue 11, item 18: one folder below a camera that the process may not read (mode 000, or the
 * `lost+found` of an ext4 disk used as the camera folder while Homebridge runs as its own user) is
 * skipped with an `unreadable_folder` warning, once per sweep; what is indexed in it is kept, not
 * counted as gone, and the rest of the camera is swept. The real CLI runs as root without the
 * capabilities that bypass file modes (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH),
 * which is what an unprivileged Homebridge user meets. Needs root (mount, setpriv).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { mount, unmountAll } from './helpers/deletion-safety.js';
import { DAY_MS, makeSandbox, type Sandbox, settleFolders, writeRecording } from './helpers/tree.js';

// Sweeps of tens of thousands of real files, several times: minutes on a loaded machine.
jest.setTimeout(600_000);

const CLI = resolve('dist/cli/bin.js');
const NO_DAC = ['--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search'];

let sandbox: Sandbox;
let front: string;
let configFile: string;

beforeEach(() => {
  sandbox = makeSandbox('nvr-folders');
  front = join(sandbox.root, 'front');
  configFile = join(sandbox.storage, 'config.json');
});

afterEach(() => {
  unmountAll();
  sandbox.remove();
});

function writeConfig(): void {
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      platform: 'NvrRetention',
      databasePath: sandbox.databasePath,
      cameras: [{ name: 'Front', path: front, retentionDays: 7 }],
    }),
  );
}

/** The CLI as a user whose permissions are the file modes (no capability bypasses them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked field by field
function cliAsUser(...args: string[]): { code: number; json: any } {
  const result = spawnSync('setpriv', [...NO_DAC, process.execPath, CLI, ...args, '--config', configFile, '--json'], { encoding: 'utf8' });
  expect(result.stderr).not.toMatch(/Failed|Bad config|Error/);
  return { code: result.status ?? -1, json: JSON.parse(result.stdout) };
}

/** The recordings in a folder; none when the sweep removed the folder it emptied. */
function recordingsIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.mp4')) : [];
}

test('item 18: a folder of mode 000 is skipped with one warning a sweep, its recordings stay indexed, the rest of the camera goes', () => {
  for (const folder of ['a', 'locked', 'b']) {
    for (let i = 0; i < 5; i++) {
      writeRecording(front, `${folder}/${i}.mp4`, { ageMs: 30 * DAY_MS });
    }
  }
  settleFolders(front);
  writeConfig();
  // Indexed while readable; then its mode takes every permission away (a chmod leaves its mtime alone).
  expect(cliAsUser('scan').code).toBe(0);
  fs.chmodSync(join(front, 'locked'), 0o000);

  for (let sweep = 0; sweep < 2; sweep++) {
    const { code, json: report } = cliAsUser('sweep');
    expect(report.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true, missing: 0 })]);
    expect(report.events.filter((event: { kind: string }) => event.kind === 'unreadable_folder')).toEqual([
      expect.objectContaining({ camera: 'Front', path: join(front, 'locked'), severity: 'warning' }),
    ]);
    expect(report.failures).toEqual([]);
    expect(code).toBe(0);
  }
  expect(recordingsIn(join(front, 'a'))).toEqual([]);
  expect(recordingsIn(join(front, 'b'))).toEqual([]);
  expect(recordingsIn(join(front, 'locked'))).toHaveLength(5); // this process may read it
  const listed = cliAsUser('list').json.recordings as { path: string }[];
  expect(listed.map((row) => row.path).sort()).toEqual([0, 1, 2, 3, 4].map((i) => join(front, `locked/${i}.mp4`)));

  // Readable again: it goes like the rest.
  fs.chmodSync(join(front, 'locked'), 0o755);
  const { json: after } = cliAsUser('sweep');
  expect(after.deleted.count).toBe(5);
  expect(recordingsIn(join(front, 'locked'))).toEqual([]);
});

test('item 18: an ext4 disk as the camera folder, its lost+found owned by another user: swept, lost+found left alone with a warning', () => {
  const image = join(sandbox.root, 'disk.img');
  execFileSync('truncate', ['-s', '64M', image]);
  execFileSync('mkfs.ext4', ['-q', image]);
  fs.mkdirSync(front);
  mount('-o', 'loop', image, front);
  // hb-service runs Homebridge as its own user; lost+found stays root's, mode 700: here, someone else's.
  fs.chownSync(join(front, 'lost+found'), 4242, 4242);
  for (let i = 0; i < 6; i++) {
    writeRecording(front, `2026-11-0${i + 1}/clip.mp4`, { ageMs: (30 - i) * DAY_MS });
  }
  writeRecording(front, '2026-11-30/new.mp4', { ageMs: DAY_MS });
  settleFolders(front);
  writeConfig();

  const { code, json: report } = cliAsUser('sweep');
  expect(report.cameras).toEqual([expect.objectContaining({ name: 'Front', available: true })]);
  expect(report.events).toContainEqual(expect.objectContaining({ kind: 'unreadable_folder', path: join(front, 'lost+found') }));
  expect(report.deleted.count).toBe(6);
  expect(code).toBe(0);
  expect(fs.existsSync(join(front, '2026-11-30/new.mp4'))).toBe(true);
});
