/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The settings screen end to end: the real Homebridge UI (homebridge-config-ui-x, `hb-service run`,
 * auth off, on 127.0.0.1) with this plugin installed in its plugins folder, driven in Debian's
 * Chromium by playwright-core. The plugin's page is an iframe inside the UI's settings modal.
 * The run also takes the README's screenshots; `npm run screenshots` writes them to docs/screenshots/.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type BrowserContext, chromium, type Frame, type FrameLocator, type Page } from 'playwright-core';
import { formatBytes } from '../src/retention/format.js';
import { Store } from '../src/store/store.js';
import { freePort } from './helpers/ports.js';
import { DAY_MS, filesBelow, writeRecording } from './helpers/tree.js';
import { makeUiFixture, type UiFixture } from './helpers/ui-fixture.js';

const ROOT = resolve('.');
const HB_SERVICE = join(ROOT, 'node_modules', 'homebridge-config-ui-x', 'dist', 'bin', 'hb-service.js');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const CHROMIUM = '/usr/bin/chromium';
/** `npm run screenshots` sets this to rewrite the README's images; other runs keep theirs in the sandbox. */
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const STEP_MS = 30_000;
const AXE = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const DESKTOP = { width: 1400, height: 1000 };

/** A 1×1 PNG: a real image for the thumbnail, whatever its name says. */
const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let fixture: UiFixture;
let service: ChildProcess;
let serviceLog = '';
let context: BrowserContext;
let page: Page;
let uiPort: number;
let screenshots: string;

async function waitForUi(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${uiPort}/`)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || service.exitCode !== null) {
      throw new Error(`the Homebridge UI did not start. Its log:\n${serviceLog}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}

beforeAll(async () => {
  uiPort = await freePort();
  fixture = makeUiFixture('ui-e2e', [{ platform: 'config', name: 'Config', port: uiPort, host: '127.0.0.1', auth: 'none' }], {
    port: await freePort(),
  });
  // No sweep of its own during the test: the preview must match a CLI dry run of the same files.
  // A floor of 10 MB is drawn on the disk bar without ever deleting on a machine with room to test.
  fixture.save({ schedule: '0 0 1 1 *', minFreeGB: 0.01 });
  // A motion clip with a thumbnail (a companion image): the row shows it, and Play plays the clip.
  const clip = writeRecording(fixture.front, 'events/doorbell.mp4', {
    ageMs: 3 * 3_600_000,
    size: 1_200_000,
    sidecars: { 'thumb.jpg': 1 },
  });
  const thumbnail = clip.replace('.mp4', '.thumb.jpg');
  const { mtime } = statSync(clip);
  writeFileSync(thumbnail, TINY_PNG);
  utimesSync(thumbnail, mtime, mtime);
  // Enough recordings for more than one page of 50, so "select all N matches" has more to select.
  for (let i = 0; i < 30; i++) {
    writeRecording(fixture.front, `continuous/extra-${String(i).padStart(2, '0')}.mp4`, {
      ageMs: (i + 1) * 3_600_000 + 1_800_000,
      size: 1_000,
    });
  }
  const storage = fixture.sandbox.storage;
  // auth "none" signs everyone in as the first admin of auth.json; without one the UI shows its set-up wizard.
  const salt = randomBytes(16).toString('hex');
  writeFileSync(
    join(storage, 'auth.json'),
    JSON.stringify([
      {
        id: 1,
        username: 'admin',
        name: 'Test',
        salt,
        passwordIterations: 1000,
        sessionVersion: 0,
        admin: true,
        hashedPassword: pbkdf2Sync(randomBytes(16).toString('hex'), salt, 1000, 64, 'sha512').toString('hex'),
      },
    ]),
  );
  // The plugin installed as `npm link` would: a folder of plugins holding a link to this checkout.
  const plugins = join(storage, 'plugins');
  mkdirSync(plugins);
  symlinkSync(ROOT, join(plugins, 'homebridge-nvr-retention'));

  const args = [HB_SERVICE, 'run', '-U', storage, '-P', plugins, '--stdout'];
  if (process.getuid?.() === 0) {
    args.push('--allow-root');
  }
  service = spawn(process.execPath, args, {
    env: { ...process.env, npm_config_logs_max: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  service.stdout!.on('data', (chunk: Buffer) => (serviceLog += chunk.toString()));
  service.stderr!.on('data', (chunk: Buffer) => (serviceLog += chunk.toString()));
  await waitForUi();

  // A fresh profile (--user-data-dir) inside the sandbox, removed with it.
  context = await chromium.launchPersistentContext(mkdtempSync(join(storage, 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: DESKTOP,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  screenshots = UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(storage, 'screenshots');
  mkdirSync(screenshots, { recursive: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (service && service.exitCode === null) {
    const exited = new Promise((done) => service.once('exit', done));
    // hb-service and the Homebridge it runs are in their own process group.
    process.kill(-service.pid!, 'SIGKILL');
    await exited;
  }
  fixture?.sandbox.remove();
});

/** Opens the plugin's settings from the Plugins page, as a user does; returns the plugin's iframe. */
async function openSettings(): Promise<FrameLocator> {
  await page.goto(`http://127.0.0.1:${uiPort}/plugins`);
  await page.getByRole('button', { name: 'Plugin Actions' }).first().click();
  await page.getByText('Plugin Config').click();
  const frame = page.frameLocator('iframe');
  await frame.locator('#nvr[data-loaded-dashboard]').waitFor();
  return frame;
}

/** The plugin's page as it sits in the Homebridge UI's settings dialog, for the README. */
async function shot(options: { path: string }): Promise<void> {
  await page.locator('iframe').screenshot(options);
}

/** Runs an action of the page and waits until the page says it has loaded `what` again. */
async function reloaded(frame: FrameLocator, what: string, action: () => Promise<unknown>): Promise<void> {
  await frame.locator('#nvr').evaluate((node, attribute) => node.removeAttribute(attribute), `data-loaded-${what}`);
  await action();
  await frame.locator(`#nvr[data-loaded-${what}]`).waitFor();
}

/** What is on disk for a camera: recordings (not sidecars), event recordings, and bytes with sidecars. */
function onDisk(folder: string): { recordings: number; events: number; bytes: number } {
  const files = filesBelow(folder);
  const recordings = files.filter((file) => !file.endsWith('.json') && !file.endsWith('.thumb.jpg'));
  return {
    recordings: recordings.length,
    events: recordings.filter((file) => file.startsWith('events/')).length,
    bytes: files.reduce((sum, file) => sum + statSync(join(folder, file)).size, 0),
  };
}

function indexStore(): Store {
  return Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
}

/** The plugin's page itself (the iframe), for what runs inside it: axe, and reading a Blob. */
async function pluginFrame(): Promise<Frame> {
  const handle = await page.locator('iframe').elementHandle();
  const frame = await handle!.contentFrame();
  return frame!;
}

/**
 * axe-core inside the plugin's page (the Homebridge UI around it is not ours to fix): the violations
 * a person with a screen reader, a keyboard or low vision would meet, critical and serious ones.
 */
async function seriousViolations(where: string): Promise<string[]> {
  const frame = await pluginFrame();
  await frame.addScriptTag({ path: AXE });
  const violations = await frame.evaluate(async () => {
    const page = globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<AxeResults> }; document: unknown };
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'critical' || v.impact === 'serious')
      .map(
        (v) =>
          `${v.id} (${v.impact}, ${v.nodes.length} nodes): ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(' | ')}`,
      );
  });
  return violations.map((v) => `${where}: ${v}`);
}

interface AxeResults {
  violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
}

/** Every tab of the page, at desktop and phone sizes, in light and dark mode, through axe. */
async function axeEverywhere(): Promise<string[]> {
  const found: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const size of [
      { width: 1400, height: 1000 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(size);
      const frame = await openSettings();
      for (const tab of ['Dashboard', 'Recordings', 'Preview']) {
        await frame.getByRole('tab', { name: tab }).click();
        if (tab === 'Recordings') {
          await frame.locator('#nvr[data-loaded-recordings]').waitFor();
        }
        if (tab === 'Preview') {
          await reloaded(frame, 'preview', () => frame.getByRole('button', { name: 'Preview next sweep' }).click());
        }
        found.push(...(await seriousViolations(`${tab}, ${size.width}×${size.height}, ${scheme}`)));
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(DESKTOP);
  return found;
}

describe('the settings screen in the Homebridge UI', () => {
  test('the dashboard shows the figures of the files on disk, the rules of each camera, the measured chart and a forecast per disk', async () => {
    const frame = await openSettings();
    for (const [name, folder] of [
      ['Front Door', fixture.front],
      ['Back Yard', fixture.back],
    ] as const) {
      const disk = onDisk(folder);
      const card = frame.locator(`[data-testid=camera][data-camera="${name}"]`);
      await expect(card.locator('[data-testid=camera-counts]').innerText()).resolves.toBe(
        `${disk.recordings} recordings: ${disk.recordings - disk.events} continuous, ${disk.events} event`,
      );
      await expect(card.locator('[data-testid=camera-bytes]').innerText()).resolves.toMatch(
        new RegExp(`^${formatBytes(disk.bytes).replace('.', '\\.')}`),
      );
    }
    await expect(frame.locator('[data-camera="Front Door"] [data-testid=camera-rules]').innerText()).resolves.toBe(
      'Keeps continuous 3 days, events 5 days, no quota',
    );
    await expect(frame.locator('[data-camera="Back Yard"] [data-testid=camera-rules]').innerText()).resolves.toBe(
      `Keeps continuous 30 days, events 90 days (default 3×), quota ${formatBytes(200_000)}`,
    );
    await expect(frame.locator('[data-testid=filesystem]').count()).resolves.toBe(1);
    // One line per disk, bounded by the disk: never more than it can hold.
    await expect(frame.locator('[data-testid=forecast-disk]').innerText()).resolves.toMatch(
      /^The disk of Front Door and Back Yard records about .* a day .*; its cameras' rules hold their recordings at about/,
    );
    // Both cameras and their total, measured by the scan the page's opening ran.
    await expect(frame.locator('[data-testid=chart] circle').count()).resolves.toBe(3);
    // The footer's command is this install's (a linked checkout: this Node and the command file), and it runs as shown.
    const command = await frame.locator('#cli-command').innerText();
    expect(command).toBe(`${process.execPath} ${join(ROOT, 'dist', 'cli', 'bin.js')} sweep --dry-run --config ${fixture.configPath}`);
    const dryRun = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8' });
    expect(dryRun.stdout).toMatch(/^Dry run: the sweep would delete \d+ recordings?/m);
    expect(dryRun.status).toBe(0);
    await shot({ path: join(screenshots, 'dashboard-light.png') });

    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await openSettings();
    await expect(dark.locator('body').getAttribute('class')).resolves.toMatch(/dark-mode/);
    await shot({ path: join(screenshots, 'dashboard-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  test('no critical or serious accessibility problem in any tab, at desktop and phone sizes, light and dark', async () => {
    // First, that axe runs and sees the page: an image without a text alternative is a critical violation.
    await openSettings();
    const frame = await pluginFrame();
    await frame.evaluate(() => {
      const doc = (
        globalThis as unknown as { document: { querySelector: (s: string) => { insertAdjacentHTML: (w: string, h: string) => void } } }
      ).document;
      doc.querySelector('#tab-dashboard').insertAdjacentHTML('beforeend', '<img id="axe-probe" src="data:,">');
    });
    await expect(seriousViolations('probe')).resolves.toEqual([expect.stringMatching(/^probe: image-alt \(critical, 1 nodes\)/)]);
    expect(await axeEverywhere()).toEqual([]);
  }, 300_000);

  test('filter the browser, protect and export one, delete two, select all matches, play a clip, jump to a date', async () => {
    const frame = await openSettings();
    await reloaded(frame, 'recordings', () => frame.getByRole('tab', { name: 'Recordings' }).click());
    await reloaded(frame, 'recordings', () => frame.locator('#f-camera').selectOption('Back Yard'));
    await reloaded(frame, 'recordings', () => frame.locator('#f-sort').selectOption('oldest'));
    // Every filter's longest choice fits beside the select's arrow ("Newest first" was cut to "Newest fi").
    const cutOff = await frame.locator('#filters select').evaluateAll((selects) =>
      (selects as HTMLSelectElement[]).flatMap((select) => {
        const style = getComputedStyle(select);
        const context = document.createElement('canvas').getContext('2d')!;
        context.font = style.font;
        const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return [...select.options].filter((option) => context.measureText(option.text).width > room).map((option) => option.text);
      }),
    );
    expect(cutOff).toEqual([]);
    const rows = frame.locator('#recordings tbody tr');
    // Names hold the age in hours: oldest first is reverse name order.
    const backYard = filesBelow(fixture.back).reverse();
    await expect(rows.count()).resolves.toBe(backYard.length);
    await expect(rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-path')))).resolves.toEqual(backYard);
    await expect(frame.locator('#total').innerText()).resolves.toMatch(new RegExp(`^${backYard.length} recordings`));
    await shot({ path: join(screenshots, 'recordings.png') });

    // Protect the oldest: the index holds the mark, by the settings UI.
    await rows.nth(0).locator('input[type=checkbox]').check();
    await reloaded(frame, 'recordings', () => frame.getByRole('button', { name: 'Protect', exact: true }).click());
    await expect(rows.nth(0).locator('[data-testid=held]').innerText()).resolves.toBe('protected');
    // After an action the selection is gone, the page box unticked; the message stays until the next task.
    await expect(frame.locator('#selection').innerText()).resolves.toBe('0 recordings selected');
    await expect(frame.locator('#select-page').isChecked()).resolves.toBe(false);
    const store = indexStore();
    try {
      const camera = store.cameraByPath(fixture.back)!;
      expect(store.recordingByPath(camera.id, backYard[0])).toMatchObject({ protected: true, protectedBy: 'settings UI' });
    } finally {
      store.close();
    }

    // Export the protected one: a checked copy lands in the export folder, the original stays.
    await rows.nth(0).locator('input[type=checkbox]').check();
    await reloaded(frame, 'recordings', () => frame.getByRole('button', { name: 'Export' }).click());
    await expect(frame.locator('#action-result').innerText()).resolves.toBe(`Exported 1 recording (1 file) to ${fixture.exportPath}`);
    expect(readFileSync(join(fixture.exportPath, 'Back Yard', backYard[0]))).toEqual(readFileSync(join(fixture.back, backYard[0])));

    // Delete the protected one and the next two: the confirmation leaves the protected one out.
    for (const i of [0, 1, 2]) {
      await rows.nth(i).locator('input[type=checkbox]').check();
    }
    await frame.getByRole('button', { name: 'Delete…' }).click();
    await frame.locator('#confirm:not(.d-none)').waitFor();
    await expect(frame.locator('#confirm-text').innerText()).resolves.toBe(
      `Delete 2 recordings (${formatBytes(30_000)}): 2 continuous; 1 protected recording is excluded. This cannot be undone.`,
    );
    await reloaded(frame, 'recordings', () => frame.locator('#confirm-yes').click());
    await expect(frame.locator('#action-result').innerText()).resolves.toBe(`Deleted 2 recordings (${formatBytes(30_000)}); 1 kept`);
    expect(existsSync(join(fixture.back, backYard[0]))).toBe(true);
    expect(existsSync(join(fixture.back, backYard[1]))).toBe(false);
    expect(existsSync(join(fixture.back, backYard[2]))).toBe(false);

    // A new filter: no selection, no message of the last task.
    await reloaded(frame, 'recordings', () => frame.locator('#f-camera').selectOption(''));
    await expect(frame.locator('#action-result').innerText()).resolves.toBe('');
    // Select all N matches: every match of the filter, beyond the first page of 50, with the count to confirm.
    const all = onDisk(fixture.front).recordings + onDisk(fixture.back).recordings;
    await reloaded(frame, 'recordings', () => frame.locator('#f-sort').selectOption('newest'));
    await frame.locator('#select-page').check();
    const selectAll = frame.locator('#select-all');
    expect(all).toBeGreaterThan(50);
    await selectAll.click();
    await expect(frame.locator('#selection').innerText()).resolves.toBe(`All ${all} matching recordings selected`);
    await frame.getByRole('button', { name: 'Protect', exact: true }).click();
    await expect(frame.locator('#confirm-text').innerText()).resolves.toBe(`Protect all ${all} matching recordings?`);
    await reloaded(frame, 'recordings', () => frame.locator('#confirm-yes').click());
    const held = indexStore();
    try {
      const heldCount = (held as unknown as { db: { prepare: (s: string) => { get: () => { n: number } } } }).db
        .prepare('SELECT COUNT(*) AS n FROM recordings WHERE protected = 1')
        .get().n;
      expect(heldCount).toBe(all);
    } finally {
      held.close();
    }
    // And every match released again, so the sweep below meets the tree as the CLI's dry run does.
    await frame.locator('#select-page').check();
    await frame.locator('#select-all').click();
    await frame.getByRole('button', { name: 'Unprotect' }).click();
    await expect(frame.locator('#confirm-text').innerText()).resolves.toBe(`Unprotect all ${all} matching recordings?`);
    await reloaded(frame, 'recordings', () => frame.locator('#confirm-yes').click());
    await expect(frame.locator('#action-result').innerText()).resolves.toBe(`Released ${all} holds.`);

    // Jump to a date: oldest first from the start of yesterday.
    await reloaded(frame, 'recordings', () => frame.locator('#f-sort').selectOption('oldest'));
    const yesterday = new Date(Date.now() - DAY_MS);
    const day = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`;
    await reloaded(frame, 'recordings', () => frame.locator('#f-jump').fill(day));
    const startOfDay = new Date(`${day}T00:00:00`).getTime();
    const firstShown = await rows.first().getAttribute('data-id');
    const firstEnd = (() => {
      const s = indexStore();
      try {
        return s.recording(Number(firstShown))!.endTime;
      } finally {
        s.close();
      }
    })();
    expect(firstEnd).toBeGreaterThanOrEqual(startOfDay);
    await frame.locator('#f-jump').fill('');
    await reloaded(frame, 'recordings', () => frame.locator('#f-sort').selectOption('newest'));

    // The clip with a thumbnail: the thumbnail shows, Play loads the file in chunks into a Blob the video plays.
    const clipRow = frame.locator(`#recordings tbody tr[data-path="events/doorbell.mp4"]`);
    await clipRow.locator('[data-testid=thumbnail]').waitFor();
    await expect(clipRow.locator('[data-testid=thumbnail]').evaluate((img) => (img as unknown as { src: string }).src)).resolves.toMatch(
      /^blob:/,
    );
    await reloaded(frame, 'player', () => clipRow.getByRole('button', { name: /^Play/ }).click());
    await expect(frame.locator('#player-video').evaluate((video) => (video as unknown as { src: string }).src)).resolves.toMatch(/^blob:/);
    const played = await (
      await pluginFrame()
    ).evaluate(async () => {
      const blob = (globalThis as unknown as { nvrPlayed: { arrayBuffer: () => Promise<ArrayBuffer> } }).nvrPlayed;
      const bytes = new Uint8Array(await blob.arrayBuffer());
      return [...bytes.slice(0, 64), bytes.length];
    });
    const original = readFileSync(join(fixture.front, 'events/doorbell.mp4'));
    expect(played).toEqual([...original.subarray(0, 64), original.length]);
    await expect(frame.locator('#player-message').innerText()).resolves.toMatch(/^Front Door: events\/doorbell\.mp4, ended /);

    // On a phone each row names its camera.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(clipRow.locator('[data-testid=row-camera]').isVisible()).resolves.toBe(true);
    await expect(clipRow.locator('[data-testid=row-camera]').innerText()).resolves.toBe('Front Door');
    await shot({ path: join(screenshots, 'recordings-phone.png') });
    await page.setViewportSize(DESKTOP);
  }, 180_000);

  test('a delete is refused before it is confirmed while a CLI sweep runs, and the page refreshes itself when it ends', async () => {
    const frame = await openSettings();
    await reloaded(frame, 'recordings', () => frame.getByRole('tab', { name: 'Recordings' }).click());
    const other = indexStore();
    other.lock.acquire('sweep (cli)');
    try {
      await frame.locator('#recordings tbody tr').first().locator('input[type=checkbox]').check();
      await frame.getByRole('button', { name: 'Delete…' }).click();
      await frame.locator('#action-result', { hasText: 'A sweep is running right now' }).waitFor();
      await expect(frame.locator('#confirm').isHidden()).resolves.toBe(true);
      await frame.getByRole('tab', { name: 'Dashboard' }).click();
      await frame.locator('#sweep-state', { hasText: 'A sweep is running (sweep (cli))' }).waitFor({ timeout: 40_000 });
    } finally {
      other.close();
    }
    // The lock is free, a CLI sweep runs and ends: the page sees it by itself, without a reload.
    const cli = spawnSync(process.execPath, [CLI, 'sweep', '--dry-run', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    await frame
      .locator('#sweep-state', { hasText: 'A sweep is running' })
      .waitFor({ state: 'detached', timeout: 40_000 })
      .catch(() => {});
    await expect(frame.locator('#sweep-state').innerText()).resolves.not.toMatch(/A sweep is running/);
    await expect(frame.locator('#sweep-now').isEnabled()).resolves.toBe(true);
  }, 120_000);

  test('several cameras missing under one folder: one "is it mounted?" banner, and forgetting them takes an explanation and a confirmation', async () => {
    const nas = join(fixture.sandbox.root, 'nas');
    mkdirSync(nas);
    const cameras = fixture.platform.cameras as object[];
    fixture.save({
      cameras: [
        ...cameras,
        { name: 'Garage', path: join(nas, 'garage'), retentionDays: 7 },
        { name: 'Drive', path: join(nas, 'drive'), retentionDays: 7 },
      ],
    });
    try {
      const frame = await openSettings();
      const banner = frame.locator('[data-testid=problem][data-kind=mount-missing]');
      await expect(banner.innerText()).resolves.toMatch(
        new RegExp(
          `^2 cameras under ${nas.replace(/[/.]/g, '\\$&')} are unavailable \\(Garage and Drive\\): is the NAS or disk at .* mounted\\?`,
        ),
      );
      await expect(frame.locator('[data-testid=problem]').count()).resolves.toBe(1);
      await banner.getByRole('button', { name: 'The files are really gone…' }).click();
      await expect(banner.innerText()).resolves.toMatch(/Only do this if the recordings were deleted on purpose/);
      await banner.getByRole('button', { name: 'Cancel' }).click();
      await expect(banner.getByRole('button', { name: /^Forget/ }).count()).resolves.toBe(0);
      await shot({ path: join(screenshots, 'banner.png') });
    } finally {
      fixture.save({ cameras });
    }
  }, 120_000);

  test("Sweep now shows the preview's totals and asks; it deletes just those and its summary line reaches the Homebridge log", async () => {
    const cli = spawnSync(process.execPath, [CLI, 'sweep', '--dry-run', '--json', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const dryRun = JSON.parse(cli.stdout);
    const frame = await openSettings();

    // The preview, narrowed to a camera and a reason, with the totals of every camera.
    await frame.getByRole('tab', { name: 'Preview' }).click();
    await reloaded(frame, 'preview', () => frame.getByRole('button', { name: 'Preview next sweep' }).click());
    const by = dryRun.byReason;
    await expect(frame.locator('#preview-message').innerText()).resolves.toBe(
      `The next sweep would delete ${dryRun.deleted.count} recordings (${formatBytes(dryRun.deleted.bytes)}): ${by.age.count} by age, ${by.quota.count} by quota, ${by.cap.count} by cap, ${by.floor.count} by floor; ${dryRun.spared.protected} protected recording${dryRun.spared.protected === 1 ? '' : 's'} spared`,
    );
    await expect(frame.locator('#preview-list tbody tr').count()).resolves.toBe(dryRun.deletions.length);
    await reloaded(frame, 'preview', () => frame.locator('#p-camera').selectOption('Back Yard'));
    const backYard = dryRun.deletions.filter((d: { camera: string }) => d.camera === 'Back Yard');
    await expect(frame.locator('#preview-list tbody tr').count()).resolves.toBe(backYard.length);
    await expect(frame.locator('[data-testid="by camera"] tbody tr').count()).resolves.toBe(Object.keys(dryRun.byCamera).length);
    await shot({ path: join(screenshots, 'preview.png') });

    const filesBefore = filesBelow(fixture.front).length + filesBelow(fixture.back).length;
    await frame.getByRole('tab', { name: 'Dashboard' }).click();
    await frame.getByRole('button', { name: 'Sweep now…' }).click();
    await frame.locator('#sweep-confirm:not(.d-none)').waitFor();
    await expect(frame.locator('#sweep-confirm-text').innerText()).resolves.toBe(
      `This deletes ${dryRun.deleted.count} recordings (${formatBytes(dryRun.deleted.bytes)}) now; ${dryRun.spared.protected} protected recording${dryRun.spared.protected === 1 ? ' is' : 's are'} spared. This cannot be undone.`,
    );
    for (const [camera, tally] of Object.entries(dryRun.byCamera as Record<string, { count: number }>)) {
      await expect(frame.locator('[data-testid="by camera"] tr', { hasText: camera }).locator('td').first().innerText()).resolves.toBe(
        String(tally.count),
      );
    }
    await shot({ path: join(screenshots, 'sweep-confirm.png') });
    // Nothing is deleted before the confirmation.
    expect(filesBelow(fixture.front).length + filesBelow(fixture.back).length).toBe(filesBefore);
    await reloaded(frame, 'dashboard', () => frame.getByRole('button', { name: 'Delete them now' }).click());
    await frame.locator('#sweep-state', { hasText: 'Sweep deleted' }).waitFor();
    await expect(frame.locator('#sweep-state').innerText()).resolves.toMatch(
      new RegExp(`^Sweep deleted ${dryRun.deleted.count} recordings`),
    );
    await expect(frame.locator('#sweep-bar').getAttribute('style')).resolves.toMatch(/width: 100%/);
    // Each motion clip of the fixture has one sidecar (its .json), which goes with it.
    const sidecarsDeleted = dryRun.deletions.filter((d: { path: string }) => d.path.startsWith('events/motion-')).length;
    expect(filesBelow(fixture.front).length + filesBelow(fixture.back).length).toBe(filesBefore - dryRun.deleted.count - sidecarsDeleted);
    // hb-service's log (its stdout here) has the line, as it has the schedule's.
    const deadline = Date.now() + 10_000;
    while (!/Sweep deleted .* \(started from the settings screen\)/.test(serviceLog) && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
    }
    expect(serviceLog).toMatch(
      new RegExp(
        `\\[homebridge-nvr-retention\\] Sweep deleted ${dryRun.deleted.count} recordings .*\\(started from the settings screen\\)`,
      ),
    );
  }, 180_000);
});
