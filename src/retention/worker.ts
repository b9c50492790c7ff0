/**
 * The engine in a worker thread. node:sqlite and the scan are synchronous, so the Homebridge
 * process runs the engine here and keeps its own event loop free for HomeKit. The messages are the
 * table in worker-protocol.ts; engine-worker.ts is the only side that talks to this file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { silenceSqliteWarning } from '../runtime/sqlite-warning.js';
import type { Logger } from './logger.js';
import {
  ANSWERED_AT_ONCE,
  LOCK_HELD_ERROR,
  type Operation,
  type OperationArgs,
  type OperationProgress,
  type OperationResult,
  type WorkerInit,
  type WorkerMessage,
  type WorkerRequest,
} from './worker-protocol.js';

// This thread has its own `process`: drop Node 22's SQLite warning here too, before the engine loads node:sqlite.
silenceSqliteWarning();
const { RetentionEngine } = await import('./engine.js');
const { SweepLockHeldError } = await import('../store/lock.js');

const port = parentPort!;
const init = workerData as WorkerInit;
const stop = new Int32Array(init.stopFlag);
const logTo =
  (level: keyof Logger) =>
  (message: string): void =>
    port.postMessage({ type: 'log', level, message } satisfies WorkerMessage);
const log: Logger = { info: logTo('info'), warn: logTo('warn'), error: logTo('error'), debug: logTo('debug') };
const engine = new RetentionEngine(init.config, { log, locationFile: init.locationFile });

type Handlers = {
  [K in Operation]: (
    args: OperationArgs<K>,
    progress: (progress: OperationProgress<K>) => void,
  ) => OperationResult<K> | Promise<OperationResult<K>>;
};

const handlers: Handlers = {
  sweep: (args, progress) => engine.sweep({ ...args, shouldStop: () => Atomics.load(stop, 0) === 1, onProgress: progress }),
  scan: (args) => engine.scan(args).map((scan) => ({ camera: scan.camera.name, available: scan.available, reason: scan.reason })),
  status: () => engine.status(),
  lastSweep: () => {
    const last = engine.store.lastSweepRun();
    return last ? { startedAt: last.startedAt, finishedAt: last.finishedAt, status: last.status } : null;
  },
  setProtectSwitch: ({ camera, on }) => {
    const known = engine.cameraByName(camera);
    if (!known) {
      throw new Error(`no camera named "${camera}"`);
    }
    return engine.setProtectSwitch(known, on);
  },
  setPaused: ({ paused }) => {
    engine.setPaused(paused);
    return paused;
  },
  close: () => {
    engine.close();
    return null;
  },
};

async function answer<K extends Operation>(request: { id: number; op: K; args: OperationArgs<K> }): Promise<void> {
  const progress = (update: unknown) => port.postMessage({ type: 'progress', id: request.id, progress: update } satisfies WorkerMessage);
  try {
    const result = await handlers[request.op](request.args, progress);
    port.postMessage({ type: 'result', id: request.id, result } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({
      type: 'error',
      id: request.id,
      name: error instanceof SweepLockHeldError ? LOCK_HELD_ERROR : (error as Error).name,
      message: (error as Error).message,
    } satisfies WorkerMessage);
  }
}

let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  if (ANSWERED_AT_ONCE.has(request.op)) {
    void answer(request);
  } else {
    queue = queue.then(() => answer(request));
  }
});
