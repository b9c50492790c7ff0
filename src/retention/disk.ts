/**
 * Free space of the disks that hold the camera folders: how one folder is measured (rules §2), and
 * how the cameras are grouped by disk. The engine measures synchronously in its thread; Homebridge's
 * main thread measures every minute without blocking its event loop (a NAS that stops answering
 * holds a thread-pool thread, never HomeKit).
 */
import { statfsSync, statSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';

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

const figuresOf = (stats: { bavail: number; bsize: number; blocks: number }): DiskFigures => ({
  freeBytes: stats.bavail * stats.bsize,
  totalBytes: stats.blocks * stats.bsize,
});

export const realDisk: DiskProbe = {
  filesystemOf: (path) => String(statSync(path).dev),
  measure: (path) => figuresOf(statfsSync(path)),
};

export interface FilesystemStatus {
  cameras: string[];
  /** For a disk mounted inside a camera folder: the folder it is mounted at (its figures are its own). */
  folder?: string;
  freeBytes: number | null;
  totalBytes: number | null;
  floorBytes: number | null;
  error?: string;
  /** The camera folder itself is not there (rules §3.1: its camera is unavailable). */
  folderMissing?: boolean;
}

/** One camera folder's disk: its device and figures, or why they could not be had. */
export type FolderReading =
  { camera: string; device: string; figures: DiskFigures } | { camera: string; device?: string; error: string; folderMissing: boolean };

const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

export function readFolder(probe: DiskProbe, camera: { name: string; path: string }): FolderReading {
  let device: string;
  try {
    device = probe.filesystemOf(camera.path);
  } catch (error) {
    return { camera: camera.name, error: (error as Error).message, folderMissing: isMissing(error) };
  }
  try {
    return { camera: camera.name, device, figures: probe.measure(camera.path) };
  } catch (error) {
    return { camera: camera.name, device, error: (error as Error).message, folderMissing: false };
  }
}

/** The same as readFolder on the real disk, through the thread pool. */
export async function readFolderLive(camera: { name: string; path: string }): Promise<FolderReading> {
  let device: string;
  try {
    device = String((await stat(camera.path)).dev);
  } catch (error) {
    return { camera: camera.name, error: (error as Error).message, folderMissing: isMissing(error) };
  }
  try {
    return { camera: camera.name, device, figures: figuresOf(await statfs(camera.path)) };
  } catch (error) {
    return { camera: camera.name, device, error: (error as Error).message, folderMissing: false };
  }
}

/** Cameras on one device share one entry (the first reading of it counts); a folder without a device is an entry of its own. */
export function filesystemsOf(readings: FolderReading[], floorBytes: number | null): FilesystemStatus[] {
  const byDevice = new Map<string, FilesystemStatus>();
  for (const reading of readings) {
    const key = reading.device ?? `missing:${reading.camera}`;
    const known = byDevice.get(key);
    if (known) {
      known.cameras.push(reading.camera);
    } else if ('figures' in reading) {
      byDevice.set(key, { cameras: [reading.camera], ...reading.figures, floorBytes });
    } else {
      byDevice.set(key, {
        cameras: [reading.camera],
        freeBytes: null,
        totalBytes: null,
        floorBytes,
        error: reading.error,
        ...(reading.folderMissing ? { folderMissing: true } : {}),
      });
    }
  }
  return [...byDevice.values()];
}
