/**
 * Deletes the files of a sweep's batches, in two passes per batch, each run the way that measures
 * cheaper on this disk at this moment (in place or overlapped; see BENCHMARKS.md for the figures).
 *
 * The passes: every file of the batch is checked first, then the ones that passed are unlinked.
 * Overlapped, one pass per file would queue each file's quick lstat behind the slow unlinks of the
 * others (the thread pool serves in order), which halved the rate of a real disk. A check therefore
 * comes up to one batch before its unlink (BENCHMARKS.md, "Figures the code points at", has how long
 * that is on a local disk and on a NAS).
 */
import { performance } from 'node:perf_hooks';
import { dirname } from 'node:path';
import type { CameraConfig } from '../../config/types.js';
import type { Recording } from '../../store/store.js';
import { runInPlace } from './in-place.js';
import { defaultUnlinkConcurrency, runOverlapped } from './overlapped.js';
import { type PassCursor, passCursor } from './pass-cursor.js';
import { type CheckOutcome, checkSteps, type FileOutcome, isInsideCamera, type Steps, unlinkSteps, UNTRIED } from './steps.js';

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

export interface FileJob {
  camera: CameraConfig;
  recording: Recording;
}

type FilePass = 'check' | 'unlink';

/**
 * Which is faster depends on the disk and the machine's load, so the sweep measures both: every
 * PROBE_EVERY batches, the first PROBE_FILES of a pass go each way.
 */
const PROBE_EVERY = 8;
/** A probe is this many files, or less when they take longer than PROBE_MS (a slow way is not tried for long). */
const PROBE_FILES = 32;
const PROBE_MS = 5;

export class FileDeleter {
  /** Milliseconds per file, a moving average per pass and way; unmeasured at first. */
  private readonly msPerFile: Record<FilePass, Record<FileDeletionWay, number | undefined>> = {
    check: { 'in place': undefined, overlapped: undefined },
    unlink: { 'in place': undefined, overlapped: undefined },
  };
  private batches = 0;

  constructor(private readonly options: FileDeletionOptions = {}) {}

  async deleteAll(jobs: FileJob[]): Promise<FileOutcome[]> {
    // Folders of this batch checked to be inside their camera's folder (a link may replace one mid-sweep).
    const safeFolders = new Map<string, boolean>();
    const isSafe = ({ camera, recording }: FileJob): boolean => {
      const key = `${camera.path}\0${dirname(recording.relPath)}`;
      let safe = safeFolders.get(key);
      if (safe === undefined) {
        safe = isInsideCamera(camera.path, recording.relPath);
        safeFolders.set(key, safe);
      }
      return safe;
    };
    // Each way is first tried on a few files, then measured again now and then: load and disk change.
    const probing = this.batches++ % PROBE_EVERY === 0;
    const checked = await this.runPass<CheckOutcome>(
      'check',
      jobs.length,
      (i) => {
        const job = jobs[i]!;
        return checkSteps(job.camera, job.recording, isSafe(job));
      },
      probing,
    );
    const passed = jobs.filter((_, i) => checked[i]!.kind === 'passed');
    const unlinked = await this.runPass<FileOutcome>(
      'unlink',
      passed.length,
      (n) => unlinkSteps(passed[n]!.camera, passed[n]!.recording),
      probing,
    );
    let n = 0;
    return checked.map((outcome) => (outcome.kind === 'passed' ? unlinked[n++]! : outcome));
  }

  describeCosts(): string {
    const cost = (pass: FilePass, way: FileDeletionWay) =>
      this.msPerFile[pass][way] === undefined ? 'not measured' : `${Math.round(this.msPerFile[pass][way] * 1000)} µs a file`;
    return (['check', 'unlink'] as const)
      .map((pass) => `${pass}: in place ${cost(pass, 'in place')}, overlapped ${cost(pass, 'overlapped')}`)
      .join('; ');
  }

  private async runPass<T>(pass: FilePass, count: number, steps: (index: number) => Steps<T>, probing: boolean): Promise<T[]> {
    const outcomes = new Array<T>(count);
    let next = 0;
    const run = async (way: FileDeletionWay, files: number, budgetMs = Infinity) => {
      const first = next;
      const started = performance.now();
      const cursor = passCursor({
        first,
        count: files,
        budgetMs,
        outcomes,
        steps,
        stopRequested: () => this.options.shouldStop?.() ?? false,
        untried: UNTRIED as T,
      });
      await this.runWay(way, cursor);
      next = cursor.next;
      if (next > first) {
        const measured = (performance.now() - started) / (next - first);
        const before = this.msPerFile[pass][way];
        this.msPerFile[pass][way] = before === undefined ? measured : (before + measured) / 2;
      }
    };
    const fixed = this.options.fileDeletion ?? 'adaptive';
    if (fixed !== 'adaptive') {
      await run(fixed, count);
      return outcomes;
    }
    const costs = this.msPerFile[pass];
    for (const way of ['in place', 'overlapped'] as const) {
      if (probing || costs[way] === undefined) {
        await run(way, PROBE_FILES, PROBE_MS);
      }
    }
    await run(costs.overlapped! < costs['in place']! ? 'overlapped' : 'in place', count - next);
    return outcomes;
  }

  private runWay<T>(way: FileDeletionWay, cursor: PassCursor<T>): Promise<void> {
    return way === 'in place' ? runInPlace(cursor) : runOverlapped(cursor, this.options.unlinkConcurrency ?? defaultUnlinkConcurrency());
  }
}
