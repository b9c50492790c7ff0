/**
 * Deletes the files of a sweep's batches, each batch run the way that measures cheaper on this disk
 * at this moment (in place or overlapped; see BENCHMARKS.md for the figures).
 *
 * One pass per batch: each file's checks are steps of its own deletion, right before its unlink
 * (steps.ts), so no file waits a whole batch between its last check and its unlink (issue 11; it
 * was two passes, all checks then all unlinks).
 */
import { performance } from 'node:perf_hooks';
import { runInPlace } from './in-place.js';
import { defaultUnlinkConcurrency, type LstatCost, runOverlapped } from './overlapped.js';
import { type PassCursor, passCursor } from './pass-cursor.js';
import { type DeletionJob, deletionSteps, type FileOutcome, UNTRIED } from './steps.js';

export type FileDeletionWay = 'in place' | 'overlapped';

export interface FileDeletionOptions {
  /** Polled between files; true makes the deletion stop at the next safe point. */
  shouldStop?: () => boolean;
  unlinkConcurrency?: number;
  /**
   * How files are deleted: 'adaptive' (the default) measures both ways as it goes and uses the
   * cheaper one; the other two fix one way (tests run the same rules through both).
   */
  fileDeletion?: 'adaptive' | FileDeletionWay;
}

/**
 * Which is faster depends on the disk and the machine's load, so the sweep measures both: every
 * PROBE_EVERY batches, the first PROBE_FILES of a pass go each way.
 */
const PROBE_EVERY = 8;
/** A probe is this many files, or less when they take longer than PROBE_MS (a slow way is not tried for long). */
const PROBE_FILES = 32;
const PROBE_MS = 5;

export class FileDeleter {
  /** Milliseconds per file, a moving average per way; unmeasured at first. */
  private readonly msPerFile: Record<FileDeletionWay, number | undefined> = { 'in place': undefined, overlapped: undefined };
  private batches = 0;
  /** Overlapped, a quick lstat is made on this thread (overlapped.ts); measured across batches. */
  private readonly lstatCost: LstatCost = {};

  constructor(private readonly options: FileDeletionOptions = {}) {}

  async deleteAll(jobs: DeletionJob[]): Promise<FileOutcome[]> {
    // Each way is first tried on a few files, then measured again now and then: load and disk change.
    const probing = this.batches++ % PROBE_EVERY === 0;
    const outcomes = new Array<FileOutcome>(jobs.length);
    let next = 0;
    const run = async (way: FileDeletionWay, files: number, budgetMs = Infinity) => {
      const first = next;
      const started = performance.now();
      const cursor = passCursor<FileOutcome>({
        first,
        count: files,
        budgetMs,
        outcomes,
        steps: (i) => deletionSteps(jobs[i]!),
        stopRequested: () => this.options.shouldStop?.() ?? false,
        untried: UNTRIED,
      });
      await this.runWay(way, cursor);
      next = cursor.next;
      if (next > first) {
        const measured = (performance.now() - started) / (next - first);
        const before = this.msPerFile[way];
        this.msPerFile[way] = before === undefined ? measured : (before + measured) / 2;
      }
    };
    const fixed = this.options.fileDeletion ?? 'adaptive';
    if (fixed !== 'adaptive') {
      await run(fixed, jobs.length);
      return outcomes;
    }
    const costs = this.msPerFile;
    for (const way of ['in place', 'overlapped'] as const) {
      if (probing || costs[way] === undefined) {
        await run(way, PROBE_FILES, PROBE_MS);
      }
    }
    await run(costs.overlapped! < costs['in place']! ? 'overlapped' : 'in place', jobs.length - next);
    return outcomes;
  }

  describeCosts(): string {
    const cost = (way: FileDeletionWay) =>
      this.msPerFile[way] === undefined ? 'not measured' : `${Math.round(this.msPerFile[way] * 1000)} µs a file`;
    return `in place ${cost('in place')}, overlapped ${cost('overlapped')}`;
  }

  private runWay(way: FileDeletionWay, cursor: PassCursor<FileOutcome>): Promise<void> {
    if (way === 'in place') {
      return runInPlace(cursor);
    }
    return runOverlapped(cursor, this.options.unlinkConcurrency ?? defaultUnlinkConcurrency(), this.lstatCost);
  }
}
