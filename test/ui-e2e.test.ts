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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type BrowserContext, chromium, type FrameLocator, type Page } from 'playwright-core';
import { formatBytes } from '../src/retention/format.js';
import { Store } from '../src/store/store.js';
import { freePort } from './helpers/ports.js';
import { filesBelow } from './helpers/tree.js';
import { makeUiFixture, type UiFixture } from './helpers/ui-fixture.js';

const ROOT = resolve('.');
const HB_SERVICE = join(ROOT, 'node_modules', 'homebridge-config-ui-x', 'dist', 'bin', 'hb-service.js');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const CHROMIUM = '/usr/bin/chromium';
/** `npm run screenshots` sets this to rewrite the README's images; other runs keep theirs in the sandbox. */
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const STEP_MS = 30_000;

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
    // Tall enough for the whole settings page, so a screenshot holds all of it.
    viewport: { width: 1280, height: 2200 },
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
async function reloaded(frame: FrameLocator, what: string, action: () => Promise<void>): Promise<void> {
  await frame.locator('#nvr').evaluate((node, attribute) => node.removeAttribute(attribute), `data-loaded-${what}`);
  await action();
  await frame.locator(`#nvr[data-loaded-${what}]`).waitFor();
}

/** What is on disk for a camera: recordings (not sidecars), event recordings, and bytes with sidecars. */
function onDisk(folder: string): { recordings: number; events: number; bytes: number } {
  const files = filesBelow(folder);
  const recordings = files.filter((file) => !file.endsWith('.json'));
  return {
    recordings: recordings.length,
    events: recordings.filter((file) => file.startsWith('events/')).length,
    bytes: files.reduce((sum, file) => sum + statSync(join(folder, file)).size, 0),
  };
}

function indexStore(): Store {
  return Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
}

describe('the settings screen in the Homebridge UI', () => {
  test('the dashboard shows the figures of the files on disk, in light and dark mode', async () => {
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
    await expect(frame.locator('[data-testid=filesystem]').count()).resolves.toBe(1);
    await expect(frame.locator('#forecast').innerText()).resolves.toMatch(
      /^Recording about .* a day \(last week\)\. .*Retention holds usage at about/,
    );
    await expect(frame.locator('[data-testid=chart] polyline').count()).resolves.toBe(2);
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

  test('filter the browser, protect and export one, delete two, preview the next sweep and run it', async () => {
    const frame = await openSettings();
    await reloaded(frame, 'recordings', () => frame.getByRole('button', { name: 'Recordings' }).click());
    await frame.locator('#f-camera').selectOption('Back Yard');
    await frame.locator('#f-sort').selectOption('oldest');
    await reloaded(frame, 'recordings', () => frame.getByRole('button', { name: 'Apply' }).click());
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
      `Delete 2 recordings (${formatBytes(30_000)}): 2 continuous; 1 protected recording is excluded`,
    );
    await reloaded(frame, 'recordings', () => frame.locator('#confirm-yes').click());
    await expect(frame.locator('#action-result').innerText()).resolves.toBe(`Deleted 2 recordings (${formatBytes(30_000)}); 1 kept`);
    expect(existsSync(join(fixture.back, backYard[0]))).toBe(true);
    expect(existsSync(join(fixture.back, backYard[1]))).toBe(false);
    expect(existsSync(join(fixture.back, backYard[2]))).toBe(false);

    // The preview says what the CLI's dry run says.
    const cli = spawnSync(process.execPath, [CLI, 'sweep', '--dry-run', '--json', '--config', fixture.configPath], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const dryRun = JSON.parse(cli.stdout);
    await frame.getByRole('button', { name: 'Preview', exact: true }).click();
    await reloaded(frame, 'preview', () => frame.getByRole('button', { name: 'Preview next sweep' }).click());
    const by = dryRun.byReason;
    await expect(frame.locator('#preview-message').innerText()).resolves.toBe(
      `The next sweep would delete ${dryRun.deleted.count} recordings (${formatBytes(dryRun.deleted.bytes)}): ${by.age.count} by age, ${by.quota.count} by quota, ${by.cap.count} by cap, ${by.floor.count} by floor; ${dryRun.spared.protected} protected recording${dryRun.spared.protected === 1 ? '' : 's'} spared`,
    );
    expect(dryRun.spared.protected).toBe(1);
    await expect(frame.locator('#preview-list tbody tr').count()).resolves.toBe(dryRun.deletions.length);

    // Sweep now deletes just those, with its progress bar, and the dashboard shows the outcome.
    const filesBefore = filesBelow(fixture.front).length + filesBelow(fixture.back).length;
    await frame.getByRole('button', { name: 'Dashboard' }).click();
    await reloaded(frame, 'dashboard', () => frame.getByRole('button', { name: 'Sweep now' }).click());
    await frame.locator('#sweep-state', { hasText: 'Sweep deleted' }).waitFor();
    await expect(frame.locator('#sweep-state').innerText()).resolves.toMatch(
      new RegExp(`^Sweep deleted ${dryRun.deleted.count} recordings`),
    );
    await expect(frame.locator('#sweep-bar').getAttribute('style')).resolves.toMatch(/width: 100%/);
    const sidecarsDeleted = dryRun.deletions.filter((d: { path: string }) => d.path.startsWith('events/')).length;
    expect(filesBelow(fixture.front).length + filesBelow(fixture.back).length).toBe(filesBefore - dryRun.deleted.count - sidecarsDeleted);
  }, 120_000);
});
