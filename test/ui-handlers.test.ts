/**
 * The settings UI's handlers as plain functions, on a real recordings tree and a real index: what
 * the page shows and what its buttons do to files. (homebridge-ui/server.js only registers these.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs, { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { RequestError } from '@homebridge/plugin-ui-utils';
import { Store } from '../src/store/store.js';
import { SettingsUi, type Handler } from '../src/ui/settings-ui.js';
import { DAY_MS, filesBelow, makeSandbox, writeRecording } from './helpers/tree.js';
import { makeUiFixture, type UiFixture } from './helpers/ui-fixture.js';

const CLI = resolve('dist/cli/main.js');

let fixture: UiFixture;
let ui: SettingsUi;
let call: Record<string, Handler>;
let pushed: { event: string; data: Record<string, unknown> }[];

interface Row {
  id: number;
  camera: string;
  path: string;
  size: number;
  endTime: number;
  cls: string;
  protected: boolean;
  keepUntil: number | null;
}
interface Page {
  recordings: Row[];
  total: { count: number; bytes: number };
  next: unknown;
}

beforeEach(() => {
  fixture = makeUiFixture('ui-handlers');
  pushed = [];
  ui = new SettingsUi({
    configPath: fixture.configPath,
    storagePath: fixture.sandbox.storage,
    push: (event, data) => pushed.push({ event, data: data as Record<string, unknown> }),
  });
  call = ui.handlers();
});

afterEach(async () => {
  await ui.running;
  ui.close();
  fixture.sandbox.remove();
});

/** Indexes the tree the way Homebridge would before anyone opens the settings. */
async function indexed(): Promise<void> {
  await call['/preview']({});
}

async function page(body: Record<string, unknown>): Promise<Page> {
  return (await call['/recordings'](body)) as Page;
}

async function everyPage(body: Record<string, unknown>): Promise<Row[]> {
  const rows: Row[] = [];
  let after: unknown;
  for (;;) {
    const result = await page({ ...body, ...(after ? { after } : {}) });
    rows.push(...result.recordings);
    if (!result.next) {
      return rows;
    }
    after = result.next;
  }
}

/** Bytes of every file below a camera folder: recordings and sidecars, as the index counts them. */
function bytesOnDisk(folder: string): number {
  return filesBelow(folder).reduce((sum, file) => sum + statSync(join(folder, file)).size, 0);
}

async function rejection(promise: Promise<unknown>): Promise<RequestError> {
  try {
    await promise;
  } catch (error) {
    return error as RequestError;
  }
  throw new Error('the request was accepted');
}

describe('dashboard', () => {
  test('per camera, the counts, bytes, classes and oldest/newest are those of the files on disk', async () => {
    await indexed();
    const dashboard = (await call['/dashboard']({})) as {
      status: {
        cameras: { name: string; recordings: number; bytes: number; eventRecordings: number; oldest: string; newest: string }[];
        filesystems: { freeBytes: number }[];
      };
      nextSweep: string;
      forecast: { cameras: { name: string; bytesPerDay: number }[] };
      history: { cameras: { name: string; bytes: number[] }[] };
    };
    for (const name of ['Front Door', 'Back Yard'] as const) {
      const files = fixture.files.filter((file) => file.camera === name);
      const camera = dashboard.status.cameras.find((c) => c.name === name)!;
      expect(camera.recordings).toBe(files.length);
      expect(camera.bytes).toBe(files.reduce((sum, file) => sum + file.size, 0));
      expect(camera.eventRecordings).toBe(files.filter((file) => file.event).length);
      const mtimes = files.map((file) => statSync(file.absolute).mtimeMs);
      expect(Date.parse(camera.oldest)).toBe(Math.floor(Math.min(...mtimes)));
      expect(Date.parse(camera.newest)).toBe(Math.floor(Math.max(...mtimes)));
      // The chart's last point is what is on disk now.
      expect(dashboard.history.cameras.find((c) => c.name === name)!.bytes.at(-1)).toBe(camera.bytes);
    }
    expect(dashboard.status.filesystems[0].freeBytes).toBeGreaterThan(0);
    expect(Date.parse(dashboard.nextSweep)).toBeGreaterThan(Date.now());
    // Front door records 80 kB of continuous footage a day plus 8 kB of events.
    expect(dashboard.forecast.cameras.find((c) => c.name === 'Front Door')!.bytesPerDay).toBeGreaterThan(80_000);
  });

  test("the chart is what was measured: a history across the page's, the CLI's and a scheduled sweep, each day as it was on disk", async () => {
    // Three past days, each with a new recording and a sweep of another kind, run at noon (UTC) of that
    // day by faketime: the sweep measures the index's usage as it leaves it, which is that day's figure.
    const noon = (daysAgo: number) => Math.floor(Date.now() / DAY_MS - daysAgo) * DAY_MS + DAY_MS / 2;
    const storage = fixture.sandbox.storage;
    const settingsUi = resolve('dist/ui/settings-ui.js');
    const engine = resolve('dist/retention/engine.js');
    const schema = resolve('dist/config/schema.js');
    const recover = resolve('dist/store/recover.js');
    const sweeps: Record<string, string[]> = {
      // The page's own Sweep now, from its UI server's handlers.
      page: [
        '--input-type=module',
        '-e',
        `import { SettingsUi } from ${JSON.stringify(settingsUi)};
         const ui = new SettingsUi({ configPath: ${JSON.stringify(fixture.configPath)}, storagePath: ${JSON.stringify(storage)}, push() {} });
         await ui.handlers()['/sweep']({}); await ui.running; ui.close();`,
      ],
      cli: [CLI, 'sweep', '--config', fixture.configPath],
      // The schedule's sweep is the engine's sweep with trigger "schedule", as the platform's worker runs it.
      schedule: [
        '--input-type=module',
        '-e',
        `import { readFileSync } from 'node:fs';
         import { RetentionEngine } from ${JSON.stringify(engine)};
         import { parsePlatformConfig } from ${JSON.stringify(schema)};
         import { locationFileIn } from ${JSON.stringify(recover)};
         const block = JSON.parse(readFileSync(${JSON.stringify(fixture.configPath)}, 'utf8')).platforms.find((p) => p.platform === 'NvrRetention');
         const { config } = parsePlatformConfig(block, { storagePath: ${JSON.stringify(storage)} });
         const engine = new RetentionEngine(config, { locationFile: locationFileIn(${JSON.stringify(storage)}) });
         await engine.sweep({ trigger: 'schedule' }); engine.close();`,
      ],
    };
    const measured = new Map<number, Record<string, number>>();
    for (const [daysAgo, kind] of [
      [3, 'page'],
      [2, 'cli'],
      [1, 'schedule'],
    ] as const) {
      const at = noon(daysAgo);
      writeRecording(fixture.front, `events/day-${daysAgo}.mp4`, { ageMs: Date.now() - at, size: 11_000 * daysAgo });
      const stamp = new Date(at).toISOString().replace('T', ' ').slice(0, 19);
      const run = spawnSync('faketime', [stamp, process.execPath, ...sweeps[kind]!], {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'UTC' },
      });
      expect(run.status).toBe(0);
      measured.set(at, { 'Front Door': bytesOnDisk(fixture.front), 'Back Yard': bytesOnDisk(fixture.back) });
    }
    const dashboard = (await call['/dashboard']({})) as {
      history: { days: number[]; cameras: { name: string; bytes: (number | null)[] }[]; total: (number | null)[] };
    };
    const { days, cameras, total } = dashboard.history;
    for (const [i, end] of days.entries()) {
      const dayOf = [...measured.keys()].find((at) => at < end && at >= end - DAY_MS);
      const expected =
        i === days.length - 1
          ? { 'Front Door': bytesOnDisk(fixture.front), 'Back Yard': bytesOnDisk(fixture.back) }
          : dayOf === undefined
            ? null
            : measured.get(dayOf)!;
      for (const camera of cameras) {
        expect([new Date(end).toISOString(), camera.name, camera.bytes[i]]).toEqual([
          new Date(end).toISOString(),
          camera.name,
          expected ? expected[camera.name as 'Front Door' | 'Back Yard'] : null,
        ]);
      }
      expect(total[i]).toBe(expected ? expected['Front Door'] + expected['Back Yard'] : null);
    }
    // Each sweep deleted something, so a chart rebuilt from today's files would not give these figures.
    const runs = Store.open(join(storage, 'nvr-retention', 'index.db'));
    try {
      expect(runs.lastSweepRun()).toMatchObject({ status: 'done' });
    } finally {
      runs.close();
    }
  });

  test('settings saved while the page is open take effect at the next request', async () => {
    await indexed();
    const third = join(fixture.sandbox.root, 'garage');
    fs.mkdirSync(third);
    fs.writeFileSync(join(third, 'clip.mp4'), 'video');
    fixture.save({ cameras: [...(fixture.platform.cameras as object[]), { name: 'Garage', path: third, retentionDays: 1 }] });
    // A save within the same millisecond as the first read would look unchanged.
    fs.utimesSync(fixture.configPath, new Date(), new Date(Date.now() + 5000));
    const dashboard = (await call['/dashboard']({})) as { status: { cameras: { name: string; recordings: number }[] } };
    expect(dashboard.status.cameras.map((c) => [c.name, c.recordings])).toEqual([
      ['Front Door', 30],
      ['Back Yard', 20],
      ['Garage', 1],
    ]);
  });

  test('a databasePath changed in the settings moves the index with its holds; the page does not start an empty one', async () => {
    await indexed();
    const [held] = (await page({ cameras: ['Front Door'], limit: 1 })).recordings;
    await call['/protect']({ ids: [held.id] });
    const movedTo = join(fixture.sandbox.storage, 'elsewhere', 'index.db');
    fixture.save({ databasePath: movedTo });
    fs.utimesSync(fixture.configPath, new Date(), new Date(Date.now() + 5000));

    const stillHeld = await everyPage({ protection: 'only' });

    expect(stillHeld.map((row) => row.path)).toEqual([held.path]);
    expect(existsSync(movedTo)).toBe(true);
    expect(existsSync(join(fixture.sandbox.storage, 'nvr-retention', 'index.db.migrated'))).toBe(true);
  });

  test('a camera whose files vanished is shown unavailable until a person confirms the loss', async () => {
    await indexed();
    fs.renameSync(join(fixture.back), join(fixture.sandbox.storage, 'unmounted'));
    fs.mkdirSync(fixture.back);
    type Cameras = { status: { cameras: { name: string; available: boolean; recordings: number }[] } };
    const backYard = async () => ((await call['/dashboard']({})) as Cameras).status.cameras.find((c) => c.name === 'Back Yard')!;
    expect(await backYard()).toMatchObject({ available: false, recordings: 20 });
    expect(await call['/accept-missing']({ camera: 'Back Yard' })).toEqual({ available: true, removed: 20, reason: null });
    expect(await backYard()).toMatchObject({ available: true, recordings: 0 });
    const log = (await call['/events']({})) as { events: { kind: string; who: string }[] };
    expect(log.events[0]).toMatchObject({ kind: 'missing_accepted', who: 'settings UI' });
    expect((await rejection(call['/accept-missing']({ camera: 'Attic' }))).message).toBe('no camera named "Attic"');
  });

  test('a config without the plugin block says how to start', async () => {
    fixture.save();
    const config = JSON.parse(readFileSync(fixture.configPath, 'utf8'));
    config.platforms = [];
    fs.writeFileSync(fixture.configPath, JSON.stringify(config));
    const error = await rejection(call['/dashboard']({}));
    expect(error).toBeInstanceOf(RequestError);
    expect(error.message).toMatch(/not set up yet/);
  });
});

describe('recordings browser', () => {
  test('keyset pages cover every matching recording once, newest first, and filters narrow them', async () => {
    await indexed();
    const all = await everyPage({ limit: 7 });
    expect(all).toHaveLength(fixture.files.length);
    expect(new Set(all.map((row) => row.id)).size).toBe(all.length);
    expect(all.map((row) => row.endTime)).toEqual([...all.map((row) => row.endTime)].sort((a, b) => b - a));

    const events = await everyPage({ cameras: ['Front Door'], cls: 'event', limit: 4 });
    expect(events.map((row) => row.path).sort()).toEqual(
      fixture.files
        .filter((f) => f.event)
        .map((f) => f.relPath)
        .sort(),
    );

    const since = Date.now() - 24 * 3_600_000;
    const lastDay = await everyPage({ cameras: ['Back Yard'], since, limit: 50 });
    expect(lastDay.map((row) => row.path).sort()).toEqual(
      fixture.files
        .filter((f) => f.camera === 'Back Yard' && f.ageMs < 24 * 3_600_000)
        .map((f) => f.relPath)
        .sort(),
    );
    expect((await page({ cameras: ['Back Yard'], since, limit: 1 })).total.count).toBe(lastDay.length);
  });

  test('sort by size pages largest first across ties', async () => {
    await indexed();
    const rows = await everyPage({ sort: 'largest', limit: 5 });
    expect(rows).toHaveLength(fixture.files.length);
    expect(rows.map((row) => row.size)).toEqual([...rows.map((row) => row.size)].sort((a, b) => b - a));
    const smallest = await page({ sort: 'smallest', limit: 1 });
    expect(smallest.recordings[0].size).toBe(Math.min(...fixture.files.map((f) => f.size)));
  });

  test('a path, an unknown camera or a bad range is refused with a message, and nothing is listed', async () => {
    await indexed();
    expect((await rejection(call['/recordings']({ path: '/etc/passwd' }))).message).toMatch(/not accepted/);
    expect((await rejection(call['/recordings']({ cameras: ['Attic'] }))).message).toBe('no camera named "Attic"');
    // In a person's words: never a field name such as "since:" or "ids[0]".
    expect((await rejection(call['/recordings']({ since: 10, until: 5 }))).message).toBe(
      'The request was not accepted: the start must be before the end',
    );
    expect((await rejection(call['/protect']({ ids: ['../../etc/passwd'] }))).message).toBe(
      'The request was not accepted: an entry of the selection must be a number',
    );
    expect((await rejection(call['/delete']({ ids: [] }))).message).toBe(
      'The request was not accepted: the selection is empty: choose at least one recording',
    );
    expect((await rejection(call['/keep-until']({ ids: [1], until: Date.now() - 1000 }))).message).toBe(
      'The request was not accepted: the date to keep them until has to be in the future',
    );
  });
});

describe('protection and deletion by hand', () => {
  test('protect, keep-until and unprotect are what the index stores', async () => {
    await indexed();
    const [a, b] = (await page({ cameras: ['Front Door'], limit: 2 })).recordings;
    expect(await call['/protect']({ ids: [a.id] })).toEqual({ changed: 1 });
    const until = Date.now() + 86_400_000;
    await call['/keep-until']({ ids: [b.id], until });
    const store = Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
    try {
      expect(store.recording(a.id)).toMatchObject({ protected: true, protectedBy: 'settings UI' });
      expect(store.recording(b.id)!.keepUntil).toBe(until);
      const held = await everyPage({ protection: 'only' });
      expect(held.map((row) => row.id).sort()).toEqual([a.id, b.id].sort());
      await call['/unprotect']({ ids: [a.id, b.id] });
      expect(store.recording(a.id)).toMatchObject({ protected: false, keepUntil: null });
      expect(store.recording(b.id)!.keepUntil).toBeNull();
    } finally {
      store.close();
    }
    expect((await rejection(call['/keep-until']({ ids: [a.id], until: Date.now() - 1000 }))).message).toMatch(/future/);
  });

  describe('deleting five recordings, one of them protected', () => {
    /**
     * The four oldest Front Door recordings (the fourth then protected) and its newest event clip:
     * the ids to delete, the rows, and the bytes of the four that may go.
     */
    async function fiveChosen(): Promise<{ ids: number[]; rows: Row[]; events: Row[]; bytes: number }> {
      await indexed();
      const rows = (await page({ cameras: ['Front Door'], sort: 'oldest', limit: 4 })).recordings;
      const events = (await page({ cameras: ['Front Door'], cls: 'event', limit: 1 })).recordings;
      await call['/protect']({ ids: [rows[3].id] });
      const ids = [...rows.map((row) => row.id), events[0].id];
      const bytes = rows.slice(0, 3).reduce((sum, row) => sum + row.size, 0) + events[0].size;
      return { ids, rows, events, bytes };
    }

    test('the confirmation counts what goes, by class, and says the protected one is excluded', async () => {
      const { ids, bytes } = await fiveChosen();

      const preview = (await call['/delete/preview']({ ids })) as { count: number; message: string };
      expect(preview.message).toBe(
        `Delete 4 recordings (${(bytes / 1000).toFixed(1)} kB): 3 continuous, 1 event; 1 protected recording is excluded`,
      );
    });

    test('the delete removes the files and their rows, and not the protected one', async () => {
      const { ids, rows, events, bytes } = await fiveChosen();

      const result = (await call['/delete']({ ids })) as { deleted: { count: number; bytes: number } };
      expect(result.deleted).toEqual({ count: 4, bytes });
      for (const row of [...rows.slice(0, 3), events[0]]) {
        expect(existsSync(join(fixture.front, row.path))).toBe(false);
      }
      expect(filesBelow(fixture.front)).toContain(rows[3].path);
      expect((await page({ cameras: ['Front Door'] })).total.count).toBe(fixture.files.filter((f) => f.camera === 'Front Door').length - 4);
    });

    test('the delete is logged with who did it', async () => {
      const { ids } = await fiveChosen();

      await call['/delete']({ ids });
      const log = (await call['/events']({})) as { events: { kind: string; message: string; who: string }[] };
      expect(log.events[0]).toMatchObject({ kind: 'deleted_by_hand', who: 'settings UI' });
    });
  });

  test('a recording whose folder was swapped for a link to elsewhere is not deleted there', async () => {
    await indexed();
    const clips = (await page({ cameras: ['Front Door'], cls: 'event', limit: 50 })).recordings;
    // The events folder becomes a link to a folder outside the camera, holding files of the same names.
    const outside = join(fixture.sandbox.storage, 'elsewhere');
    fs.renameSync(join(fixture.front, 'events'), outside);
    fs.symlinkSync(outside, join(fixture.front, 'events'));
    const result = (await call['/delete']({ ids: clips.map((clip) => clip.id) })) as {
      deleted: { count: number };
      failures: { error: string }[];
    };
    expect(result.deleted.count).toBe(0);
    expect(result.failures).toHaveLength(clips.length);
    expect(result.failures[0].error).toMatch(/a link/);
    for (const clip of clips) {
      expect(existsSync(join(outside, clip.path.replace('events/', '')))).toBe(true);
    }
  });

  test('while a sweep holds the lock, a delete is refused politely and nothing goes', async () => {
    await indexed();
    const [row] = (await page({ limit: 1 })).recordings;
    const other = Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
    other.lock.acquire('sweep (schedule)');
    try {
      const error = await rejection(call['/delete']({ ids: [row.id] }));
      expect(error.message).toMatch(
        /^A sweep is running right now \(sweep \(schedule\), started .*\)\. Please try again when it has finished\.$/,
      );
      expect((await rejection(call['/sweep']({}))).message).toMatch(/A sweep is running right now/);
      expect(existsSync(join(fixture.front, row.path)) || existsSync(join(fixture.back, row.path))).toBe(true);
    } finally {
      other.close();
    }
  });
});

describe('preview, sweep now and export', () => {
  test('the preview gives the counts of the CLI dry run, in words', async () => {
    const cli = spawnSync(process.execPath, [CLI, 'sweep', '--dry-run', '--json', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const expected = JSON.parse(cli.stdout);
    const preview = (await call['/preview']({})) as {
      message: string;
      deleted: unknown;
      byReason: unknown;
      deletions: unknown[];
      spared: unknown;
    };
    expect(preview.deleted).toEqual(expected.deleted);
    expect(preview.byReason).toEqual(expected.byReason);
    expect(preview.spared).toEqual(expected.spared);
    expect(preview.deletions).toEqual(expected.deletions);
    expect(preview.message).toBe(
      `The next sweep would delete ${expected.deleted.count} recordings (${(expected.deleted.bytes / 1000).toFixed(1)} kB): ${expected.byReason.age.count} by age, ${expected.byReason.quota.count} by quota, 0 by cap, 0 by floor; 0 protected recordings spared`,
    );
  });

  test('sweep now deletes what the preview said, pushing progress and the end', async () => {
    const preview = (await call['/preview']({})) as { deleted: { count: number } };
    const answer = (await call['/sweep']({})) as { planned: { count: number } };
    expect(answer.planned.count).toBe(preview.deleted.count);
    expect((await rejection(call['/sweep']({}))).message).toMatch(/still running/);
    await ui.running;
    const done = pushed.find((p) => p.event === 'sweep-done')!;
    expect(done.data).toMatchObject({ ok: true, deleted: { count: preview.deleted.count } });
    expect(pushed.filter((p) => p.event === 'sweep-progress').length).toBeGreaterThanOrEqual(2);
    expect(filesBelow(fixture.front).length + filesBelow(fixture.back).length).toBe(fixture.files.length + 6 - preview.deleted.count - 1);
  });

  test('export copies the selected recordings with their sidecars into the export folder', async () => {
    await indexed();
    const [clip] = (await page({ cls: 'event', limit: 1 })).recordings;
    const result = (await call['/export']({ ids: [clip.id] })) as { files: number };
    expect(result.files).toBe(2);
    expect(readFileSync(join(fixture.exportPath, 'Front Door', clip.path))).toEqual(readFileSync(join(fixture.front, clip.path)));
    expect(pushed.filter((p) => p.event === 'export-progress').at(-1)!.data).toEqual({ done: 1, total: 1 });

    fixture.save({ exportPath: undefined });
    expect((await rejection(call['/export']({ ids: [clip.id] }))).message).toMatch(/No export folder is set/);
  });

  test('export leaves a file already in the export folder as it is: the same copy is not rewritten, a different file is not overwritten', async () => {
    await indexed();
    const [first, second] = (await page({ cls: 'continuous', limit: 2 })).recordings;
    await call['/export']({ ids: [first.id] });
    const copy = join(fixture.exportPath, first.camera, first.path);
    const copiedAt = statSync(copy).mtimeMs;
    const theirs = join(fixture.exportPath, second.camera, second.path);
    fs.mkdirSync(join(theirs, '..'), { recursive: true });
    fs.writeFileSync(theirs, 'an edited clip the user keeps here');

    const result = (await call['/export']({ ids: [first.id, second.id] })) as {
      files: number;
      skipped: { id: number; reason: string }[];
      message: string;
    };
    expect(statSync(copy).mtimeMs).toBe(copiedAt);
    expect(readFileSync(theirs, 'utf8')).toBe('an edited clip the user keeps here');
    expect(result.skipped).toEqual([{ id: second.id, reason: `a different file is already at ${theirs}` }]);
    expect(result.message).toBe(
      `Exported 1 recording (1 file) to ${fixture.exportPath}; 1 recording not exported: a different file is already at ${theirs}`,
    );
  });
});

describe('forecast on a real small disk (a tmpfs; needs root, as CI is)', () => {
  test("days until the floor are the room above it over the last week's rate, unless a quota holds usage first", async () => {
    const sandbox = makeSandbox('ui-forecast');
    const disk = join(sandbox.root, 'disk');
    fs.mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    const opened: SettingsUi[] = [];
    try {
      const camera = join(disk, 'cam');
      // One 100 kB recording a day for the last 6.5 days: 700 kB over 6.5 days.
      for (let day = 0; day < 7; day++) {
        writeRecording(camera, `day-${day}.mp4`, { ageMs: (day + 0.5) * DAY_MS, size: 100_000 });
      }
      const configPath = join(sandbox.storage, 'config.json');
      const forecastWith = async (cameraFields: Record<string, unknown>) => {
        fs.writeFileSync(
          configPath,
          JSON.stringify({
            platforms: [
              { platform: 'NvrRetention', minFreeGB: 0.005, cameras: [{ name: 'Cam', path: camera, retentionDays: 60, ...cameraFields }] },
            ],
          }),
        );
        const settings = new SettingsUi({ configPath, storagePath: sandbox.storage, push: () => {} });
        opened.push(settings);
        return (await settings.handlers()['/dashboard']({})) as {
          status: { filesystems: { freeBytes: number }[] };
          forecast: {
            bytesPerDay: number;
            holdsAt: number;
            filesystems: {
              bytes: number;
              holdsAt: number;
              limitedBy: string;
              daysUntilLimit: number | null;
              measuredDays: number | null;
            }[];
          };
        };
      };
      const rate = 700_000 / 6.5;

      const open = await forecastWith({});
      // A first look has no history of a day yet: the growth is the recording rate.
      expect(open.forecast.filesystems[0].measuredDays).toBeNull();
      expect(open.forecast.bytesPerDay).toBeCloseTo(rate, -1);
      // 60 days of retention would hold about 6.5 MB on an 8 MB disk that must keep 5 MB free: the
      // floor holds usage first, at what is there now plus the room above the floor, never more.
      const room = open.status.filesystems[0].freeBytes - 5_000_000;
      const disk0 = open.forecast.filesystems[0];
      expect(disk0.limitedBy).toBe('floor');
      expect(disk0.holdsAt).toBe(disk0.bytes + room);
      expect(open.forecast.holdsAt).toBeLessThan(8_000_000);
      expect(disk0.daysUntilLimit).toBeCloseTo(room / rate, 1);

      const capped = await forecastWith({ storageQuotaGB: 0.001 });
      expect(capped.forecast.holdsAt).toBe(1_000_000);
      expect(capped.forecast.filesystems[0].limitedBy).toBe('rules');
      expect(capped.forecast.filesystems[0].daysUntilLimit).toBeNull();
    } finally {
      for (const settings of opened) {
        settings.close();
      }
      execFileSync('umount', [disk]);
      sandbox.remove();
    }
  });
});

describe('at scale: select every match, see a clip, a banner of what is wrong', () => {
  test('"select all N matches" acts on the filter on the server: protect and delete every match, nothing else', async () => {
    await indexed();
    const filter = { cameras: ['Front Door'], cls: 'event' as const };
    const matches = (await page({ ...filter, limit: 200 })).total.count;
    expect(await call['/protect']({ filter })).toEqual({ changed: matches });
    expect((await page({ protection: 'only', limit: 200 })).total.count).toBe(matches);
    await call['/unprotect']({ filter });
    const preview = (await call['/delete/preview']({ filter })) as { count: number; message: string };
    expect(preview.count).toBe(matches);
    await call['/delete']({ filter });
    // The emptied events folder goes too.
    expect(filesBelow(fixture.front).filter((file) => file.startsWith('events/'))).toEqual([]);
    // The continuous ones and the other camera are untouched.
    expect(filesBelow(fixture.back)).toHaveLength(20);
    expect((await page({ cameras: ['Front Door'] })).total.count).toBe(24);
    expect((await rejection(call['/delete']({ filter }))).message).toBe('No recordings match the filter any more: nothing was changed.');
  });

  test('a recording plays from chunks read by id; its thumbnail too; links and other paths are refused', async () => {
    const clip = writeRecording(fixture.front, 'events/doorbell.mp4', {
      ageMs: DAY_MS / 2,
      size: 1_300_000,
      sidecars: { 'thumb.jpg': 2_000 },
    });
    await indexed();
    const rows = (await page({ cameras: ['Front Door'], cls: 'event', limit: 50 })).recordings as (Row & { thumbnail: boolean })[];
    const row = rows.find((r) => r.path === 'events/doorbell.mp4')!;
    expect(row.thumbnail).toBe(true);
    expect(rows.filter((r) => r.thumbnail)).toEqual([row]);
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const chunk = (await call['/media']({ id: row.id, offset })) as { data: string; size: number; done: boolean; type: string };
      expect(chunk.type).toBe('video/mp4');
      const bytes = Buffer.from(chunk.data, 'base64');
      expect(bytes.length).toBeLessThanOrEqual(512 * 1024);
      parts.push(bytes);
      offset += bytes.length;
      if (chunk.done) {
        break;
      }
    }
    // Compared as one boolean: a deep toEqual of 1.3 MB takes jest seconds.
    expect(Buffer.concat(parts).equals(readFileSync(clip))).toBe(true);
    const thumb = (await call['/media']({ id: row.id, part: 'thumbnail' })) as { data: string; type: string; done: boolean };
    expect(thumb).toMatchObject({ type: 'image/jpeg', done: true });
    expect(Buffer.from(thumb.data, 'base64')).toEqual(readFileSync(clip.replace('.mp4', '.thumb.jpg')));
    // Only ids: a path is a field the page never sends.
    expect((await rejection(call['/media']({ path: '/etc/passwd' }))).message).toMatch(/^The request was not accepted/);
    // The file swapped for a link to a file outside the camera is not read through the link.
    fs.rmSync(clip);
    fs.symlinkSync('/etc/passwd', clip);
    expect((await rejection(call['/media']({ id: row.id }))).message).toMatch(/cannot be read|not a plain file/);
  });

  test("the preview's list narrows to a camera and a reason, with totals of every camera", async () => {
    const all = (await call['/preview']({})) as { byCamera: Record<string, { count: number }>; deleted: { count: number } };
    const back = (await call['/preview']({ camera: 'Back Yard', reason: 'quota' })) as {
      matching: { count: number };
      deletions: { camera: string; reason: string }[];
    };
    expect(back.matching.count).toBe(all.byCamera['Back Yard']!.count);
    expect(back.deletions.every((d) => d.camera === 'Back Yard' && d.reason === 'quota')).toBe(true);
    expect(Object.values(all.byCamera).reduce((sum, t) => sum + t.count, 0)).toBe(all.deleted.count);
  });

  test("a delete's confirmation is refused before it is shown while another sweep runs; the poll says so", async () => {
    await indexed();
    const [row] = (await page({ limit: 1 })).recordings;
    const other = Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
    other.lock.acquire('sweep (cli)');
    try {
      expect((await rejection(call['/delete/preview']({ ids: [row.id] }))).message).toMatch(
        /^A sweep is running right now \(sweep \(cli\)/,
      );
      expect(await call['/poll']({})).toMatchObject({ sweepRunning: { purpose: 'sweep (cli)' } });
    } finally {
      other.close();
    }
    expect(await call['/poll']({})).toMatchObject({ sweepRunning: null });
  });

  test("the page's sweep writes its summary line to the log, like the schedule's", async () => {
    const lines: string[] = [];
    const logged = new SettingsUi({
      configPath: fixture.configPath,
      storagePath: fixture.sandbox.storage,
      push: () => {},
      log: (l) => lines.push(l),
    });
    try {
      await logged.handlers()['/sweep']({});
      await logged.running;
      expect(lines).toEqual([expect.stringMatching(/^Sweep deleted \d+ recordings .* \(started from the settings screen\)$/)]);
    } finally {
      logged.close();
    }
  });

  test('the banner names a missing mount once for all its cameras, and each card states its rules with defaults', async () => {
    await indexed();
    const nas = join(fixture.sandbox.root, 'nas');
    fs.mkdirSync(nas);
    fixture.save({
      cameras: [
        ...(fixture.platform.cameras as object[]),
        { name: 'Garage', path: join(nas, 'garage'), retentionDays: 7 },
        { name: 'Drive', path: join(nas, 'drive'), retentionDays: 7, eventRetentionDays: 10, storageQuotaGB: 30 },
      ],
    });
    fs.utimesSync(fixture.configPath, new Date(), new Date(Date.now() + 5000));
    const dashboard = (await call['/dashboard']({})) as {
      problems: { kind: string; message: string; mount?: string }[];
      rules: { name: string; continuousDays: number; eventDays: number; eventDefault: boolean; quotaBytes: number | null }[];
    };
    expect(dashboard.problems).toEqual([
      expect.objectContaining({
        kind: 'mount-missing',
        mount: nas,
        message: `2 cameras under ${nas} are unavailable (Garage and Drive): is the NAS or disk at ${nas} mounted? Nothing of theirs is deleted until their files are back.`,
      }),
    ]);
    expect(dashboard.rules.slice(2)).toEqual([
      { name: 'Garage', continuousDays: 7, eventDays: 21, eventDefault: true, quotaBytes: null },
      { name: 'Drive', continuousDays: 7, eventDays: 10, eventDefault: false, quotaBytes: 30e9 },
    ]);
  });
});
