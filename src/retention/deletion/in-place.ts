/**
 * The in-place way to run deletion steps: synchronous calls, one file after another. No thread-pool
 * round trip, which on a fast local disk costs more than the system calls themselves.
 */
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PassCursor } from './pass-cursor.js';
import { identityAnswer } from './overlapped.js';
import type { CallAnswer, FileCall, Steps } from './steps.js';

/** Deleting in place gives the event loop a turn this often (the engine's thread answers requests). */
const SLICE_MS = 20;

/** Runs the cursor's files one after another; `fileTook` hears how long each file's steps took. */
export async function runInPlace<T>(cursor: PassCursor<T>, fileTook?: (ms: number) => void): Promise<void> {
  for (;;) {
    const sliceStart = performance.now();
    let now = sliceStart;
    while (now - sliceStart < SLICE_MS) {
      const i = cursor.take();
      if (i === undefined) {
        return;
      }
      // A safe point: between recordings, never between a file and its row.
      cursor.answer(i, cursor.stopRequested() ? cursor.untried : answerSteps(cursor.steps(i)));
      const before = now;
      now = performance.now();
      fileTook?.(now - before);
    }
    await yieldToLoop();
  }
}

function answerSteps<T>(steps: Steps<T>): T {
  let step = steps.next({});
  while (!step.done) {
    step = steps.next(answerCall(step.value));
  }
  return step.value;
}

function answerCall({ op, path }: FileCall): CallAnswer {
  try {
    if (op === 'lstat') {
      return identityAnswer(lstatSync(path));
    }
    if (op === 'count entries') {
      return { entries: readdirSync(path).length };
    }
    unlinkSync(path);
    return {};
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}
