import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { RetentionConfig } from '../config/types.js';
import type { StatusReport } from './engine.js';
import type { Logger } from './logger.js';
import type { SweepProgress, SweepReport } from './report.js';
import type {
  Operation,
  OperationArgs,
  OperationProgress,
  OperationResult,
  WorkerInit,
  WorkerMessage,
  WorkerRequest,
} from './worker-protocol.js';

/**
 * A sweep makes many short-lived objects (rows, paths), and V8 answers by growing the young generation
 * by tens of MB, resident memory in the Homebridge process for nothing (on a Raspberry Pi too). A small
 * one sweeps as fast: measured with `npm run bench -- --only loop`.
 */
const YOUNG_GENERATION_MB = 8;
/**
 * A ceiling for the old generation, far above what the engine keeps (tens of MB at 100k recordings).
 * V8 lets a heap grow between full collections by a factor it takes from the ceiling: up to 4 for
 * the host's default here (about 4 GB), under 2 at 1 GB or less. With the default a 100k sweep left
 * the Homebridge side at 138–158 MB, with this at about 125 MB (BENCHMARKS.md, "Figures the code points
 * at"). Never above the host's own ceiling: a small machine keeps the smaller one V8 gave it.
 */
const OLD_GENERATION_MB = 1024;

export class EngineWorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The engine, run in a worker thread: what the Homebridge platform holds (the settings UI's server and
 * the CLI run the engine in their own thread: they have no HomeKit requests to answer). Calls are
 * answered in order; `stop()` lets a running sweep finish its current recording, then closes the
 * index and ends the thread.
 */
export class EngineWorker {
  private readonly worker: Worker;
  private readonly stopFlag = new SharedArrayBuffer(4);
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; onProgress?: (progress: unknown) => void }
  >();
  private exited = false;
  private stopping = false;

  constructor(
    config: RetentionConfig,
    private readonly log: Logger,
    workerUrl = new URL('./worker.js', import.meta.url),
    options: { locationFile?: string } = {},
  ) {
    this.worker = new Worker(workerUrl, {
      workerData: { config, stopFlag: this.stopFlag, locationFile: options.locationFile } satisfies WorkerInit,
      resourceLimits: {
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: Math.min(OLD_GENERATION_MB, Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20)),
      },
    });
    this.worker.on('message', (message: WorkerMessage) => this.receive(message));
    let failure: Error | undefined;
    this.worker.on('error', (error) => {
      failure = error;
      this.failAll(error);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      const why = failure?.message ?? `exit code ${code}`;
      if (!this.stopping) {
        // Nothing restarts it: the log must say why sweeps and switches stopped working.
        this.log.error(`The retention engine stopped (${why}); nothing is swept or protected until Homebridge restarts.`);
      }
      this.failAll(new Error(`the retention engine stopped (${why})`));
    });
  }

  sweep(options: OperationArgs<'sweep'>, onProgress?: (progress: SweepProgress) => void): Promise<SweepReport> {
    return this.call('sweep', options, onProgress);
  }

  status(): Promise<StatusReport> {
    return this.call('status', {});
  }

  lastSweep(): Promise<OperationResult<'lastSweep'>> {
    return this.call('lastSweep', {});
  }

  setProtectSwitch(camera: string, on: boolean): Promise<number> {
    return this.call('setProtectSwitch', { camera, on });
  }

  /** Takes effect from the next sweep's first phase; a running sweep finishes as it started. */
  setPaused(paused: boolean): Promise<boolean> {
    return this.call('setPaused', { paused });
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
    this.stopping = true;
    Atomics.store(new Int32Array(this.stopFlag), 0, 1);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn('The retention engine did not stop in time; ending it (the next start finishes its work).');
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.call('close', {}).catch(() => undefined), grace]);
    } finally {
      clearTimeout(timer);
      await this.worker.terminate();
    }
  }

  /** Any operation of the protocol's table, typed by its row. */
  call<K extends Operation>(
    op: K,
    args: OperationArgs<K>,
    onProgress?: (progress: OperationProgress<K>) => void,
  ): Promise<OperationResult<K>> {
    if (this.exited) {
      return Promise.reject(new Error('the retention engine is not running'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress: onProgress as (progress: unknown) => void });
      this.worker.postMessage({ id, op, args } as WorkerRequest);
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
      waiting.onProgress?.(message.progress);
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
