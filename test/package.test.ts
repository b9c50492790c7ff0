/**
 * The published package as a Homebridge user gets it, with real processes: scripts/ci-packaged.js
 * packs a fresh copy of the checkout (no dist/, so prepack must build it), installs the tarball as
 * the Homebridge UI does (`npm install --omit=dev --ignore-scripts` in a storage folder, from the
 * npm registry), and boots this checkout's Homebridge dev dependency on it (`homebridge -U <storage>
 * -P <storage>/node_modules`): no platform block, a block alone, a full config and a child bridge,
 * each loaded, swept and stopped within 12 s of SIGTERM. .ci/run runs the same script on the
 * latest Homebridge 1.x (Node 22), Homebridge 2.x (Node 24) and Node 20.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';

const work = mkdtempSync(join(tmpdir(), 'nvr-package-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('npm pack from a fresh clone ships a package that installs like the Homebridge UI installs it and runs in a real Homebridge', () => {
  const result = spawnSync(process.execPath, ['scripts/ci-packaged.js', '--target', `dev=${process.execPath}`, '--work', work], {
    encoding: 'utf8',
  });
  expect(result.stdout).toMatch(/^ok {3}pack: homebridge-nvr-retention-\d+\.\d+\.\d+\.tgz/m);
  for (const scenario of ['no platform block', 'platform block alone', 'full config', 'child bridge', 'command', 'settings server']) {
    expect(result.stdout).toMatch(new RegExp(`^ok {3}${scenario}: `, 'm'));
  }
  expect(result.stdout).toMatch(/^All packaged checks passed/m);
  expect(result.status).toBe(0);

  // What the tarball carries, read from it: the build, and none of the sources or their maps.
  const { name, version } = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };
  const tarball = join(work, `${name}-${version}.tgz`);
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  expect(files).toEqual(
    expect.arrayContaining(['package/dist/index.js', 'package/dist/cli/bin.js', 'package/homebridge-ui/server.js', 'package/CHANGELOG.md']),
  );
  expect(files.filter((file) => /\.map$|^package\/(src|test)\//.test(file))).toEqual([]);

  // The installed package.json carries what the Homebridge plugin checks and the UI's plugin card read.
  const installed = JSON.parse(readFileSync(join(work, 'storage', 'node_modules', 'homebridge-nvr-retention', 'package.json'), 'utf8'));
  expect(installed).toMatchObject({
    homepage: 'https://github.com/nvr-retention/homebridge-nvr-retention#readme',
    bugs: { url: 'https://github.com/nvr-retention/homebridge-nvr-retention/issues' },
    repository: { url: 'git+https://github.com/nvr-retention/homebridge-nvr-retention.git' },
    author: expect.any(String),
  });
}, 300_000);
