/**
 * The `nvr-retention` CLI as a shell user runs it: the command package.json installs (dist/cli/bin.js,
 * which runs dist/cli/main.js) in a child process, on real files, with its real exit codes.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { FileLock } from '../src/store/file-lock.js';
import { liveLock } from './helpers/lock.js';

const CLI = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin['nvr-retention']);
const DAY = 86_400_000;

let root: string;
let cams: string;
let configFile: string;

function file(relPath: string, ageDays: number, size = 1000): string {
  const path = join(cams, relPath);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(size, 1));
  const time = new Date(Date.now() - ageDays * DAY);
  utimesSync(path, time, time);
  return path;
}

function writeConfig(block: Record<string, unknown>, asHomebridgeConfig = true): void {
  const content = asHomebridgeConfig
    ? { bridge: { name: 'test' }, platforms: [{ platform: 'Other' }, { platform: 'NvrRetention', ...block }] }
    : block;
  writeFileSync(configFile, JSON.stringify(content));
}

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args, '--config', configFile], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, checked field by field
function json(...args: string[]): Record<string, any> {
  const result = cli(...args, '--json');
  expect(result.stderr).not.toMatch(/Failed|Bad config/);
  return JSON.parse(result.stdout);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nvr-cli-'));
  cams = join(root, 'cams');
  mkdirSync(join(root, 'storage'));
  configFile = join(root, 'storage', 'config.json');
  mkdirSync(join(cams, 'front'), { recursive: true });
  mkdirSync(join(cams, 'back'), { recursive: true });
  writeConfig({
    cameras: [
      { name: 'Front', path: join(cams, 'front'), retentionDays: 7 },
      { name: 'Back', path: join(cams, 'back'), retentionDays: 2, storageQuotaGB: 0.000003 },
    ],
  });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('nvr-retention sweep', () => {
  test('a dry run reports what would go and deletes nothing; the real sweep then deletes exactly that', () => {
    const old = file('front/2026-01-01/old.mp4', 10);
    file('front/2026-01-01/old.json', 10, 50);
    const young = file('front/2026-01-09/young.mp4', 1);
    const oldEvent = file('front/events/motion-1.mp4', 10);
    const backFiles = [1, 2, 3, 4, 5].map((i) => file(`back/clip${i}.mp4`, 1.5 - i * 0.1));

    const preview = json('sweep', '--dry-run');
    expect(preview.dryRun).toBe(true);
    expect(preview.deleted).toEqual({ count: 3, bytes: 3050 });
    expect(preview.byReason.age).toEqual({ count: 1, bytes: 1050 });
    expect(preview.byReason.quota).toEqual({ count: 2, bytes: 2000 });
    expect(preview.byCamera).toEqual({ Front: { count: 1, bytes: 1050 }, Back: { count: 2, bytes: 2000 } });
    expect(preview.spared).toEqual({ protected: 0 });
    expect(preview.failures).toEqual([]);
    expect(preview.deletions.map((d: { path: string }) => d.path)).toEqual(['2026-01-01/old.mp4', 'clip1.mp4', 'clip2.mp4']);
    expect(existsSync(old)).toBe(true);

    const sweep = json('sweep');
    expect(sweep.dryRun).toBe(false);
    expect(sweep.deleted).toEqual(preview.deleted);
    expect(sweep.byReason).toEqual(preview.byReason);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(join(cams, 'front/2026-01-01'))).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(oldEvent)).toBe(true);
    expect(backFiles.map(existsSync)).toEqual([false, false, true, true, true]);
  });

  test('the text output ends with one summary line naming the reasons', () => {
    file('front/a.mp4', 10);
    const result = cli('sweep');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(
      /^Sweep deleted 1 recording \(1\.00 kB\): age 1 \(1\.00 kB\); 0 failures in \d/,
    );
  });

  test('a camera whose folder is gone is reported unavailable in the events and keeps its rows', () => {
    file('front/a.mp4', 1);
    file('front/b.mp4', 1);
    expect(cli('scan').code).toBe(0);
    rmSync(join(cams, 'front'), { recursive: true });
    const report = json('sweep');
    expect(report.events).toContainEqual(expect.objectContaining({ kind: 'camera_unavailable', camera: 'Front', severity: 'warning' }));
    const status = json('status');
    expect(status.cameras[0]).toMatchObject({ name: 'Front', available: false, recordings: 2 });
  });
});

describe('nvr-retention scan --accept-missing', () => {
  test('an emptied camera stays unavailable until a person accepts the loss', () => {
    file('front/a.mp4', 1);
    file('front/b.mp4', 1);
    file('front/c.mp4', 1);
    expect(cli('scan').code).toBe(0);
    for (const name of ['a', 'b', 'c']) {
      rmSync(join(cams, `front/${name}.mp4`));
    }
    const refused = cli('scan');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/Front: UNAVAILABLE, 3 of 3 indexed recordings are gone at once/);
    expect(json('status').cameras[0].recordings).toBe(3);

    const accepted = json('scan', '--accept-missing', 'Front');
    expect(accepted.cameras[0]).toMatchObject({ name: 'Front', available: true, removed: 3, recordings: 0 });
  });

  test('naming a camera that does not exist is bad usage', () => {
    const result = cli('scan', '--accept-missing', 'Garage');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no camera named "Garage"/);
  });
});

describe('nvr-retention protect / unprotect', () => {
  test('a protected recording survives a sweep that would delete it; unprotected, it goes', () => {
    const kept = file('front/evidence.mp4', 30);
    const protect = cli('protect', 'cams/front/evidence.mp4');
    expect(protect.code).toBe(0);
    expect(protect.stdout).toMatch(/Protected 1 recording\b/);

    const sweep = json('sweep');
    expect(sweep.deleted.count).toBe(0);
    expect(sweep.spared.protected).toBe(1);
    expect(existsSync(kept)).toBe(true);
    const listed = json('list', '--protected');
    expect(listed.recordings).toEqual([expect.objectContaining({ path: kept, protected: true, protectedBy: 'cli' })]);

    expect(cli('unprotect', kept).code).toBe(0);
    expect(json('sweep').deleted.count).toBe(1);
    expect(existsSync(kept)).toBe(false);
  });

  test('--until keeps a recording until the date, then normal rules apply', () => {
    const clip = file('front/clip.mp4', 30);
    const until = new Date(Date.now() + DAY).toISOString();
    expect(cli('protect', clip, '--until', until).code).toBe(0);
    expect(json('sweep').deleted.count).toBe(0);
    expect(existsSync(clip)).toBe(true);

    expect(cli('protect', clip, '--until', new Date(Date.now() - 1000).toISOString()).code).toBe(0);
    expect(json('sweep').deleted.count).toBe(1);
  });

  test("protect --camera --hours holds only that camera's recent footage", () => {
    file('front/recent.mp4', 0.01);
    file('front/older.mp4', 2);
    file('back/recent.mp4', 0.01);
    const result = json('protect', '--camera', 'Front', '--hours', '3');
    expect(result.protected).toBe(1);
    const listed = json('list', '--protected');
    expect(listed.recordings.map((r: { path: string }) => r.path)).toEqual([join(cams, 'front/recent.mp4')]);
  });

  test('a path outside every camera folder is refused with exit 1 and nothing changes', () => {
    writeFileSync(join(root, 'elsewhere.mp4'), 'x');
    const result = cli('protect', join(root, 'elsewhere.mp4'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not inside any camera folder/);
  });
});

describe('nvr-retention list and status', () => {
  /** Three Front recordings (one an event) and one Back recording, 3, 2, 1 and half a day old. */
  function fourRecordings(): void {
    file('front/c1.mp4', 3);
    file('front/c2.mp4', 2);
    file('front/events/e1.mp4', 1);
    file('back/b1.mp4', 0.5);
    // list reads the index as the last scan left it (it never takes the sweep lock).
    expect(cli('scan').code).toBe(0);
  }

  test('list shows the index as the last scan left it: a recording added since shows after the next scan', () => {
    fourRecordings();
    file('front/c3.mp4', 0.1);
    expect(json('list').recordings).toHaveLength(4);
    expect(cli('scan').code).toBe(0);
    expect(json('list').recordings).toHaveLength(5);
  });

  test('list --camera lists that camera only, newest first', () => {
    fourRecordings();
    expect(json('list', '--camera', 'Front').recordings.map((r: { path: string }) => r.path.slice(cams.length + 1))).toEqual([
      'front/events/e1.mp4',
      'front/c2.mp4',
      'front/c1.mp4',
    ]);
  });

  test('list --class event lists the event recordings only', () => {
    fourRecordings();
    expect(json('list', '--class', 'event').recordings).toHaveLength(1);
  });

  test('list --since lists the recordings that ended since then', () => {
    fourRecordings();
    const since = new Date(Date.now() - 1.5 * DAY).toISOString();
    expect(json('list', '--since', since).recordings).toHaveLength(2);
  });

  test('list --limit and --offset give pages, and say when there are more', () => {
    fourRecordings();
    const page = json('list', '--limit', '2');
    expect(page.recordings).toHaveLength(2);
    expect(page.more).toBe(true);
    expect(json('list', '--limit', '2', '--offset', '2').recordings).toHaveLength(2);
  });

  /** Status after a sweep that deleted c1.mp4 (10 days old) and kept an event recording of a day. */
  function statusAfterSweep() {
    file('front/c1.mp4', 10, 2000);
    file('front/events/motion.mp4', 1, 500);
    expect(cli('sweep').code).toBe(0);
    return json('status');
  }

  test('status gives per-camera counts and bytes', () => {
    expect(statusAfterSweep().cameras[0]).toMatchObject({
      name: 'Front',
      available: true,
      recordings: 1,
      bytes: 500,
      eventRecordings: 1,
      protectedRecordings: 0,
      quotaBytes: null,
    });
  });

  test('status gives each disk with its free space and the cameras on it', () => {
    const status = statusAfterSweep();
    expect(status.filesystems[0].freeBytes).toBeGreaterThan(0);
    expect(status.filesystems[0].cameras).toEqual(['Front', 'Back']);
  });

  test('status gives the last sweep', () => {
    expect(statusAfterSweep().lastSweep).toMatchObject({ status: 'done' });
  });

  test('status without --json prints each camera with its counts', () => {
    statusAfterSweep();
    expect(cli('status').stdout).toMatch(/Front \(.*\)\n {2}1 recording, 500 B \(1 event\)/);
  });
});

describe('nvr-retention export', () => {
  /** Exports front/2026-01-01/clip.mp4 (with clip.json) to root/out; returns the clip's path and the export folder. */
  function exportClip(): { clip: string; out: string } {
    const clip = file('front/2026-01-01/clip.mp4', 1, 4000);
    file('front/2026-01-01/clip.json', 1, 20);
    const out = join(root, 'out');
    const result = cli('export', clip, '--to', out);
    expect(result.code).toBe(0);
    return { clip, out };
  }

  test('copies a recording and its sidecar out, byte for byte', () => {
    const { clip, out } = exportClip();
    expect(readFileSync(join(out, 'Front/2026-01-01/clip.mp4'))).toEqual(readFileSync(clip));
    expect(existsSync(join(out, 'Front/2026-01-01/clip.json'))).toBe(true);
  });

  test('leaves the original where it was', () => {
    const { clip } = exportClip();
    expect(existsSync(clip)).toBe(true);
  });

  test('leaves no export lock behind', () => {
    exportClip();
    const db = new DatabaseSync(join(root, 'storage/nvr-retention/index.db'));
    expect(db.prepare('SELECT COUNT(*) AS n FROM recordings WHERE export_lock_until IS NOT NULL').get()).toEqual({ n: 0 });
    db.close();
  });

  test('without --to it is bad usage', () => {
    const clip = file('front/clip.mp4', 1);
    expect(cli('export', clip).code).toBe(2);
  });
});

describe('exit codes and config errors', () => {
  test('a bad camera field refuses the whole config with exit 2, naming the field', () => {
    writeConfig({
      cameras: [
        { name: 'Front', path: join(cams, 'front'), retentionDays: 7 },
        { name: 'Back', path: join(cams, 'back'), retentionDays: 0 },
      ],
    });
    const result = cli('sweep');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cameras\[1\]\.retentionDays: must be greater than 0/);
  });

  test('a file holding just the platform block works as --config', () => {
    writeConfig({ cameras: [{ name: 'Front', path: join(cams, 'front'), retentionDays: 7 }] }, false);
    file('front/a.mp4', 8);
    expect(json('sweep').deleted.count).toBe(1);
  });

  test('a Homebridge config without our platform is exit 2, naming the platform', () => {
    writeFileSync(configFile, JSON.stringify({ platforms: [{ platform: 'Other' }] }));
    expect(cli('status')).toMatchObject({ code: 2, stderr: expect.stringMatching(/no "NvrRetention" platform block/) });
  });

  test('whatever the command does not know (a command, a flag, a flag value) is exit 2, with a good config', () => {
    expect(cli('frobnicate').code).toBe(2);
    expect(cli('status', '--bogus').code).toBe(2);
    expect(cli('list', '--class', 'sometimes').code).toBe(2);
  });

  test('a missing config file is exit 2, saying it cannot be read', () => {
    rmSync(configFile);
    expect(cli('status')).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read/) });
  });

  test('a sweep while another process holds the sweep lock fails with exit 1 and names the holder', () => {
    expect(cli('scan').code).toBe(0);
    const db = new DatabaseSync(join(root, 'storage/nvr-retention/index.db'));
    liveLock(db, 'sweep (schedule)');
    db.close();
    // And the lock the kernel keeps for that process (rules §3.9), which is what the CLI actually finds taken.
    const kernelLock = new FileLock(join(root, 'storage/nvr-retention/index.db.lock'), 'single');
    expect(kernelLock.tryTake()).toBe(true);
    const result = cli('sweep');
    kernelLock.release();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/another sweep is running \(sweep \(schedule\), pid \d+/);
  });

  test('status and list only read: with the sweep lock held elsewhere they answer as usual and leave the lock alone', () => {
    file('front/c1.mp4', 1);
    expect(cli('scan').code).toBe(0);
    const db = new DatabaseSync(join(root, 'storage/nvr-retention/index.db'));
    liveLock(db, 'sweep (schedule)');
    const holder = db.prepare('SELECT token FROM sweep_lock').all();
    for (const command of ['status', 'list']) {
      const result = cli(command);
      expect(result).toMatchObject({ code: 0, stderr: '' });
    }
    expect(json('status').cameras[0].recordings).toBe(1);
    expect(db.prepare('SELECT token FROM sweep_lock').all()).toEqual(holder);
    db.close();
  });

  test('--help prints the usage and exits 0; no command is exit 2', () => {
    expect(cli('--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: nvr-retention/) });
    expect(spawnSync(process.execPath, [CLI], { encoding: 'utf8' }).status).toBe(2);
  });
});

describe('the installed command', () => {
  // process.execve came with Node 22.15; on an older Node the command runs with V8's default sizes.
  const canRestart = typeof (process as { execve?: unknown }).execve === 'function';

  test('runs in a Node with a small young generation and a slowly growing old one (less memory on a Pi), unless the user chose the sizes', () => {
    const plain = cliWith({ NODE_OPTIONS: '' }, 'status', '--verbose');
    expect(plain.code).toBe(0);
    const ours = canRestart ? '--max-semi-space-size=2 --heap-growing-percent=50' : 'none';
    expect(plain.stderr).toMatch(new RegExp(`^Node v\\S+, flags: ${ours}, NODE_OPTIONS: none, thread pool: 32$`, 'm'));

    const chosen = cliWith({ NODE_OPTIONS: '--max-semi-space-size=8', UV_THREADPOOL_SIZE: '6' }, 'status', '--verbose');
    expect(chosen.code).toBe(0);
    const rest = canRestart ? '--heap-growing-percent=50' : 'none';
    expect(chosen.stderr).toMatch(new RegExp(`^Node v\\S+, flags: ${rest}, NODE_OPTIONS: --max-semi-space-size=8, thread pool: 6$`, 'm'));

    const both = spawnSync(
      process.execPath,
      ['--max-semi-space-size=4', '--heap-growing-percent=80', CLI, 'status', '--verbose', '--config', configFile],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    expect(both.status).toBe(0);
    expect(both.stderr).toMatch(
      /^Node v\S+, flags: --max-semi-space-size=4 --heap-growing-percent=80, NODE_OPTIONS: none, thread pool: 32$/m,
    );

    // Its exit codes and output are the CLI's own.
    const wrong = cliWith({ NODE_OPTIONS: '' }, 'protect', join(cams, 'front', 'nothing.mp4'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/nothing\.mp4/);
  });
});

describe('finding the config without --config, as a Homebridge user has it', () => {
  /** The command run from `root` with only these environment variables of Homebridge's (and a HOME of the test's). */
  function discover(env: Record<string, string>, ...args: string[]) {
    const inherited = { ...process.env };
    delete inherited.UIX_CONFIG_PATH;
    delete inherited.UIX_STORAGE_PATH;
    const result = spawnSync(process.execPath, [CLI, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...inherited, HOME: join(root, 'home'), ...env },
    });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  test("the Homebridge UI's terminal: UIX_STORAGE_PATH names the storage folder, and the command says which config it used", () => {
    file('front/old.mp4', 10);
    const result = discover({ UIX_STORAGE_PATH: join(root, 'storage') }, 'status', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Config: ${configFile} (from UIX_STORAGE_PATH; --config FILE to choose another)`);
    expect(JSON.parse(result.stdout).cameras.map((camera: { name: string }) => camera.name)).toEqual(['Front', 'Back']);
    // The index is the storage folder's, the one Homebridge uses.
    expect(existsSync(join(root, 'storage', 'nvr-retention', 'index.db'))).toBe(true);
  });

  test('UIX_CONFIG_PATH comes first, with UIX_STORAGE_PATH as the storage folder', () => {
    const elsewhere = join(root, 'etc', 'homebridge.json');
    mkdirSync(join(root, 'etc'));
    writeFileSync(elsewhere, readFileSync(configFile));
    const result = discover({ UIX_CONFIG_PATH: elsewhere, UIX_STORAGE_PATH: join(root, 'storage') }, 'status');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Config: ${elsewhere} (from UIX_CONFIG_PATH;`);
    expect(existsSync(join(root, 'storage', 'nvr-retention', 'index.db'))).toBe(true);
  });

  test('/var/lib/homebridge (hb-service on Linux) before ~/.homebridge, and ~/.homebridge when it is the only one', async () => {
    const { findConfig } = await import('../src/cli/main.js');
    const service = join(root, 'var-lib-homebridge');
    const home = join(root, 'home');
    mkdirSync(join(home, '.homebridge'), { recursive: true });
    writeFileSync(join(home, '.homebridge', 'config.json'), '{}');
    expect(findConfig({}, home, service)).toEqual({
      file: join(home, '.homebridge', 'config.json'),
      why: "Homebridge's default storage folder",
    });
    mkdirSync(service);
    writeFileSync(join(service, 'config.json'), '{}');
    expect(findConfig({}, home, service)).toEqual({ file: join(service, 'config.json'), why: "hb-service's storage folder" });
  });

  test('with no config anywhere, the error says where it looked', async () => {
    const { findConfig } = await import('../src/cli/main.js');
    const found = findConfig({ UIX_STORAGE_PATH: join(root, 'nowhere') }, join(root, 'home'), join(root, 'no-service'));
    expect(found.why).toBe(
      `none found: looked for ${join(root, 'nowhere', 'config.json')}, ${join(root, 'no-service', 'config.json')}, ${join(root, 'home', '.homebridge', 'config.json')}`,
    );
    const result = discover({ UIX_STORAGE_PATH: join(root, 'nowhere') }, 'status');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Config: .*\(none found: looked for .*nowhere\/config\.json/m);
    expect(result.stderr).toContain('cannot read');
  });
});
