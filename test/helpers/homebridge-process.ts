/**
 * A real Homebridge process with the built plugin (dist/, built by `npm test`), loaded through
 * `-P <checkout>`: Homebridge loads a -P folder that holds a package.json as that single plugin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOMEBRIDGE = join(ROOT, 'node_modules', 'homebridge', 'bin', 'homebridge');

export interface Bridge {
  name: string;
  username: string;
  port: number;
  pin: string;
}

export interface HomebridgeRun {
  child: ChildProcess;
  storage: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** A fresh bridge identity: HAP keys its pairing data and mDNS record by the username. */
export function newBridge(port: number): Bridge {
  const byte = () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return { name: 'NVR Test Bridge', username: `0E:11:22:${byte()}:${byte()}:55`.toUpperCase(), port, pin: '031-45-154' };
}

/**
 * Writes `storage/config.json` and starts Homebridge on it. `insecure` adds `-I`, which makes HAP
 * answer unpaired requests: only for tests that read Homebridge's files, never for a HomeKit client.
 */
export function startHomebridge(
  storage: string,
  bridge: Bridge,
  platforms: unknown[],
  options: { insecure?: boolean; env?: Record<string, string> } = {},
): HomebridgeRun {
  mkdirSync(storage, { recursive: true });
  writeFileSync(join(storage, 'config.json'), JSON.stringify({ bridge, accessories: [], platforms }, null, 2));
  const args = [HOMEBRIDGE, '-U', storage, '-P', ROOT, ...(options.insecure ? ['-I'] : []), '-D', '-Q'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, storage, output: () => output, exited };
}

/** Resolves once the log (from `from` on) matches; fails with the log so far on timeout or early exit. */
export async function waitForLog(run: HomebridgeRun, text: string | RegExp, timeoutMs = 20_000, from = 0): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const found = () => {
    const log = run.output().slice(from);
    return typeof text === 'string' ? log.includes(text) : text.test(log);
  };
  while (!found()) {
    if (run.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${String(text)} not logged (exit code ${run.child.exitCode}). Log:\n${run.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, then SIGKILL if Homebridge is still there after `graceMs`; resolves once it is gone. */
export async function stopHomebridge(run: HomebridgeRun, graceMs = 12_000): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) {
    return;
  }
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), graceMs);
  await run.exited;
  clearTimeout(timer);
}
