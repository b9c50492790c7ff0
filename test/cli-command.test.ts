/**
 * The command line the settings page shows, for each way the package can be installed, on real
 * folders and links laid out as npm lays them out: into a Homebridge storage folder (what the
 * Homebridge UI does), globally, or as a linked checkout. The packaged check
 * (scripts/ci-packaged.js) also runs the line from a real install.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, test } from '@jest/globals';
import { commandPath, dryRunCommand, shellWord } from '../src/ui/cli-command.js';
import { SettingsUi } from '../src/ui/settings-ui.js';

let sandbox: string;
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

/** A package folder at `modules/homebridge-nvr-retention` with its command file, linked from `link` as npm does. */
function installed(modules: string, link?: string): string {
  const root = join(modules, 'homebridge-nvr-retention');
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(root, 'dist', 'cli', 'bin.js'), '');
  if (link) {
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(join(root, 'dist', 'cli', 'bin.js'), link);
  }
  return root;
}

test('installed by the Homebridge UI into the storage folder: the full path of the link npm made there', () => {
  sandbox = mkdtempSync(join(tmpdir(), 'nvr-command-'));
  const storage = join(sandbox, 'var', 'lib', 'homebridge');
  const root = installed(join(storage, 'node_modules'), join(storage, 'node_modules', '.bin', 'nvr-retention'));
  expect(dryRunCommand(root, join(storage, 'config.json'))).toBe(
    `${storage}/node_modules/.bin/nvr-retention sweep --dry-run --config ${storage}/config.json`,
  );
});

test('installed globally: the link in the prefix bin folder', () => {
  sandbox = mkdtempSync(join(tmpdir(), 'nvr-command-'));
  const prefix = join(sandbox, 'usr');
  const root = installed(join(prefix, 'lib', 'node_modules'), join(prefix, 'bin', 'nvr-retention'));
  expect(commandPath(root)).toBe(`${prefix}/bin/nvr-retention`);
});

test('a link that is not ours, or none (a linked checkout): this Node with the command file', () => {
  sandbox = mkdtempSync(join(tmpdir(), 'nvr-command-'));
  const modules = join(sandbox, 'node_modules');
  const root = installed(modules);
  mkdirSync(join(modules, '.bin'));
  writeFileSync(join(modules, '.bin', 'nvr-retention'), 'someone else');
  expect(commandPath(root, '/opt/homebridge/bin/node')).toBe(`/opt/homebridge/bin/node ${root}/dist/cli/bin.js`);
});

test('paths with spaces or quotes are quoted for the shell', () => {
  expect(shellWord('/home/pi/my homebridge/config.json')).toBe("'/home/pi/my homebridge/config.json'");
  expect(shellWord("/srv/bob's/config.json")).toBe(`'/srv/bob'\\''s/config.json'`);
  expect(shellWord('/var/lib/homebridge/config.json')).toBe('/var/lib/homebridge/config.json');
});

test("the settings server's /command answers with this checkout's command and the config it was given, even when that config is broken", async () => {
  sandbox = mkdtempSync(join(tmpdir(), 'nvr-command-'));
  const configPath = join(sandbox, 'config.json');
  writeFileSync(configPath, '{ broken');
  const ui = new SettingsUi({ configPath, storagePath: sandbox, push: () => undefined });
  await expect(ui.handlers()['/command']({})).resolves.toEqual({
    dryRun: `${process.execPath} ${resolve('dist', 'cli', 'bin.js')} sweep --dry-run --config ${configPath}`,
  });
  await ui.shutdown();
});
