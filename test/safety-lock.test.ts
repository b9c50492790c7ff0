/**
 * One sweep at a time, and holds that outlive the index file (issue 11, items 6, 7, 13): real
 * processes (the CLI, a long-lived engine as Homebridge runs one, one in its own PID namespace),
 * real files on a tmpfs, and real mid-sweep moments (the sweeping process waits after its first
 * batch, holding the lock, while the test acts from other processes).
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, safetySandbox, type SafetySandbox } from './helpers/safety.js';

const rootTest = isRoot ? test : test.skip;

let box: SafetySandbox;
let root: string;
let storage: string;
let gate: string;
let oldFiles: SafetySandbox['oldFiles'];
let config: SafetySandbox['config'];
let cli: SafetySandbox['cli'];
let child: SafetySandbox['child'];

beforeEach(() => {
  box = safetySandbox('nvr-safety-lock');
  ({ root, storage, gate, oldFiles, config, cli, child } = box);
});

afterEach(() => box.remove());

describe('the sweep lock is one the kernel keeps (rules §3.9)', () => {
  rootTest('a sweep in another PID namespace (Homebridge in Docker) holds it against the host; SIGKILL frees it', async () => {
    const files = oldFiles(3000);
    const file = config('config.json');
    const inContainer = child(file, { gate, prefix: ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'] });
    expect(await inContainer.next()).toMatchObject({ ready: true });
    inContainer.send('sweep 100');
    expect(await inContainer.next()).toEqual({ midSweep: true });

    let tries = 0;
    for (; tries < 5; tries++) {
      const onHost = cli(file, 'sweep');
      expect(onHost.code).toBe(1);
      expect(onHost.stderr).toMatch(/another sweep is running \(sweep \(child\), pid \d+/);
    }
    console.log(`host sweeps refused while the namespaced sweep held the lock: ${tries} of ${tries}`);
    expect(files.filter(existsSync).length).toBe(2900);

    await inContainer.kill();
    const after = cli(file, 'sweep', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).deleted.count).toBe(2900);
    expect(files.filter(existsSync)).toEqual([]);
  });
});

describe('the index deleted mid-sweep (rules §3.9, §10)', () => {
  rootTest('no second sweep runs, a hold asked for meanwhile is refused or kept, and the first sweep stops', async () => {
    const files = oldFiles(3000);
    const target = files[2500]!;
    const file = config('config.json');
    const sweeper = child(file, { gate });
    expect(await sweeper.next()).toMatchObject({ ready: true });
    sweeper.send('sweep 100');
    expect(await sweeper.next()).toEqual({ midSweep: true });

    const index = join(storage, 'nvr-retention', 'index.db');
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${index}${suffix}`, { force: true });
    }
    const protect = cli(file, 'protect', target);
    let tries = 0;
    for (; tries < 3; tries++) {
      const second = cli(file, 'sweep');
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/another sweep is running/);
    }
    console.log(`second sweeps refused on the new index: ${tries} of ${tries}; protect meanwhile: exit ${protect.code}`);
    writeFileSync(gate, '');
    const first = await sweeper.next();
    expect(first.status).toBe('done');
    expect(first.events).toContain('sweep_stopped');
    expect(first.deleted).toBe(100);
    // Reported as made (exit 0) or refused (exit 1, saying why): never reported and then deleted.
    expect(protect.code === 0 ? 'kept' : protect.stderr).toMatch(protect.code === 0 ? /kept/ : /another sweep is running/);
    expect(existsSync(target)).toBe(true);

    expect(cli(file, 'protect', target).code).toBe(0);
    await sweeper.exit();
    expect(cli(file, 'sweep').code).toBe(0);
    expect(existsSync(target)).toBe(true);
    expect(files.filter(existsSync)).toEqual([target]);
  });
});

describe('two configs, one storage folder (rules §12)', () => {
  test('a cron CLI without databasePath never moves the index that Homebridge, with its own databasePath, has open', async () => {
    const [kept, old] = oldFiles(2);
    const custom = join(root, 'custom', 'index.db');
    const homebridge = child(config('homebridge.json', { databasePath: custom }));
    expect(await homebridge.next()).toMatchObject({ ready: true });
    homebridge.send(`protect ${kept}`);
    expect(await homebridge.next()).toEqual({ protected: 1 });

    const cron = cli(config('block.json'), 'sweep');
    expect(cron.code).toBe(0);
    expect(cron.stderr).toMatch(new RegExp(`index at ${custom} is open in another process`));
    expect(existsSync(custom)).toBe(true);
    expect(existsSync(`${custom}.migrated`)).toBe(false);
    expect(existsSync(old!)).toBe(false);

    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done' });
    expect(existsSync(kept!)).toBe(true);
    expect(cli(config('block.json'), 'list', '--protected', '--json').stdout).toContain('r000000.mp4');
  });

  test('holds survive whichever process starts first: the CLI first, then Homebridge with another databasePath', async () => {
    const [kept, old] = oldFiles(2);
    expect(cli(config('block.json'), 'protect', kept!).code).toBe(0);
    const custom = join(root, 'custom', 'index.db');
    const homebridge = child(config('homebridge.json', { databasePath: custom }));
    expect(await homebridge.next()).toMatchObject({ ready: true });
    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done', deleted: 1 });
    expect(existsSync(kept!)).toBe(true);
    expect(existsSync(old!)).toBe(false);
  });

  test('a long-lived engine whose index was moved away under it by another process follows it, holds and all', async () => {
    const [kept] = oldFiles(2);
    const homebridge = child(config('homebridge.json'));
    expect(await homebridge.next()).toMatchObject({ ready: true });
    homebridge.send(`protect ${kept}`);
    expect(await homebridge.next()).toEqual({ protected: 1 });
    // What an older version did: the index and its journal renamed, and the location file pointed at them.
    const index = join(storage, 'nvr-retention', 'index.db');
    const moved = join(root, 'elsewhere.db');
    execFileSync('sqlite3', [index, 'PRAGMA wal_checkpoint(TRUNCATE)']);
    execFileSync('mv', [index, moved]);
    execFileSync('mv', [`${index}.holds.jsonl`, `${moved}.holds.jsonl`]);
    writeFileSync(join(storage, 'nvr-retention', 'index-location.json'), JSON.stringify({ databasePath: moved }));

    homebridge.send('sweep');
    expect(await homebridge.next()).toMatchObject({ status: 'done', deleted: 1 });
    expect(existsSync(kept!)).toBe(true);
  });
});
