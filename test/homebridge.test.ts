/**
 * A real Homebridge process with the built plugin (dist/, built by `npm test`), loaded through
 * `-P <checkout>`: Homebridge loads a -P folder that holds a package.json as that single plugin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from '@jest/globals';
import { freePort } from './helpers/ports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOMEBRIDGE = join(ROOT, 'node_modules', 'homebridge', 'bin', 'homebridge');
/** How long any one expected log line may take; start-up takes about a second. */
const WAIT_MS = 20_000;
/** The bound: Homebridge must be gone this long after SIGTERM. */
const SHUTDOWN_MS = 12_000;
const DAY_MS = 86_400_000;

/** HAP service type UUIDs as they appear in cachedAccessories. */
const CONTACT_SENSOR = '00000080-0000-1000-8000-0026BB765291';
const BATTERY = '00000096-0000-1000-8000-0026BB765291';
const SWITCH = '00000049-0000-1000-8000-0026BB765291';
const ON = '00000025-0000-1000-8000-0026BB765291';
const LEAK_SENSOR = '00000083-0000-1000-8000-0026BB765291';

interface Run {
  child: ChildProcess;
  storage: string;
  output: () => string;
  exited: Promise<number | null>;
}

let sandbox: string | undefined;
let run: Run | undefined;

afterEach(async () => {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  run = undefined;
  if (sandbox) {
    rmSync(sandbox, { recursive: true, force: true });
  }
  sandbox = undefined;
});

/** A camera folder holding `old` recordings 30 days old and one from an hour ago. */
function recordings(folder: string, old: number): string[] {
  mkdirSync(folder, { recursive: true });
  const files = Array.from({ length: old }, (_, i) => join(folder, `old-${i}.mp4`));
  const recent = join(folder, 'recent.mp4');
  for (const [file, ageMs] of [...files.map((f) => [f, 30 * DAY_MS] as const), [recent, 3_600_000] as const]) {
    writeFileSync(file, 'video');
    const time = new Date(Date.now() - ageMs);
    utimesSync(file, time, time);
  }
  return files;
}

async function startHomebridge(platforms: unknown[]): Promise<Run> {
  const storage = join(sandbox!, 'storage');
  mkdirSync(storage, { recursive: true });
  // A fresh username per run: HAP keys its pairing data and mDNS record by it.
  const username = `0E:11:22:33:${Math.floor(Math.random() * 256)
    .toString(16)
    .padStart(2, '0')}:55`.toUpperCase();
  const bridge = { name: 'NVR Test Bridge', username, port: await freePort(), pin: '031-45-154' };
  writeFileSync(join(storage, 'config.json'), JSON.stringify({ bridge, accessories: [], platforms }, null, 2));

  const child = spawn(process.execPath, [HOMEBRIDGE, '-U', storage, '-P', ROOT, '-I', '-D', '-Q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, storage, output: () => output, exited };
}

/** Resolves once the log contains `text`; fails with the log so far on timeout or early exit. */
async function waitForLog(text: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!run!.output().includes(text)) {
    if (run!.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`"${text}" not logged (exit code ${run!.child.exitCode}). Log:\n${run!.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Homebridge exits 0 when its teardown finishes, or 143 (128 + SIGTERM) from its own 5-second
 * fallback timer when something (its mDNS advertiser, on a loaded machine) is slow to close. Both are
 * an orderly exit; the bound that matters to users is the 12 seconds.
 */
const CLEAN_EXIT_CODES = [0, 143];

async function stopWithinBound(): Promise<number | null> {
  run!.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${SHUTDOWN_MS} ms after SIGTERM. Log:\n${run!.output()}`)), SHUTDOWN_MS);
  });
  try {
    return await Promise.race([run!.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Our plugin's log lines (prefixed with the platform name) that mention an error. */
const pluginErrorLines = (output: string) =>
  output.split('\n').filter((line) => /\[NvrRetention\]|nvr-retention/i.test(line) && /error/i.test(line));

interface CachedAccessory {
  UUID: string;
  displayName: string;
  services: { UUID: string; characteristics: { UUID: string; value: unknown }[] }[];
}

function cachedAccessories(storage: string): CachedAccessory[] {
  const folder = join(storage, 'accessories');
  return readdirSync(folder)
    .filter((name) => name.startsWith('cachedAccessories'))
    .flatMap((name) => JSON.parse(readFileSync(join(folder, name), 'utf8')));
}

describe('the plugin in a real Homebridge', () => {
  test('sweeps at start-up, publishes its accessories and exits promptly on SIGTERM', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const front = recordings(join(sandbox, 'recordings', 'front'), 3);
    const back = recordings(join(sandbox, 'recordings', 'back'), 2);
    run = await startHomebridge([
      {
        platform: 'NvrRetention',
        cameras: [
          { name: 'Front', path: join(sandbox, 'recordings', 'front'), retentionDays: 7 },
          { name: 'Back', path: join(sandbox, 'recordings', 'back'), retentionDays: 7 },
        ],
      },
    ]);

    await waitForLog('Sweep deleted 5 recordings');
    for (const file of [...front, ...back]) {
      expect(() => readFileSync(file)).toThrow(/ENOENT/);
    }
    expect(readdirSync(join(sandbox, 'recordings', 'front'))).toEqual(['recent.mp4']);

    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(pluginErrorLines(run.output())).toEqual([]);

    const accessories = cachedAccessories(run.storage);
    const byName = new Map(accessories.map((a) => [a.displayName, a.services.map((s) => s.UUID)]));
    expect([...byName.keys()].sort()).toEqual(['Protect Back', 'Protect Front', 'Recordings Storage']);
    expect(byName.get('Recordings Storage')).toEqual(expect.arrayContaining([CONTACT_SENSOR, BATTERY]));
    expect(byName.get('Protect Front')).toContain(SWITCH);
    expect(byName.get('Protect Back')).toContain(SWITCH);
  });

  test('without a platform block Homebridge starts and the plugin stays quiet', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    run = await startHomebridge([]);
    await waitForLog('is running on port');
    expect(run.output()).toContain('Loaded plugin: homebridge-nvr-retention');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(pluginErrorLines(run.output())).toEqual([]);
  });

  test('a broken platform block is reported field by field and Homebridge keeps running', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    run = await startHomebridge([
      {
        platform: 'NvrRetention',
        minFreeGB: 'lots',
        cameras: [{ name: 'Front', path: join(sandbox, 'front'), retentionDays: 0 }],
      },
    ]);
    await waitForLog('Retention is off until the config is fixed');
    expect(run.output()).toContain('Config: minFreeGB: must be a number');
    expect(run.output()).toContain('Config: cameras[0].retentionDays: must be greater than 0');
    await waitForLog('is running on port');
    expect(run.child.exitCode).toBeNull();
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
  });

  test('a bad camera entry disables that camera only', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const front = recordings(join(sandbox, 'recordings', 'front'), 1);
    run = await startHomebridge([
      {
        platform: 'NvrRetention',
        cameras: [
          { name: 'Front', path: join(sandbox, 'recordings', 'front'), retentionDays: 7 },
          { name: 'Attic', path: 'attic', retentionDays: 7 },
        ],
      },
    ]);
    await waitForLog('Sweep deleted 1 recording ');
    expect(run.output()).toContain('[Attic] disabled: cameras[1].path: must be an absolute path');
    expect(() => readFileSync(front[0])).toThrow(/ENOENT/);
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
  });

  test('a minimal config (one camera: name, path, retentionDays) starts cleanly and sweeps', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const old = recordings(join(sandbox, 'cam'), 2);
    run = await startHomebridge([{ platform: 'NvrRetention', cameras: [{ name: 'Cam', path: join(sandbox, 'cam'), retentionDays: 1 }] }]);
    await waitForLog('Sweep deleted 2 recordings');
    for (const file of old) {
      expect(() => readFileSync(file)).toThrow(/ENOENT/);
    }
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(pluginErrorLines(run.output())).toEqual([]);
  });

  test('SIGTERM in the middle of a large start-up sweep: exit within 12 s, and the index matches the disk', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const camera = join(sandbox, 'cam');
    const old = new Date(Date.now() - 30 * DAY_MS);
    for (let folder = 0; folder < 200; folder++) {
      mkdirSync(join(camera, `day-${folder}`), { recursive: true });
      for (let i = 0; i < 100; i++) {
        const file = join(camera, `day-${folder}`, `seg-${i}.mp4`);
        writeFileSync(file, 'x');
        utimesSync(file, old, old);
      }
    }
    const block = { platform: 'NvrRetention', cameras: [{ name: 'Cam', path: camera, retentionDays: 7 }] };
    run = await startHomebridge([block]);
    await waitForLog('is running on port');
    // HomeKit is up while the start-up sweep of 20,000 files is still going: stop Homebridge now.
    expect(run.output()).not.toMatch(/Sweep deleted/);
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());

    const db = new DatabaseSync(join(run.storage, 'nvr-retention', 'index.db'));
    const rows = db.prepare('SELECT rel_path, deleting FROM recordings').all() as { rel_path: string; deleting: number }[];
    expect((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe('ok');
    db.close();
    const files = new Set(
      readdirSync(camera, { recursive: true })
        .map(String)
        .filter((name) => name.endsWith('.mp4')),
    );
    // Every row still marked as being deleted is settled at the next start; every other row has its file.
    expect(rows.filter((row) => row.deleting === 0 && !files.has(row.rel_path))).toEqual([]);
    expect(files.size).toBeGreaterThan(0);

    // The next start finishes the job and leaves index and disk identical.
    run = await startHomebridge([block]);
    await waitForLog('Sweep deleted');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(readdirSync(camera)).toEqual([]);
    const after = new DatabaseSync(join(run.storage, 'nvr-retention', 'index.db'));
    expect(after.prepare('SELECT COUNT(*) AS n FROM recordings').get()).toEqual({ n: 0 });
    after.close();
  });

  test('accessories follow the config: a removed camera loses its switch, a renamed one keeps its switch and its state', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const front = join(sandbox, 'front');
    const back = join(sandbox, 'back');
    recordings(front, 0);
    recordings(back, 0);
    const camerasBefore = [
      { name: 'Front', path: front, retentionDays: 7 },
      { name: 'Back', path: back, retentionDays: 7 },
    ];
    run = await startHomebridge([{ platform: 'NvrRetention', pauseSwitch: true, cameras: camerasBefore }]);
    await waitForLog('Sweep deleted 0 recordings');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    const before = new Map(cachedAccessories(run.storage).map((a) => [a.displayName, a.UUID]));
    expect([...before.keys()].sort()).toEqual(['Pause Retention', 'Protect Back', 'Protect Front', 'Recordings Storage']);

    // The Front switch is turned on (its state lives in the index), then Front is renamed and Back removed.
    const { RetentionEngine } = await import('../src/retention/engine.js');
    const { parsePlatformConfigStrict } = await import('../src/config/schema.js');
    const engine = new RetentionEngine(parsePlatformConfigStrict({ cameras: camerasBefore }, { storagePath: run.storage }));
    engine.setProtectSwitch(engine.cameraByName('Front')!, true);
    engine.close();

    run = await startHomebridge([{ platform: 'NvrRetention', cameras: [{ name: 'Porch', path: front, retentionDays: 7 }] }]);
    await waitForLog('Sweep deleted 0 recordings');
    expect(run.output()).toContain('Removing accessories no longer in the config: Protect Back, Pause Retention');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    const after = cachedAccessories(run.storage);
    expect(after.map((a) => a.displayName).sort()).toEqual(['Protect Porch', 'Recordings Storage']);
    const porch = after.find((a) => a.displayName === 'Protect Porch')!;
    expect(porch.UUID).toBe(before.get('Protect Front'));
    const on = porch.services.find((s) => s.UUID === SWITCH)!.characteristics.find((c) => c.UUID === ON)!;
    expect(on.value).toBe(true);
  });

  test('a platform block without cameras starts cleanly: one warning, no error, no accessories', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    run = await startHomebridge([{ platform: 'NvrRetention', name: 'NVR Retention' }]);
    await waitForLog('No usable cameras in the config');
    await waitForLog('is running on port');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(pluginErrorLines(run.output())).toEqual([]);
    const cache = join(run.storage, 'accessories');
    expect(existsSync(cache) ? cachedAccessories(run.storage) : []).toEqual([]);
  });

  test('a full config with every option starts cleanly, sweeps, and uses the sensor type it names', async () => {
    sandbox = mkdtempSync(join(tmpdir(), 'nvr-homebridge-'));
    const old = recordings(join(sandbox, 'recordings', 'front'), 2);
    mkdirSync(join(sandbox, 'recordings', 'drive', 'events'), { recursive: true });
    run = await startHomebridge([
      {
        platform: 'NvrRetention',
        name: 'Retention',
        cameras: [
          {
            name: 'Front',
            path: join(sandbox, 'recordings', 'front'),
            retentionDays: 7,
            eventRetentionDays: 30,
            storageQuotaGB: 10,
            eventPatterns: ['**/events/**'],
            extensions: ['mp4', '.MKV'],
            protectSwitch: true,
          },
          { name: 'Drive', path: join(sandbox, 'recordings', 'drive'), retentionDays: 0.5, protectSwitch: false },
        ],
        maxTotalGB: 100,
        minFreeGB: 0.001,
        minAgeSeconds: 60,
        protectHours: 12,
        schedule: '*/30 * * * *',
        timezone: 'Europe/Berlin',
        sweepOnStartup: true,
        databasePath: join(sandbox, 'index', 'retention.db'),
        exportPath: join(sandbox, 'exports'),
        diskPressureSensor: 'leak',
        pauseSwitch: true,
      },
    ]);
    await waitForLog('Sweep deleted 2 recordings');
    for (const file of old) {
      expect(() => readFileSync(file)).toThrow(/ENOENT/);
    }
    expect(readdirSync(join(sandbox, 'index'))).toContain('retention.db');
    expect(CLEAN_EXIT_CODES).toContain(await stopWithinBound());
    expect(pluginErrorLines(run.output())).toEqual([]);
    const byName = new Map(cachedAccessories(run.storage).map((a) => [a.displayName, a.services.map((service) => service.UUID)]));
    expect([...byName.keys()].sort()).toEqual(['Pause Retention', 'Protect Front', 'Recordings Storage']);
    expect(byName.get('Recordings Storage')).toEqual(expect.arrayContaining([LEAK_SENSOR, BATTERY]));
    expect(byName.get('Recordings Storage')).not.toContain(CONTACT_SENSOR);
  });
});
