/**
 * The overlapped way to run deletion steps: asynchronous calls, several files in flight. A slow
 * disk or a NAS answers many requests at once, so their round trips overlap.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import type { PassCursor } from './pass-cursor.js';
import { lstatSync, type Stats } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { inParallel } from '../../runtime/in-parallel.js';
import { CallGate } from './concurrency.js';
import type { CallAnswer, FileCall, Steps } from './steps.js';

/**
 * Calls in flight: twice the libuv thread pool, so that no thread waits for its next file. The CLI
 * enlarges the pool (BENCHMARKS.md, "Figures the code points at"); the Homebridge process shares its pool and
 * keeps what it was started with.
 */
export function defaultUnlinkConcurrency(): number {
  return 2 * (Number(process.env.UV_THREADPOOL_SIZE) || 4);
}

/**
 * What an lstat made on this thread costs, a moving average. While it stays under QUICK_LSTAT_MS each
 * file's check (`lstat`) is answered here and only its unlink goes through the thread pool: on a local
 * disk an lstat costs microseconds, and queued in the pool it would wait behind the other files' slow
 * unlinks (the pool serves in order: every file would pay for two trips through a full queue,
 * BENCHMARKS.md). On a NAS, where an lstat is a round trip, it goes overlapped like the unlinks.
 */
export interface LstatCost {
  ms?: number;
  /** Lstats answered so far: every REMEASURE_EVERY-th is made here even when slow, to notice a disk getting quick again. */
  count?: number;
}

/** A cached lstat on a local disk takes a few µs; an NFS or SMB one a network round trip, a few hundred. */
const QUICK_LSTAT_MS = 0.2;
const REMEASURE_EVERY = 64;

/** How many calls a run keeps in flight, asked before each file; told how long each unlink took. */
export interface InFlight {
  /** The most that `limit` can ever be: this many workers pull files. */
  most: number;
  limit(): number;
  unlinkTook?(ms: number): void;
}

export async function runOverlapped<T>(cursor: PassCursor<T>, inFlight: InFlight, lstatCost: LstatCost = {}): Promise<void> {
  const gate = new CallGate(() => inFlight.limit());
  await inParallel(inFlight.most, async () => {
    for (;;) {
      await gate.enter();
      try {
        const i = cursor.take();
        if (i === undefined) {
          return;
        }
        cursor.answer(i, cursor.stopRequested() ? cursor.untried : await answerSteps(cursor.steps(i), lstatCost, inFlight));
      } finally {
        gate.leave();
      }
    }
  });
}

/** A fixed number in flight (folder removal, tests that fix the way). */
export function fixedInFlight(count: number): InFlight {
  return { most: count, limit: () => count };
}

async function answerSteps<T>(steps: Steps<T>, lstatCost: LstatCost, inFlight: InFlight): Promise<T> {
  let step = steps.next({});
  while (!step.done) {
    const quick =
      step.value.op === 'lstat' &&
      (lstatCost.ms === undefined ||
        lstatCost.ms < QUICK_LSTAT_MS ||
        (lstatCost.count = (lstatCost.count ?? 0) + 1) % REMEASURE_EVERY === 0);
    step = steps.next(quick ? lstatHere(step.value.path, lstatCost) : await answerCall(step.value, inFlight));
  }
  return step.value;
}

function lstatHere(path: string, lstatCost: LstatCost): CallAnswer {
  const started = performance.now();
  try {
    return identityAnswer(lstatSync(path));
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  } finally {
    const ms = performance.now() - started;
    lstatCost.ms = lstatCost.ms === undefined ? ms : (lstatCost.ms * 15 + ms) / 16;
  }
}

async function answerCall({ op, path }: FileCall, inFlight: InFlight): Promise<CallAnswer> {
  const started = performance.now();
  try {
    if (op === 'lstat') {
      return identityAnswer(await lstat(path));
    }
    if (op === 'count entries') {
      return { entries: (await readdir(path)).length };
    }
    await unlink(path);
    inFlight.unlinkTook?.(performance.now() - started);
    return {};
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

/** What the deletion steps compare of an lstat: which file it is, and when it was last written. */
export function identityAnswer(stats: Stats): CallAnswer {
  return { stats: { dev: stats.dev, ino: stats.ino, mtimeMs: stats.mtimeMs, isFile: stats.isFile(), isDirectory: stats.isDirectory() } };
}
