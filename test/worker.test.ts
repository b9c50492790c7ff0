/**
 * The engine in a worker thread, as the Homebridge process will hold it: the built worker from
 * dist/ (npm test builds first), real files, the real index.
 */
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { DatabaseSync } from 'node:sqlite';
import { parsePlatformConfigStrict } from '../src/config/schema.js';
import { EngineWorker } from '../src/retention/engine-worker.js';

const WORKER = new URL('../dist/retention/worker.js', import.meta.url);
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
let root: string;

function oldTree(count: number): string {
  const camera = join(root, 'cam');
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (let folder = 0; folder < count / 100; folder++) {
    const dir = join(camera, `day-${folder}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 100; i++) {
      const file = join(dir, `seg-${i}.mp4`);
      writeFileSync(file, 'x');
      utimesSync(file, old, old);
    }
  }
  return camera;
}

function config(camera: string) {
  return parsePlatformConfigStrict({ cameras: [{ name: 'Cam', path: camera, retentionDays: 7 }] }, { storagePath: join(root, 'storage') });
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nvr-worker-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('a sweep in the worker leaves the calling thread free to answer while it deletes', async () => {
  const camera = oldTree(3000);
  const lines: string[] = [];
  const engine = new EngineWorker(config(camera), { ...quiet, info: (line) => lines.push(line) }, WORKER);
  let ticks = 0;
  let ticksDuringSweep = 0;
  const timer = setInterval(() => ticks++, 1);
  let progressCalls = 0;
  const report = await engine.sweep({ trigger: 'test' }, () => {
    progressCalls++;
    ticksDuringSweep = ticks;
  });
  clearInterval(timer);
  await engine.stop();

  expect(report.deleted.count).toBe(3000);
  expect(readdirSync(camera)).toEqual([]);
  expect(progressCalls).toBe(6);
  // Timers of the calling thread fired while batches were being deleted: it was never blocked.
  expect(ticksDuringSweep).toBeGreaterThan(0);
  expect(lines.at(-1)).toMatch(/^Sweep deleted 3000 recordings/);
});

test('stop() ends a running sweep at a safe point and leaves a consistent index', async () => {
  const camera = oldTree(3000);
  const cfg = config(camera);
  const engine = new EngineWorker(cfg, quiet, WORKER);
  let stopping: Promise<void> | undefined;
  const report = await engine.sweep({ trigger: 'test' }, () => {
    stopping ??= engine.stop();
  });
  await stopping;

  expect(report.status).toBe('stopped');
  expect(report.deleted.count).toBeGreaterThan(0);
  expect(report.deleted.count).toBeLessThan(3000);
  const db = new DatabaseSync(cfg.databasePath);
  const rows = db.prepare('SELECT rel_path, deleting FROM recordings').all() as { rel_path: string; deleting: number }[];
  db.close();
  expect(rows.filter((row) => row.deleting === 1)).toEqual([]);
  // Every row has its file, and every file left has its row.
  expect(rows.filter((row) => !existsSync(join(camera, row.rel_path)))).toEqual([]);
  const files = readdirSync(camera, { recursive: true }).filter((name) => String(name).endsWith('.mp4'));
  expect(files.length).toBe(rows.length);
  expect(files.length).toBe(3000 - report.deleted.count);
});

test('errors in the worker come back as rejected calls, not crashes', async () => {
  const camera = oldTree(100);
  const engine = new EngineWorker(config(camera), quiet, WORKER);
  await expect(engine.setProtectSwitch('Nobody', true)).rejects.toThrow('no camera named "Nobody"');
  const status = await engine.status();
  expect(status.cameras[0].name).toBe('Cam');
  await engine.stop();
  await expect(engine.status()).rejects.toThrow(/not running|stopped/);
});

test('a protect switch turned on during a long sweep takes effect before the sweep ends', async () => {
  const camera = oldTree(3000);
  const engine = new EngineWorker(config(camera), quiet, WORKER);
  const order: string[] = [];
  let switched: Promise<number> | undefined;
  const sweep = engine
    .sweep({ trigger: 'test' }, () => {
      switched ??= engine.setProtectSwitch('Cam', true).then((count) => {
        order.push('switch');
        return count;
      });
    })
    .then((report) => {
      order.push('sweep');
      return report;
    });
  await sweep;
  await switched;
  await engine.stop();
  expect(order).toEqual(['switch', 'sweep']);
});

/** A stand-in worker script (the engine's own cannot be made to run out of memory on purpose). */
function workerScript(body: string): URL {
  const file = join(root, `worker-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import { parentPort } from 'node:worker_threads';\nimport { getHeapStatistics } from 'node:v8';\n${body}\n`);
  return pathToFileURL(file);
}

test('the engine thread gets an old-generation ceiling of at most 1 GB, under the host default that lets V8 grow its heap fourfold', async () => {
  const lines: string[] = [];
  const engine = new EngineWorker(
    config(oldTree(100)),
    { ...quiet, info: (line) => lines.push(line) },
    workerScript(`parentPort.postMessage({ type: 'log', level: 'info', message: String(getHeapStatistics().heap_size_limit) });`),
  );
  while (lines.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await engine.stop(100);
  // The limit V8 reports counts the young generation's 8 MB (three times, for its semi-spaces) too.
  expect(Number(lines[0])).toBeLessThanOrEqual((1024 + 3 * 8 + 8) * 2 ** 20);
  expect(Number(lines[0])).toBeLessThanOrEqual(getHeapStatistics().heap_size_limit);
});

test('an engine thread that runs out of memory leaves Homebridge running, says so in the log, and fails its calls', async () => {
  const errors: string[] = [];
  const engine = new EngineWorker(
    config(oldTree(100)),
    { ...quiet, error: (line) => errors.push(line) },
    workerScript(`const kept = []; for (;;) kept.push(new Array(100_000).fill(kept.length));`),
  );
  while (errors.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(errors).toEqual([
    expect.stringMatching(/^The retention engine stopped \(.*memory.*\); nothing is swept or protected until Homebridge restarts\.$/),
  ]);
  await expect(engine.status()).rejects.toThrow(/not running/);
  await engine.stop();
}, 60_000);
