import { statfsSync, statSync } from 'node:fs';

export interface DiskFigures {
  freeBytes: number;
  totalBytes: number;
}

/** Where disk figures come from; tests of statfs failures give their own. */
export interface DiskProbe {
  /** An id for the filesystem holding `path` (its `st_dev`). */
  filesystemOf(path: string): string;
  /** Free space as an unprivileged recorder sees it: `bavail × bsize` (rules §2). */
  measure(path: string): DiskFigures;
}

export const realDisk: DiskProbe = {
  filesystemOf: (path) => String(statSync(path).dev),
  measure: (path) => {
    const stats = statfsSync(path);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  },
};
