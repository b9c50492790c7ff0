// Issue 3's closing-note measurement: a real Homebridge with the built plugin (dist/, so run
// `npm run build` first), with and without a backlog of expired recordings, sweepOnStartup true.
//
//   node scripts/measure-homebridge.js [--runs 3] [--files 20000] [--folders 200] [--idle-ms 3000] [--verbose]
//
// Per run: a fresh storage folder and recordings tree under os.tmpdir(); Homebridge is spawned with
// scripts/loop-probe.js preloaded (NODE_OPTIONS=--import), which writes the main thread's event-loop
// delay every 500 ms. Reported: ms from spawn to "Homebridge v… is running", ms from the sweep's
// start (the plugin's "Watching N camera folders" line, logged just before the start-up sweep is
// started) to its "Sweep deleted N recordings" summary, the loop delay over the probe windows that
// start inside the sweep (p99 = the highest window p99, max = the highest window max), over the idle
// windows after it and over the start-up windows before it, ms from SIGTERM to exit, and how many recordings are left. Times are taken on
// this script's clock when a line arrives. Median of the runs per scenario. Temp folders are removed.
// Homebridge loads a snapshot of dist/ and package.json taken at the start (node_modules linked), so
// that a rebuild of dist/ while this runs does not pull the plugin out from under it.
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOMEBRIDGE = join(ROOT, 'node_modules', 'homebridge', 'bin', 'homebridge');
const PROBE = fileURLToPath(new URL('./loop-probe.js', import.meta.url));
const DAY_MS = 86_400_000;
/** The probe's window length (scripts/loop-probe.js). */
const WINDOW_MS = 500;
/** A run that has not finished this long after spawn is killed and reported as failed. */
const RUN_LIMIT_MS = 120_000;
/** SIGKILL if Homebridge is still there this long after SIGTERM (the issue's bound is 12 s). */
const EXIT_LIMIT_MS = 15_000;

const RUNNING = /Homebridge v\S+ .*is running on port/;
const SWEEP_START = /Watching [\d,]+ camera folders?;|Sweep in progress/;
const SUMMARY = /Sweep deleted (\d+) recordings/;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function parseArgs(argv) {
  const options = { runs: 3, files: 20_000, folders: 200, idleMs: 3000, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const number = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) {
        throw new Error(`${arg} needs a whole number`);
      }
      return value;
    };
    if (arg === '--runs') {
      options.runs = number();
    } else if (arg === '--files') {
      options.files = number();
    } else if (arg === '--folders') {
      options.folders = Math.max(1, number());
    } else if (arg === '--idle-ms') {
      options.idleMs = number();
    } else if (arg === '--verbose') {
      options.verbose = true;
    } else {
      throw new Error(`unknown option ${arg}`);
    }
  }
  return options;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `files` one-byte recordings spread over `folders` folders, all modified 30 days ago. */
function makeBacklog(camera, files, folders) {
  const time = new Date(Date.now() - 30 * DAY_MS);
  for (let f = 0; f < folders; f++) {
    mkdirSync(join(camera, `day-${String(f).padStart(3, '0')}`), { recursive: true });
  }
  for (let i = 0; i < files; i++) {
    const file = join(camera, `day-${String(i % folders).padStart(3, '0')}`, `seg-${i}.mp4`);
    writeFileSync(file, 'x');
    utimesSync(file, time, time);
  }
}

function countFiles(folder) {
  if (!existsSync(folder)) {
    return 0;
  }
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}

/** The probe's lines, each with the span it covers: from the previous line's time to its own. */
function readProbe(file) {
  if (!existsSync(file)) {
    return [];
  }
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  return lines.map((line, i) => ({ ...line, from: i === 0 ? line.t - WINDOW_MS : lines[i - 1].t }));
}

function summarise(windows) {
  const used = windows.filter((w) => w.count > 0);
  if (used.length === 0) {
    return { p99: NaN, max: NaN, windows: 0 };
  }
  return { p99: Math.max(...used.map((w) => w.p99)), max: Math.max(...used.map((w) => w.max)), windows: used.length };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plugin folder for -P: copies of package.json and dist/, node_modules linked to the checkout's. */
function snapshotPlugin() {
  const folder = mkdtempSync(join(tmpdir(), 'nvr-measure-plugin-'));
  cpSync(join(ROOT, 'package.json'), join(folder, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(folder, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(folder, 'node_modules'), 'dir');
  return folder;
}

async function runOnce(scenario, options) {
  const sandbox = mkdtempSync(join(tmpdir(), 'nvr-measure-'));
  const storage = join(sandbox, 'storage');
  const camera = join(sandbox, 'recordings', 'cam');
  const probeFile = join(sandbox, 'loop-probe.jsonl');
  let child;
  try {
    mkdirSync(storage, { recursive: true });
    mkdirSync(camera, { recursive: true });
    const backlog = scenario.backlog ? options.files : 0;
    if (backlog > 0) {
      makeBacklog(camera, backlog, options.folders);
    }

    const username = `0E:11:22:33:${Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0')}:66`.toUpperCase();
    const bridge = { name: 'NVR Measure Bridge', username, port: await freePort(), pin: '031-45-154' };
    const platform = {
      platform: 'NvrRetention',
      name: 'NVR Retention',
      cameras: [{ name: 'Cam', path: camera, retentionDays: 7 }],
      sweepOnStartup: true,
    };
    writeFileSync(join(storage, 'config.json'), JSON.stringify({ bridge, accessories: [], platforms: [platform] }, null, 2));

    const probeSpec = /\s/.test(PROBE) ? pathToFileURL(PROBE).href : PROBE;
    const env = {
      ...process.env,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${probeSpec}`].filter(Boolean).join(' '),
      LOOP_PROBE_FILE: probeFile,
    };
    const log = [];
    const marks = {};
    let deletedCount;
    const spawnedAt = Date.now();
    child = spawn(process.execPath, [HOMEBRIDGE, '-U', storage, '-P', options.plugin, '-I', '-D', '-Q'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    const onLine = (raw) => {
      const at = Date.now();
      const line = raw.replace(ANSI, '');
      log.push({ at, line });
      if (marks.running === undefined && RUNNING.test(line)) {
        marks.running = at;
      }
      if (marks.sweepStart === undefined && SWEEP_START.test(line)) {
        marks.sweepStart = at;
      }
      const summary = SUMMARY.exec(line);
      if (marks.summary === undefined && summary) {
        marks.summary = at;
        deletedCount = Number(summary[1]);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        for (const part of parts) {
          onLine(part);
        }
      });
      stream.on('end', () => rest && onLine(rest));
    }

    let exit;
    const deadline = spawnedAt + RUN_LIMIT_MS;
    const waitFor = async (what, done) => {
      while (!done()) {
        if (exit || child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`Homebridge exited before ${what}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`no ${what} within ${RUN_LIMIT_MS / 1000} s`);
        }
        await sleep(20);
      }
    };
    let failure;
    try {
      await waitFor('the "is running" line and the sweep summary', () => marks.running !== undefined && marks.summary !== undefined);
      marks.idleFrom = marks.summary + WINDOW_MS;
      await sleep(Math.min(options.idleMs + WINDOW_MS * 2, Math.max(0, deadline - Date.now())));
      marks.idleTo = marks.idleFrom + options.idleMs;
    } catch (error) {
      failure = error.message;
    }

    const termAt = Date.now();
    child.kill('SIGTERM');
    exit = await Promise.race([exited, sleep(EXIT_LIMIT_MS).then(() => undefined)]);
    if (!exit) {
      child.kill('SIGKILL');
      exit = await exited;
      failure ??= `still running ${EXIT_LIMIT_MS / 1000} s after SIGTERM`;
    }

    const windows = readProbe(probeFile);
    // A window counts for the sweep if it starts after the sweep did and before its summary line (so
    // the last one also holds the handling of the sweep's result). The window in which the sweep
    // starts is left out: most of it is Homebridge's start-up (loading plugins, publishing the bridge).
    const sweepWindows = marks.summary === undefined ? [] : windows.filter((w) => w.from >= marks.sweepStart && w.from < marks.summary);
    const startupWindows = windows.filter((w) => marks.sweepStart !== undefined && w.from < marks.sweepStart);
    const idleWindows =
      marks.idleTo === undefined ? [] : windows.filter((w) => w.from >= marks.idleFrom && w.t <= marks.idleTo + WINDOW_MS);
    const result = {
      scenario: scenario.name,
      failure,
      startupMs: marks.running === undefined ? NaN : marks.running - spawnedAt,
      sweepStartMs: marks.sweepStart === undefined ? NaN : marks.sweepStart - spawnedAt,
      summaryMs: marks.summary === undefined ? NaN : marks.summary - spawnedAt,
      sweepMs: marks.summary === undefined ? NaN : marks.summary - marks.sweepStart,
      runningBeforeSummary: marks.running !== undefined && marks.summary !== undefined && marks.running < marks.summary,
      deleted: deletedCount,
      sweep: summarise(sweepWindows),
      startup: summarise(startupWindows),
      idle: summarise(idleWindows),
      exitMs: exit.at - termAt,
      exitCode: exit.code ?? exit.signal,
      left: countFiles(camera),
      expected: backlog,
    };
    if (options.verbose || failure) {
      console.error(`--- ${scenario.name}: log (ms since spawn)`);
      for (const { at, line } of log) {
        console.error(`${String(at - spawnedAt).padStart(6)}  ${line}`);
      }
      console.error(`--- ${scenario.name}: probe windows (ms since spawn)`);
      for (const w of windows) {
        console.error(
          `${String(w.from - spawnedAt).padStart(6)}..${String(w.t - spawnedAt).padStart(6)}  p50 ${w.p50}  p99 ${w.p99}  max ${w.max}  n ${w.count}`,
        );
      }
    }
    return result;
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    rmSync(sandbox, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) {
    return NaN;
  }
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  return rows
    .map((row) => row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  '))
    .join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    throw new Error('dist/index.js is missing: run `npm run build` first');
  }
  const scenarios = [
    { name: 'no backlog', backlog: false },
    { name: `${options.files} expired`, backlog: true },
  ];
  options.plugin = snapshotPlugin();
  try {
    await measure(options, scenarios);
  } finally {
    rmSync(options.plugin, { recursive: true, force: true });
  }
}

async function measure(options, scenarios) {
  const results = [];
  // Scenarios alternate so that drift in machine load touches both alike.
  for (let run = 1; run <= options.runs; run++) {
    for (const scenario of scenarios) {
      const r = await runOnce(scenario, options);
      results.push(r);
      console.log(
        `run ${run} ${r.scenario}: running ${fmt(r.startupMs)} ms, sweep ${fmt(r.sweepStartMs)}..${fmt(r.summaryMs)} ms ` +
          `(deleted ${r.deleted ?? '-'}), sweep loop p99 ${fmt(r.sweep.p99, 1)} max ${fmt(r.sweep.max, 1)} over ${r.sweep.windows} windows, start-up max ${fmt(r.startup.max, 1)}, ` +
          `idle p99 ${fmt(r.idle.p99, 1)} max ${fmt(r.idle.max, 1)}, exit ${fmt(r.exitMs)} ms (${r.exitCode}), left ${r.left}/${r.expected}` +
          `${r.failure ? `  FAILED: ${r.failure}` : ''}`,
      );
    }
  }

  const header = [
    'scenario (median of runs)',
    'spawn→running ms',
    'sweep ms',
    'running<summary',
    'sweep p99 ms',
    'sweep max ms',
    'idle p99 ms',
    'idle max ms',
    'start-up max ms',
    'SIGTERM→exit ms',
    'files left',
    'failed',
  ];
  const rows = [header];
  for (const scenario of scenarios) {
    const mine = results.filter((r) => r.scenario === scenario.name);
    const ok = mine.filter((r) => !r.failure);
    const m = (pick, digits) => fmt(median(ok.map(pick)), digits);
    rows.push([
      scenario.name,
      m((r) => r.startupMs),
      m((r) => r.sweepMs),
      `${ok.filter((r) => r.runningBeforeSummary).length}/${ok.length}`,
      m((r) => r.sweep.p99, 1),
      m((r) => r.sweep.max, 1),
      m((r) => r.idle.p99, 1),
      m((r) => r.idle.max, 1),
      m((r) => r.startup.max, 1),
      m((r) => r.exitMs),
      `${Math.max(0, ...mine.map((r) => r.left))}/${scenario.backlog ? options.files : 0}`,
      `${mine.length - ok.length}/${mine.length}`,
    ]);
  }
  console.log(
    `\nnode ${process.version}, ${options.runs} runs per scenario, ${options.files} one-byte files in ${options.folders} folders (30 days old, retentionDays 7), sweepOnStartup true`,
  );
  console.log('loop delay from monitorEventLoopDelay({ resolution: 10 }): a free loop reads about 10 ms (the sampling interval)');
  console.log(
    'sweep = 500 ms probe windows starting after the sweep started ("-": the sweep was shorter than a window); ' +
      `idle = ${options.idleMs} ms after the summary; start-up = windows before the sweep started`,
  );
  console.log(table(rows));
  const failed = results.some((r) => r.failure || r.left > 0);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
