#!/usr/bin/env node
/**
 * The package as users get it, checked the way Homebridge users run it (called by .ci/run, and by
 * test/package.test.ts with the dev dependency's Homebridge):
 *
 * 1. Packs a fresh copy of the checkout (no dist/, as a fresh clone has it): `npm pack` must build
 *    (prepack) and ship dist/, the settings UI, the schema, the README, the CHANGELOG and the
 *    licence, without source maps, with the metadata the Homebridge plugin checks read.
 * 2. Installs the tarball the way the Homebridge UI installs plugins: `npm install --omit=dev
 *    --ignore-scripts <tarball>` in a storage folder.
 * 3. For each target (a Homebridge version on a Node), boots `homebridge -U <storage> -P
 *    <storage>/node_modules` with no platform block, a platform block alone, a full config, and the
 *    platform as a child bridge (`_bridge`): each must start, sweep where it has cameras, print no
 *    ERROR LOADING PLUGIN, stack trace or SQLite warning, and be gone within 12 s of SIGTERM. Then
 *    the command and the settings server from the install: the command line the settings page
 *    shows must run as shown. On a Node older than 22.13 it checks the one clear error instead.
 *
 * Usage: node scripts/ci-packaged.js --target RANGE=NODE [--target ...] [--work DIR]
 *   RANGE  a Homebridge version range to install from the registry (^1, ^2), or `dev` for this
 *          checkout's dev dependency
 *   NODE   the node binary to run it on
 *   --work keep the work folder there (default: a temporary folder, removed when all passed)
 * Prints one line per check; exits 1 at the first failure, with the log that shows it.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CLEAN_EXIT_CODES,
  childBridge,
  killIfRunning,
  loadFailureLines,
  startHomebridge,
  stopWithinBound,
  waitForLog,
  writeRecordings,
} from './lib/homebridge-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = 'homebridge-nvr-retention';
/** What a published package must carry, and what it must not. */
const MUST_SHIP = [
  'dist/index.js',
  'dist/cli/bin.js',
  'dist/ui/settings-ui.js',
  'dist/retention/worker.js',
  'homebridge-ui/server.js',
  'homebridge-ui/public/index.html',
  'config.schema.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
];
const MUST_NOT_SHIP = /\.map$|^src\/|^test\/|^scripts\/|^docs\/|^\.ci\//;
/** The warning Node 22 prints for node:sqlite, which the package silences. */
const SQLITE_WARNING = /ExperimentalWarning.*SQLite|SQLite is an experimental feature/;
const NEEDS_NODE = 'needs Node.js 22.13 or newer';

const { values } = parseArgs({ options: { target: { type: 'string', multiple: true }, work: { type: 'string' } } });
const targets = (values.target ?? []).map((spec) => {
  const at = spec.indexOf('=');
  if (at <= 0) {
    throw new Error(`--target ${spec}: expected RANGE=NODE, such as ^2=/usr/local/bin/node`);
  }
  return { range: spec.slice(0, at), node: resolve(spec.slice(at + 1)) };
});
if (targets.length === 0) {
  throw new Error('name at least one --target RANGE=NODE');
}

const work = values.work ? resolve(values.work) : mkdtempSync(join(tmpdir(), 'nvr-packaged-'));
mkdirSync(work, { recursive: true });
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function say(line) {
  process.stdout.write(`${line}\n`);
}

function fail(what, detail) {
  say(`FAIL ${what}`);
  if (detail) {
    say(detail.trimEnd());
  }
  say(`(work folder kept: ${work})`);
  process.exit(1);
}

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: npmEnv, ...options });
  if (result.status !== 0) {
    fail(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status}`, `${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** What a fresh clone holds: git's tracked and new unignored files, or without git, all but what .gitignore names. */
function checkoutFiles() {
  try {
    return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\0')
      .filter((file) => file && existsSync(join(ROOT, file)));
  } catch {
    const ignored = /^(node_modules|dist|coverage|\.demo|\.git)$|\.(tgz|log)$/;
    const walk = (folder) =>
      readdirSync(join(ROOT, folder), { withFileTypes: true })
        .filter((entry) => !ignored.test(entry.name))
        .flatMap((entry) => (entry.isDirectory() ? walk(join(folder, entry.name)) : entry.isFile() ? [join(folder, entry.name)] : []));
    return walk('');
  }
}

/** 1. A fresh copy of the checkout (what git tracks, and new files not ignored), packed. */
function pack() {
  const clone = join(work, 'clone');
  rmSync(clone, { recursive: true, force: true });
  for (const file of checkoutFiles()) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file));
  }
  // The build tools of the checkout, as `npm ci` would install them.
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  if (existsSync(join(clone, 'dist'))) {
    fail('the fresh copy has a dist/ folder before packing');
  }
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: clone });
  const { filename, files: entries, size } = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  const shipped = entries.map((entry) => entry.path);
  const missing = MUST_SHIP.filter((file) => !shipped.includes(file));
  const extra = shipped.filter((file) => MUST_NOT_SHIP.test(file));
  if (missing.length || extra.length) {
    fail(`pack: missing ${missing.join(', ') || 'nothing'}; must not ship ${extra.join(', ') || 'nothing'}`);
  }
  const manifest = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8'));
  const metadata = {
    homepage: manifest.homepage,
    'bugs.url': manifest.bugs?.url,
    'repository.url': manifest.repository?.url,
    author: manifest.author,
  };
  const absent = Object.entries(metadata).filter(([, value]) => !value);
  if (absent.length) {
    fail(`pack: package.json has no ${absent.map(([key]) => key).join(', ')}`);
  }
  say(
    `ok   pack: ${filename}, ${shipped.length} files, ${Math.round(size / 1000)} kB: dist/ built by prepack, no source maps; homepage, bugs.url, repository, author set`,
  );
  return join(work, filename);
}

/** 2. The tarball installed into a storage folder as the Homebridge UI does it. */
function install(tarball) {
  const storage = join(work, 'storage');
  mkdirSync(storage, { recursive: true });
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-save', tarball], { cwd: storage });
  const bin = join(storage, 'node_modules', '.bin', 'nvr-retention');
  if (!existsSync(bin)) {
    fail(`install: npm linked no ${bin}`);
  }
  say(`ok   install: npm install --omit=dev --ignore-scripts into ${storage}; the command is ${bin}`);
  return storage;
}

/** Homebridge for one target: the dev dependency, or a version range installed from the registry. */
function homebridgeFor(range) {
  if (range === 'dev') {
    return join(ROOT, 'node_modules', 'homebridge');
  }
  const folder = join(work, `homebridge-${range.replace(/[^\w.-]/g, '_')}`);
  mkdirSync(folder, { recursive: true });
  // Homebridge 2.4.0 pins @homebridge/hap-nodejs 2.2.2, which this registry lacks; 2.2.3 is its fix
  // release (package.json's overrides do the same for the dev dependency).
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ private: true, overrides: { '@homebridge/hap-nodejs': '2.2.3' } }));
  run('npm', ['install', '--no-save', `homebridge@${range}`], { cwd: folder });
  return join(folder, 'node_modules', 'homebridge');
}

function nodeVersion(node) {
  return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
}

function tooOld(version) {
  const [major, minor] = version.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 13);
}

/** The scenarios' configs, each in its own sandbox (its own -U storage and recordings). */
const SCENARIOS = [
  { name: 'no platform block', platforms: () => [], expect: 'Loaded plugin: homebridge-nvr-retention' },
  { name: 'platform block alone', platforms: () => [{ platform: 'NvrRetention' }], expect: 'No usable cameras in the config' },
  {
    name: 'full config',
    old: 2,
    platforms: (sandbox) => [
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
            extensions: ['mp4', 'mkv'],
            protectSwitch: true,
          },
        ],
        maxTotalGB: 100,
        minFreeGB: 0.001,
        minAgeSeconds: 60,
        protectHours: 12,
        schedule: '*/30 * * * *',
        sweepOnStartup: true,
        databasePath: join(sandbox, 'index', 'retention.db'),
        exportPath: join(sandbox, 'exports'),
        diskPressureSensor: 'leak',
        pauseSwitch: true,
      },
    ],
    expect: 'Sweep deleted 2 recordings',
  },
  {
    name: 'child bridge',
    old: 1,
    platforms: async (sandbox) => [
      {
        platform: 'NvrRetention',
        cameras: [{ name: 'Front', path: join(sandbox, 'recordings', 'front'), retentionDays: 7, protectSwitch: true }],
        _bridge: await childBridge(),
      },
    ],
    expect: 'Sweep deleted 1 recording ',
  },
];

/** 3. One boot: start, the expected line, no load failure or SQLite warning, stop within the bound. */
async function boot(target, scenario, label) {
  const sandbox = join(work, `${label}-${scenario.name.replaceAll(' ', '-')}`);
  rmSync(sandbox, { recursive: true, force: true });
  const old = scenario.old ? writeRecordings(join(sandbox, 'recordings', 'front'), scenario.old) : [];
  const started = Date.now();
  const hb = await startHomebridge({
    node: target.node,
    homebridge: join(target.homebridge, 'bin', 'homebridge'),
    storage: join(sandbox, 'storage'),
    pluginPath: join(target.storage, 'node_modules'),
    platforms: await scenario.platforms(sandbox),
  });
  try {
    const expected = target.tooOld ? NEEDS_NODE : scenario.expect;
    await waitForLog(hb, expected);
    await waitForLog(hb, 'is running on port');
    const ready = Date.now() - started;
    const left = old.filter((file) => existsSync(file));
    if (!target.tooOld && left.length) {
      throw new Error(`the sweep left ${left.join(', ')}. Log:\n${hb.output()}`);
    }
    if (target.tooOld && left.length !== old.length) {
      throw new Error(`on Node ${target.version} something was deleted. Log:\n${hb.output()}`);
    }
    const stop = await stopWithinBound(hb);
    if (!CLEAN_EXIT_CODES.includes(stop.code)) {
      throw new Error(`exit code ${stop.code}. Log:\n${hb.output()}`);
    }
    const failures = loadFailureLines(hb.output());
    if (failures.length || SQLITE_WARNING.test(hb.output())) {
      throw new Error(`the log shows a load failure or the SQLite warning:\n${hb.output()}`);
    }
    const needs = hb
      .output()
      .split('\n')
      .filter((line) => line.includes(NEEDS_NODE));
    if (target.tooOld && needs.length !== 1) {
      throw new Error(`expected the Node error once, found it ${needs.length} times:\n${hb.output()}`);
    }
    say(`ok   ${scenario.name}: "${expected.trim()}", up in ${seconds(ready)}, gone ${seconds(stop.ms)} after SIGTERM (exit ${stop.code})`);
    return sandbox;
  } catch (error) {
    await killIfRunning(hb);
    fail(`${label}, ${scenario.name}`, error.message);
  }
}

/** The installed command, found by the Homebridge UI's variable, and on an old Node the one line and exit 2. */
function checkCommand(target, sandbox) {
  const bin = join(target.storage, 'node_modules', '.bin', 'nvr-retention');
  const env = { ...npmEnv, PATH: `${dirname(target.node)}:${process.env.PATH}`, UIX_STORAGE_PATH: join(sandbox, 'storage') };
  delete env.UIX_CONFIG_PATH;
  const result = spawnSync(bin, ['sweep', '--dry-run'], { encoding: 'utf8', env });
  if (target.tooOld) {
    if (result.status !== 2 || result.stderr.trim().split('\n').length !== 1 || !result.stderr.includes(NEEDS_NODE)) {
      fail(`command on Node ${target.version}: exit ${result.status}`, result.stderr);
    }
    say(`ok   command: one line on stderr, exit 2`);
    return;
  }
  // The README's other form, for the Homebridge UI's terminal: npx from the storage folder.
  const viaNpx = spawnSync('npx', ['--prefix', target.storage, 'nvr-retention', 'sweep', '--dry-run'], {
    encoding: 'utf8',
    env,
    cwd: tmpdir(),
  });
  for (const [form, outcome] of [
    [`${bin} sweep --dry-run`, result],
    [`npx --prefix ${target.storage} nvr-retention sweep --dry-run`, viaNpx],
  ]) {
    if (outcome.status !== 0 || !outcome.stderr.includes('(from UIX_STORAGE_PATH') || SQLITE_WARNING.test(outcome.stderr)) {
      fail(`command: ${form} exited ${outcome.status}`, `${outcome.stdout}\n${outcome.stderr}`);
    }
    say(`ok   command: ${form} found the config through UIX_STORAGE_PATH`);
  }
}

/** The settings server from the install answers, and the command line it gives runs as shown. */
async function checkSettingsServer(target, sandbox) {
  const storage = join(sandbox, 'storage');
  const child = fork(join(target.storage, 'node_modules', PACKAGE, 'homebridge-ui', 'server.js'), [], {
    execPath: target.node,
    silent: true,
    env: {
      ...process.env,
      HOMEBRIDGE_STORAGE_PATH: storage,
      HOMEBRIDGE_CONFIG_PATH: join(storage, 'config.json'),
      HOMEBRIDGE_UI_VERSION: 'ci',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.once('exit', done));
  const answers = new Map();
  child.on('message', (message) => {
    if (message.action === 'ready') {
      child.send({ action: 'request', requestId: 'dashboard', path: '/dashboard', body: {} });
      child.send({ action: 'request', requestId: 'command', path: '/command', body: {} });
    } else if (message.action === 'response') {
      answers.set(message.payload.requestId, message.payload);
    }
  });
  const deadline = Date.now() + 30_000;
  while (answers.size < 2 && child.exitCode === null && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 50));
  }
  if (child.connected) {
    child.disconnect();
  }
  await exited;
  const [dashboard, command] = [answers.get('dashboard'), answers.get('command')];
  if (!dashboard?.success || !command?.success || SQLITE_WARNING.test(output)) {
    fail('settings server from the install', `${JSON.stringify([...answers])}\n${output}`);
  }
  const expected = `${join(target.storage, 'node_modules', '.bin', 'nvr-retention')} sweep --dry-run --config ${join(storage, 'config.json')}`;
  if (command.data.dryRun !== expected) {
    fail(`settings server: the command it shows is ${command.data.dryRun}, expected ${expected}`);
  }
  const env = { ...npmEnv, PATH: `${dirname(target.node)}:${process.env.PATH}` };
  const shown = spawnSync('/bin/sh', ['-c', command.data.dryRun], { encoding: 'utf8', env });
  if (shown.status !== 0 || !/^Dry run: the sweep would delete/m.test(shown.stdout)) {
    fail(`the settings page's command exited ${shown.status}`, `${shown.stdout}\n${shown.stderr}`);
  }
  say(`ok   settings server: dashboard answered; its command runs as shown: ${command.data.dryRun}`);
}

const begun = Date.now();
const tarball = pack();
const storage = install(tarball);
for (const { range, node } of targets) {
  const homebridge = homebridgeFor(range);
  const version = nodeVersion(node);
  const target = { range, node, version, homebridge, storage, tooOld: tooOld(version) };
  const hbVersion = JSON.parse(readFileSync(join(homebridge, 'package.json'), 'utf8')).version;
  const label = `homebridge-${hbVersion}-node-${version}`;
  say(`== Homebridge ${hbVersion} (${range}) on Node ${version}${target.tooOld ? ': too old, so the plugin must only say so' : ''}`);
  let last;
  for (const scenario of target.tooOld ? SCENARIOS.filter((s) => s.name === 'full config') : SCENARIOS) {
    last = await boot(target, scenario, label);
  }
  checkCommand(target, last);
  if (!target.tooOld) {
    await checkSettingsServer(target, last);
  }
}
say(`All packaged checks passed in ${seconds(Date.now() - begun)}.`);
if (!values.work && statSync(work).isDirectory()) {
  rmSync(work, { recursive: true, force: true });
}
