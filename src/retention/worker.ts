/**
 * The engine in a worker thread. node:sqlite and the scan are synchronous, so the Homebridge
 * process (and the settings UI's server) run the engine here and keep their own event loop free.
 * Messages: see engine-worker.ts, the only side that talks to this file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { RetentionConfig } from '../config/types.js';
import { silenceSqliteWarning } from '../runtime/sqlite-warning.js';
import type { Logger } from './sweep.js';

// This thread has its own `process`: drop Node 22's SQLite warning here too, before the engine loads node:sqlite.
silenceSqliteWarning();
const { RetentionEngine } = await import('./engine.js');

export interface WorkerInit {
  config: RetentionConfig;
  /** Where the index was last opened (see RetentionEngine), so a changed databasePath moves it. */
  locationFile?: string;
  /** One Int32: set to 1 by the parent to stop a sweep at its next safe point. */
  stopFlag: SharedArrayBuffer;
}

export type WorkerRequest =
  | { id: number; op: 'sweep'; options: { dryRun?: boolean; trigger?: string; acceptMissing?: string[] } }
  | { id: number; op: 'scan'; options: { acceptMissing?: string[] } }
  | { id: number; op: 'status' }
  | { id: number; op: 'setProtectSwitch'; camera: string; on: boolean }
  | { id: number; op: 'setPaused'; paused: boolean }
  | { id: number; op: 'close' };

export type WorkerMessage =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'progress'; id: number; progress: unknown }
  | { type: 'log'; level: keyof Logger; message: string };

const port = parentPort!;
const init = workerData as WorkerInit;
const stop = new Int32Array(init.stopFlag);
const log: Logger = {
  info: (message) => port.postMessage({ type: 'log', level: 'info', message } satisfies WorkerMessage),
  warn: (message) => port.postMessage({ type: 'log', level: 'warn', message } satisfies WorkerMessage),
  error: (message) => port.postMessage({ type: 'log', level: 'error', message } satisfies WorkerMessage),
  debug: (message) => port.postMessage({ type: 'log', level: 'debug', message } satisfies WorkerMessage),
};
const engine = new RetentionEngine(init.config, { log, locationFile: init.locationFile });

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'sweep':
      return engine.sweep({
        ...request.options,
        shouldStop: () => Atomics.load(stop, 0) === 1,
        onProgress: (progress) => port.postMessage({ type: 'progress', id: request.id, progress } satisfies WorkerMessage),
      });
    case 'scan':
      return engine.scan(request.options).map((scan) => ({ camera: scan.camera.name, available: scan.available, reason: scan.reason }));
    case 'status':
      return engine.status();
    case 'setProtectSwitch': {
      const camera = engine.cameraByName(request.camera);
      if (!camera) {
        throw new Error(`no camera named "${request.camera}"`);
      }
      return engine.setProtectSwitch(camera, request.on);
    }
    case 'setPaused':
      engine.setPaused(request.paused);
      return request.paused;
    case 'close':
      engine.close();
      return null;
  }
}

async function answer(request: WorkerRequest): Promise<void> {
  try {
    port.postMessage({ type: 'result', id: request.id, result: await handle(request) } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({
      type: 'error',
      id: request.id,
      name: (error as Error).name,
      message: (error as Error).message,
    } satisfies WorkerMessage);
  }
}

// Sweeps, scans and close run one at a time, in order. Status reads and switch changes are answered
// at once, between a sweep's batches: a Protect switch must hold footage now, not after a long sweep.
// That is safe because the sweep holds no transaction across an await, and it claims each batch
// afresh (store.claimForDeletion), so a recording protected meanwhile is not deleted.
let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  if (request.op === 'status' || request.op === 'setProtectSwitch' || request.op === 'setPaused') {
    void answer(request);
  } else {
    queue = queue.then(() => answer(request));
  }
});
