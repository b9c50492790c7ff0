/**
 * For the safety tests of issue 11: big recording trees on a tmpfs of their own (real files, real
 * mtimes), and a hook that acts in the middle of a batch of a real sweep. The hook counts the sweep's
 * per-file polls of `shouldStop` (one before each file it deletes) since the last batch reported
 * (`onProgress`), so "call 450 of batch 3" is about the 450th file of that batch, whichever way the
 * files go.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from './tree.js';

export const PER_FOLDER = 100;

export const folderName = (f: number): string => `d${String(f).padStart(4, '0')}`;
export const fileName = (i: number): string => `seg-${String(i).padStart(6, '0')}.mp4`;
/** Relative path of recording i: PER_FOLDER recordings per folder, oldest first by i. */
export const recordingPath = (i: number): string => `${folderName(Math.floor(i / PER_FOLDER))}/${fileName(i)}`;

const mounted: string[] = [];

export function mountTmpfs(dir: string, size = '256m'): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  mounted.push(dir);
}

export function mount(...args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
  mounted.push(args[args.length - 1]!);
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // Already gone with a parent mount.
    }
  }
}

/**
 * `count` one-byte recordings below `dir`, recording i ending 30 days ago plus i seconds (so the
 * sweep takes them in order), folders backdated so that a scan sees them settled.
 */
export function makeTree(dir: string, count: number, firstAgeMs = 30 * DAY_MS): void {
  const base = (Date.now() - firstAgeMs) / 1000;
  const byte = Buffer.from('x');
  for (let f = 0; f * PER_FOLDER < count; f++) {
    const folder = join(dir, folderName(f));
    fs.mkdirSync(folder, { recursive: true });
    for (let i = f * PER_FOLDER; i < Math.min(count, (f + 1) * PER_FOLDER); i++) {
      const fd = fs.openSync(join(folder, fileName(i)), 'w');
      fs.writeSync(fd, byte);
      fs.futimesSync(fd, base + i, base + i);
      fs.closeSync(fd);
    }
    fs.utimesSync(folder, base, base);
  }
}

/**
 * Copies the files of folder `from` that are still there into `to`, mtimes kept. Mid-batch the
 * overlapped way has unlinks in flight in that folder, so a file listed may be gone when it is
 * copied; `fs.cpSync` would throw out of the hook and fail the sweep.
 */
export function copyWhatIsLeft(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    try {
      const { atime, mtime } = fs.statSync(join(from, name));
      fs.copyFileSync(join(from, name), join(to, name));
      fs.utimesSync(join(to, name), atime, mtime);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
      fs.rmSync(join(to, name), { force: true });
    }
  }
}

export interface MidBatch {
  onProgress: () => void;
  shouldStop: () => boolean;
}

/**
 * Calls `act(batch, call)` before each file of a real sweep: `batch` counts the batches reported so
 * far (0 while the scan and the first batch run), `call` the polls since. Never asks the sweep to stop.
 */
export function midBatch(act: (batch: number, call: number) => void): MidBatch {
  let batch = 0;
  let call = 0;
  return {
    onProgress: () => {
      batch++;
      call = 0;
    },
    shouldStop: () => {
      call++;
      act(batch, call);
      return false;
    },
  };
}

/** How many of `paths` are not there any more. */
export function missing(paths: string[]): number {
  return paths.filter((path) => !fs.existsSync(path)).length;
}
