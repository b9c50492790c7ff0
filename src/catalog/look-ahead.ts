/**
 * The scan's file-system calls (lstat, listing, access), made ahead of the scan and together when
 * each is a network round trip (a NAS): the scan reads its folders one after another and would
 * otherwise wait for one answer at a time. The scan asks here for every call it makes; what was
 * made ahead is answered from memory (the same answer, error or not, the call would have given a
 * moment before), anything else is made there and then. On a local disk nothing is made ahead: a
 * call costs microseconds there, less than handing it to another thread.
 *
 * Which it is: a network filesystem by its type (network-filesystem.ts) is looked ahead on from the
 * start; any other is measured as the scan goes: every lstat made here (one after another) is
 * timed, and while looking ahead, the first folder of each round is looked at here first, on its
 * own, to keep measuring. A listing is not timed: a folder of thousands of names takes long anywhere.
 */
import { accessSync, constants, type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import { access, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inTurnByFolder } from '../runtime/folder-order.js';
import { RoundTripMeter } from '../runtime/round-trip-meter.js';
import { isNetworkFilesystem } from './network-filesystem.js';
import { inParallel } from '../runtime/in-parallel.js';

/** Calls in flight while looking ahead: as many as a NAS answers together without the recorder noticing (BENCHMARKS.md). */
const CALLS_IN_FLIGHT = 32;
/** Folders looked at together, and the most files whose lstat is made ahead in one go (memory stays small in a flat folder). */
export const FOLDERS_AHEAD = 16;
const MOST_FILES_AHEAD = 8192;

type Answer<T> = { value: T } | { error: unknown };

/** A folder the scan will visit next, and whether the scan will list it once it knows its lstat. */
export interface FolderAhead {
  relPath: string;
  willList: (stats: Stats) => boolean;
}

export class ScanCalls {
  private readonly stats = new Map<string, Answer<Stats>>();
  private readonly listings = new Map<string, Answer<Dirent[]>>();
  private readonly listable = new Map<string, Answer<void>>();
  /** What the lstats made here cost, one after another. */
  private readonly lstats = new RoundTripMeter();
  /** Whether the calls ever took a network's round trip during this scan. */
  private slowSeen = false;

  private readonly networkFilesystem: boolean;

  constructor(
    private readonly cameraPath: string,
    /** Whether calls may be made ahead at all: only a caller that can wait for them. */
    private readonly mayLookAhead: boolean,
  ) {
    this.networkFilesystem = isNetworkFilesystem(cameraPath);
  }

  /** Whether calls are made ahead now: a network filesystem, or lstats that take a network's round trip. */
  get ahead(): boolean {
    return this.mayLookAhead && (this.networkFilesystem || this.slowNow);
  }

  /** Whether the folder is reached over a network: by its filesystem's type, or by its lstats at any time of this scan. */
  get overNetwork(): boolean {
    return this.networkFilesystem || this.slowSeen;
  }

  /** Whether the lstats made here take a network's round trip, even the quickest of the last few. */
  private get slowNow(): boolean {
    return this.lstats.overNetwork;
  }

  lstat(path: string): Stats {
    const made = this.stats.get(path);
    if (made !== undefined) {
      return answered(made)!;
    }
    const started = performance.now();
    try {
      return lstatSync(path);
    } finally {
      this.lstats.observe(performance.now() - started);
      this.slowSeen ||= this.slowNow;
    }
  }

  readdir(path: string): Dirent[] {
    return answered(this.listings.get(path)) ?? readdirSync(path, { withFileTypes: true });
  }

  /** Throws as accessSync would when the folder cannot be listed. */
  checkListable(path: string): void {
    const made = this.listable.get(path);
    if (made === undefined) {
      accessSync(path, constants.R_OK | constants.X_OK);
    } else {
      answered(made);
    }
  }

  /** Drops what was made ahead: the next folders' calls are made afresh. */
  forget(): void {
    this.stats.clear();
    this.listings.clear();
    this.listable.clear();
  }

  /**
   * Makes ahead, CALLS_IN_FLIGHT at a time, the calls the scan will make for these folders: each
   * folder's lstat and access check, and for those it will list, the listing and its files' lstat.
   */
  async lookAhead(folders: FolderAhead[]): Promise<void> {
    if (!this.ahead || folders.length === 0) {
      return;
    }
    const paths = folders.map((folder) => join(this.cameraPath, folder.relPath));
    // Measured on its own, one a round: whether the disk still answers at a network's pace.
    await this.make(this.stats, paths[0]!, () => Promise.resolve(this.lstat(paths[0]!)));
    await this.inFlight(paths.map((path) => () => this.make(this.stats, path, () => lstat(path))));
    await this.inFlight(paths.map((path) => () => this.make(this.listable, path, () => access(path, constants.R_OK | constants.X_OK))));
    const listed = paths.filter((path, i) => {
      const seen = this.stats.get(path);
      return seen && 'value' in seen && seen.value.isDirectory() && folders[i]!.willList(seen.value);
    });
    await this.inFlight(listed.map((path) => () => this.make(this.listings, path, () => readdir(path, { withFileTypes: true }))));
    const files: string[] = [];
    const folderOfFile: string[] = [];
    for (const path of listed) {
      const listing = this.listings.get(path);
      for (const entry of listing && 'value' in listing ? listing.value : []) {
        if (entry.isFile() && !entry.name.startsWith('.') && files.length < MOST_FILES_AHEAD) {
          files.push(join(path, entry.name));
          folderOfFile.push(path);
        }
      }
    }
    const inTurn = inTurnByFolder(folderOfFile).map((i) => files[i]!);
    await this.inFlight(inTurn.map((path) => () => this.make(this.stats, path, () => lstat(path))));
  }

  private async make<T>(into: Map<string, Answer<T>>, path: string, call: () => Promise<T>): Promise<void> {
    try {
      into.set(path, { value: await call() });
    } catch (error) {
      into.set(path, { error });
    }
  }

  private async inFlight(calls: (() => Promise<void>)[]): Promise<void> {
    let next = 0;
    await inParallel(Math.min(CALLS_IN_FLIGHT, calls.length), async () => {
      while (next < calls.length) {
        await calls[next++]!();
      }
    });
  }
}

/** The answer made ahead, or undefined when none was; a call that failed ahead throws its error now. */
function answered<T>(answer: Answer<T> | undefined): T | undefined {
  if (answer === undefined) {
    return undefined;
  }
  if ('error' in answer) {
    throw answer.error;
  }
  return answer.value;
}
