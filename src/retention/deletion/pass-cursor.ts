/**
 * A run over a batch's files as a cursor that either way of running the steps pulls files from: it hands out the next file while the pass may go on (not past its
 * count, nor past its time budget) and collects each file's outcome.
 */
import { performance } from 'node:perf_hooks';
import type { Steps } from './steps.js';

export interface PassCursor<T> {
  /** The index of the next file to run, or undefined when this run of the pass is over. */
  take(): number | undefined;
  steps(index: number): Steps<T>;
  answer(index: number, outcome: T): void;
  stopRequested(): boolean;
  /** The outcome of a file not tried because the sweep was asked to stop. */
  readonly untried: T;
}

/**
 * A cursor over `outcomes` from position `first`, for at most `count` files or about `budgetMs`.
 * Position p is file `order[p]` when an order is given (runtime/folder-order.ts), file p otherwise.
 */
export function passCursor<T>(options: {
  first: number;
  order?: readonly number[];
  count: number;
  budgetMs: number;
  outcomes: T[];
  steps: (index: number) => Steps<T>;
  stopRequested: () => boolean;
  untried: T;
}): PassCursor<T> & { readonly next: number } {
  const started = performance.now();
  const end = Math.min(options.outcomes.length, options.first + options.count);
  let next = options.first;
  let over = false;
  return {
    /** The position after the last file handed out. */
    get next() {
      return next;
    },
    take() {
      // A run past its budget ends after the files it has started.
      over ||= next > options.first && performance.now() - started > options.budgetMs;
      if (next >= end || over) {
        return undefined;
      }
      const position = next++;
      return options.order ? options.order[position] : position;
    },
    steps: options.steps,
    answer(index, outcome) {
      options.outcomes[index] = outcome;
    },
    stopRequested: options.stopRequested,
    untried: options.untried,
  };
}
