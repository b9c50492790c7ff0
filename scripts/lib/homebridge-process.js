/**
 * One real Homebridge process for the packaging checks (scripts/ci-packaged.js) and the tests that
 * start Homebridge on another Node or from an installed tarball: a storage folder with its
 * config.json, the process with its log, a wait for a log line, and the stop within the bound that
 * Homebridge's plugin checks hold plugins to (12 s after SIGTERM).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The bound after SIGTERM. */
export const SHUTDOWN_MS = 12_000;
/** How long any one expected log line may take; start-up takes about a second, on a loaded machine several. */
export const WAIT_MS = 30_000;
/** Exit 0 when its teardown finishes, or 143 (128 + SIGTERM) from Homebridge's own 5-second fallback timer. */
export const CLEAN_EXIT_CODES = [0, 143];
const DAY_MS = 86_400_000;

/** A port nobody listens on now, for the bridge (HAP) and for a child bridge. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A fresh bridge username per run: HAP keys its pairing data and mDNS record by it. */
function username() {
  const byte = () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0')
      .toUpperCase();
  return `0E:${byte()}:${byte()}:${byte()}:${byte()}:55`;
}

/** A child bridge block for a platform (`_bridge`), on its own port and username. */
export async function childBridge() {
  return { username: username(), port: await freePort(), name: 'NVR Retention Bridge' };
}

/** A camera folder holding `old` recordings 30 days old and one from an hour ago; returns the old ones. */
export function writeRecordings(folder, old) {
  mkdirSync(folder, { recursive: true });
  const files = Array.from({ length: old }, (_, i) => join(folder, `old-${i}.mp4`));
  const recent = join(folder, 'recent.mp4');
  for (const [file, ageMs] of [...files.map((f) => [f, 30 * DAY_MS]), [recent, 3_600_000]]) {
    writeFileSync(file, 'video');
    const time = new Date(Date.now() - ageMs);
    utimesSync(file, time, time);
  }
  return files;
}

/**
 * Starts `homebridge -U <storage> -P <pluginPath>` on the given Node with a config.json holding these
 * platforms. `pluginPath` is a folder of plugins (a node_modules) or one plugin's folder.
 */
export async function startHomebridge({ node = process.execPath, homebridge, storage, pluginPath, platforms, env = process.env }) {
  mkdirSync(storage, { recursive: true });
  const bridge = { name: 'NVR Test Bridge', username: username(), port: await freePort(), pin: '031-45-154' };
  writeFileSync(join(storage, 'config.json'), JSON.stringify({ bridge, accessories: [], platforms }, null, 2));
  const child = spawn(node, [homebridge, '-U', storage, '-P', pluginPath, '-I', '-D', '-Q'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk.toString()));
  child.stderr.on('data', (chunk) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, storage, output: () => output, exited };
}

/** Resolves once the log holds `text` (a string or a RegExp); fails with the log so far on timeout or early exit. */
export async function waitForLog(run, text, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  const found = () => (typeof text === 'string' ? run.output().includes(text) : text.test(run.output()));
  while (!found()) {
    if (run.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`"${text}" not logged (exit code ${run.child.exitCode}). Log:\n${run.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sends SIGTERM; resolves with the exit code and how long it took, or fails past SHUTDOWN_MS. */
export async function stopWithinBound(run) {
  const started = Date.now();
  run.child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`still running ${SHUTDOWN_MS} ms after SIGTERM. Log:\n${run.output()}`));
    }, SHUTDOWN_MS);
  });
  try {
    const code = await Promise.race([run.exited, timeout]);
    return { code, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Stops a run that a failed check left behind. */
export async function killIfRunning(run) {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
    await run.exited;
  }
}

/** Lines that show a plugin failed to load or crashed: Homebridge's own error, or a stack frame. */
export function loadFailureLines(output) {
  return output.split('\n').filter((line) => /ERROR LOADING PLUGIN|^\s+at .+[(:]\d+|No such built-in module|uncaught/i.test(line));
}
