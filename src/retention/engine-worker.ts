import { Worker } from 'node:worker_threads';
import type { RetentionConfig } from '../config/types.js';
import type { StatusReport } from './engine.js';
import type { Logger, SweepProgress, SweepReport } from './sweep.js';
import type { WorkerInit, WorkerMessage, WorkerRequest } from './worker.js';

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * A sweep makes many short-lived objects (rows, paths), and V8 answers by growing the young generation
 * towards 64 MB, resident memory in the Homebridge process for nothing (on a Raspberry Pi too). A small
 * one sweeps as fast: measured with `npm run bench -- --only loop`.
 */
const YOUNG_GENERATION_MB = 8;

export class EngineWorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The engine, run in a worker thread: what the Homebridge platform and the UI server hold. Calls are
 * answered in order; `stop()` lets a running sweep finish its current recording, then closes the
 * index and ends the thread.
 */
export class EngineWorker {
  private readonly worker: Worker;
  private readonly stopFlag = new SharedArrayBuffer(4);
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; onProgress?: (progress: SweepProgress) => void }
  >();
  private exited = false;

  constructor(
    config: RetentionConfig,
    private readonly log: Logger,
    workerUrl = new URL('./worker.js', import.meta.url),
    options: { locationFile?: string } = {},
  ) {
    this.worker = new Worker(workerUrl, {
      workerData: { config, stopFlag: this.stopFlag, locationFile: options.locationFile } satisfies WorkerInit,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    this.worker.on('message', (message: WorkerMessage) => this.receive(message));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.failAll(new Error(`the retention engine stopped (exit code ${code})`));
    });
  }

  sweep(
    options: { dryRun?: boolean; trigger?: string; acceptMissing?: string[] },
    onProgress?: (progress: SweepProgress) => void,
  ): Promise<SweepReport> {
    return this.call({ op: 'sweep', options }, onProgress) as Promise<SweepReport>;
  }

  status(): Promise<StatusReport> {
    return this.call({ op: 'status' }) as Promise<StatusReport>;
  }

  setProtectSwitch(camera: string, on: boolean): Promise<number> {
    return this.call({ op: 'setProtectSwitch', camera, on }) as Promise<number>;
  }

  /** Takes effect from the next sweep's first phase; a running sweep finishes as it started. */
  setPaused(paused: boolean): Promise<boolean> {
    return this.call({ op: 'setPaused', paused }) as Promise<boolean>;
  }

  /**
   * Stops a running sweep at its next safe point, closes the index, ends the thread. If the engine
   * does not get there within `graceMs` (a NAS that stopped answering mid-stat), the thread is ended
   * anyway: the index is transactional and rows being deleted are marked, so the next start recovers.
   */
  async stop(graceMs = 4000): Promise<void> {
    if (this.exited) {
      return;
    }
    Atomics.store(new Int32Array(this.stopFlag), 0, 1);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn('The retention engine did not stop in time; ending it (the next start finishes its work).');
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.call({ op: 'close' }).catch(() => undefined), grace]);
    } finally {
      clearTimeout(timer);
      await this.worker.terminate();
    }
  }

  private call(request: Request, onProgress?: (progress: SweepProgress) => void): Promise<unknown> {
    if (this.exited) {
      return Promise.reject(new Error('the retention engine is not running'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  private receive(message: WorkerMessage): void {
    if (message.type === 'log') {
      this.log[message.level](message.message);
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) {
      return;
    }
    if (message.type === 'progress') {
      waiting.onProgress?.(message.progress as SweepProgress);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'result') {
      waiting.resolve(message.result);
    } else {
      waiting.reject(new EngineWorkerError(message.name, message.message));
    }
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) {
      waiting.reject(error);
    }
    this.pending.clear();
  }
}
