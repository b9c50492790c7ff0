/**
 * The overlapped way to run deletion steps: asynchronous calls, several files in flight. A slow
 * disk or a NAS answers many requests at once, so their round trips overlap.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import type { PassCursor } from './pass-cursor.js';
import { lstatSync, type Stats } from 'node:fs';
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
 * `quickLstat`: answer each file's check (`lstat`) on this thread, and only its unlink through the
 * thread pool. On a local disk an lstat costs microseconds, and queued in the pool it would wait behind
 * the other files' slow unlinks (the pool serves in order: every file would pay for two trips through a
 * full queue, BENCHMARKS.md). On a NAS, where an lstat is a round trip, it stays overlapped.
 */
export async function runOverlapped<T>(cursor: PassCursor<T>, inFlight = defaultUnlinkConcurrency(), quickLstat = false): Promise<void> {
  await inParallel(inFlight, async () => {
    for (let i = cursor.take(); i !== undefined; i = cursor.take()) {
      cursor.answer(i, cursor.stopRequested() ? cursor.untried : await answerSteps(cursor.steps(i), quickLstat));
    }
  });
}

/** Runs `worker` `count` times at once and waits for all of them: each worker pulls its own next item. */
export async function inParallel(count: number, worker: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: Math.max(1, count) }, worker));
}

async function answerSteps<T>(steps: Steps<T>, quickLstat: boolean): Promise<T> {
  let step = steps.next({});
  while (!step.done) {
    step = steps.next(quickLstat && step.value.op === 'lstat' ? lstatHere(step.value.path) : await answerCall(step.value));
  }
  return step.value;
}

function lstatHere(path: string): CallAnswer {
  try {
    return identityAnswer(lstatSync(path));
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

async function answerCall({ op, path }: FileCall): Promise<CallAnswer> {
  try {
    if (op === 'lstat') {
      return identityAnswer(await lstat(path));
    }
    if (op === 'count entries') {
      return { entries: (await readdir(path)).length };
    }
    await unlink(path);
    return {};
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

/** What the deletion steps compare of an lstat: which file it is, and when it was last written. */
export function identityAnswer(stats: Stats): CallAnswer {
  return { stats: { dev: stats.dev, ino: stats.ino, mtimeMs: stats.mtimeMs, isFile: stats.isFile() } };
}
