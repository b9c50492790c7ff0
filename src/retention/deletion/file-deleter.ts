/**
 * Deletes the files of a sweep's batches, each batch run the way that measures cheaper on this disk
 * at this moment (in place or overlapped; see BENCHMARKS.md for the figures).
 *
 * One pass per batch: each file's checks are steps of its own deletion, right before its unlink
 * (steps.ts), so no file waits a whole batch between its last check and its unlink (issue 11; it
 * was two passes, all checks then all unlinks).
 *
 * Over a network (a NAS: one file after another takes a round trip each) the calls in flight follow the round
 * trip (concurrency.ts), the files go one folder after another in turn (runtime/folder-order.ts), and the
 * planner is asked for larger batches, so that a batch spans several folders.
 */
import { performance } from 'node:perf_hooks';
import { runInPlace } from './in-place.js';
import { inTurnByFolder } from '../../runtime/folder-order.js';
import { RoundTripMeter } from '../../runtime/round-trip-meter.js';
import { NAS_MAX_IN_FLIGHT, RoundTripLimit } from './concurrency.js';
import { folderOf } from './folder-pins.js';
import { defaultUnlinkConcurrency, fixedInFlight, type InFlight, type LstatCost, runOverlapped } from './overlapped.js';
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
/**
 * The overlapped way's probe: this many times the calls in flight, within OVERLAPPED_PROBE_MS. A
 * probe of fewer files than are in flight measures one unlink's latency, not the throughput of many
 * (on a disk with online discard 32 files overlapped measured 393 µs a file, against 175 µs in place
 * and about 40 µs overlapped over a whole batch), and the sweep went in place.
 */
const OVERLAPPED_PROBE_ROUNDS = 4;
const OVERLAPPED_PROBE_MS = 10;
/** A batch over a network: the NAS bench's trees have 500 recordings in a folder, so it spans about 8 folders. */
export const NETWORK_BATCH_SIZE = 4096;

export class FileDeleter {
  /** Milliseconds per file, a moving average per way; unmeasured at first. */
  private readonly msPerFile: Record<FileDeletionWay, number | undefined> = { 'in place': undefined, overlapped: undefined };
  private batches = 0;
  /** Overlapped, a quick lstat is made on this thread (overlapped.ts); measured across batches. */
  private readonly lstatCost: LstatCost = {};
  private readonly roundTrip: RoundTripLimit;
  /** Each file deleted in place, timed: microseconds on a local disk (120 µs with online discard), a round trip or more on a NAS. */
  private readonly inPlaceFiles = new RoundTripMeter();
  private readonly inFlight: InFlight;

  constructor(private readonly options: FileDeletionOptions = {}) {
    const fixed = options.unlinkConcurrency;
    const local = defaultUnlinkConcurrency();
    // No more than the thread pool serves: beyond it, calls only wait in line (the Homebridge process keeps 4 threads).
    this.roundTrip = new RoundTripLimit(Math.min(NAS_MAX_IN_FLIGHT, local));
    this.inFlight =
      fixed !== undefined
        ? fixedInFlight(fixed)
        : {
            most: local,
            limit: () => (this.overNetwork() ? this.roundTrip.limit : local),
            unlinkTook: (ms) => {
              if (this.overNetwork()) {
                this.roundTrip.observe(ms);
              }
            },
          };
  }

  /**
   * Whether the files are reached over a network: deleted one after another, each takes a round
   * trip, not microseconds. (Their lstat may not tell: a NAS client answers it from the attributes
   * that came with the folder listing.)
   */
  overNetwork(): boolean {
    return this.inPlaceFiles.overNetwork;
  }

  /** The batch size to ask the planner for, or undefined for its own (a local disk). */
  preferredBatchSize(): number | undefined {
    return this.overNetwork() ? NETWORK_BATCH_SIZE : undefined;
  }

  async deleteAll(jobs: DeletionJob[]): Promise<FileOutcome[]> {
    // Each way is first tried on a few files, then measured again now and then: load and disk change.
    const probing = this.batches++ % PROBE_EVERY === 0;
    const outcomes = new Array<FileOutcome>(jobs.length);
    let next = 0;
    let order: number[] | undefined;
    const run = async (way: FileDeletionWay, files: number, budgetMs = Infinity) => {
      const first = next;
      const started = performance.now();
      const cursor = passCursor<FileOutcome>({
        first,
        order,
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
      order = this.orderOfTheRest(jobs, 0);
      await run(fixed, jobs.length);
      return outcomes;
    }
    const costs = this.msPerFile;
    if (probing || costs['in place'] === undefined) {
      await run('in place', PROBE_FILES, PROBE_MS);
    }
    if (probing || costs.overlapped === undefined) {
      await run('overlapped', OVERLAPPED_PROBE_ROUNDS * this.inFlight.limit(), OVERLAPPED_PROBE_MS);
    }
    order = this.orderOfTheRest(jobs, next);
    await run(costs.overlapped! < costs['in place']! ? 'overlapped' : 'in place', jobs.length - next);
    return outcomes;
  }

  /**
   * The positions from `first` on: over a network one folder after another in turn (unlinks in one
   * folder wait for each other, a round trip each), otherwise as planned, oldest first.
   */
  private orderOfTheRest(jobs: DeletionJob[], first: number): number[] | undefined {
    if (!this.overNetwork()) {
      return undefined;
    }
    const rest = jobs.slice(first).map((job) => `${job.recording.cameraId}/${folderOf(job.recording.relPath)}`);
    return [...Array.from({ length: first }, (_, i) => i), ...inTurnByFolder(rest).map((i) => first + i)];
  }

  describeCosts(): string {
    const cost = (way: FileDeletionWay) =>
      this.msPerFile[way] === undefined ? 'not measured' : `${Math.round(this.msPerFile[way] * 1000)} µs a file`;
    const network = this.overNetwork()
      ? `; over a network, ${this.roundTrip.limit} in flight, round trip ${this.roundTrip.roundTripMs.toFixed(2)} ms`
      : '';
    return `in place ${cost('in place')}, overlapped ${cost('overlapped')}${network}`;
  }

  private runWay(way: FileDeletionWay, cursor: PassCursor<FileOutcome>): Promise<void> {
    if (way === 'in place') {
      return runInPlace(cursor, (ms) => this.inPlaceFiles.observe(ms));
    }
    return runOverlapped(cursor, this.inFlight, this.lstatCost);
  }
}
