/**
 * Housekeeping after deletions (rules §3.6): removes the folders the deletions emptied, walking up,
 * never a camera folder itself. The folders of one depth go together, overlapped (one rmdir after
 * another was slow on a real disk: see BENCHMARKS.md).
 */
import { rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CameraConfig } from '../../config/types.js';
import type { Store } from '../../store/store.js';
import { inParallel } from '../../runtime/in-parallel.js';
import { defaultUnlinkConcurrency } from './overlapped.js';

/** Folders by camera id: the parents of files that were deleted. */
export type TouchedFolders = Map<number, Set<string>>;

export function noteTouchedFolder(touched: TouchedFolders, cameraId: number, relPath: string): void {
  const folders = touched.get(cameraId) ?? new Set<string>();
  folders.add(dirname(relPath));
  touched.set(cameraId, folders);
}

/** The recording's folder and those of its companions below it (thumbs/, the inside of a folder that was one recording). */
export function noteTouchedFolders(touched: TouchedFolders, recording: { cameraId: number; relPath: string; sidecars: string[] }): void {
  noteTouchedFolder(touched, recording.cameraId, recording.relPath);
  const folder = dirname(recording.relPath);
  for (const sidecar of recording.sidecars) {
    if (sidecar.includes('/')) {
      noteTouchedFolder(touched, recording.cameraId, join(folder, sidecar));
    }
  }
}

export async function removeEmptiedFolders(store: Store, touched: TouchedFolders, cameraById: Map<number, CameraConfig>): Promise<void> {
  // Cameras may share a folder or lie inside one another's (match): no camera's own folder is ever removed.
  const cameraFolders = new Set([...cameraById.values()].map((camera) => camera.path));
  for (const [cameraId, folders] of touched) {
    const camera = cameraById.get(cameraId)!;
    const removed = new Set<string>();
    const isCameraFolder = (folder: string) => cameraFolders.has(join(camera.path, folder));
    let level = [...folders].filter((folder) => folder !== '.' && folder !== '' && !isCameraFolder(folder));
    while (level.length > 0) {
      const depth = level.reduce((most, folder) => Math.max(most, folder.split('/').length), 0);
      const deepest = level.filter((folder) => folder.split('/').length === depth);
      const gone = await removeFolders(camera.path, deepest);
      for (const folder of gone) {
        removed.add(folder);
      }
      // A folder that stays (not empty, or not ours to remove) keeps its parents: they are not empty either.
      const parents = gone
        .map((folder) => dirname(folder))
        .filter((parent) => parent !== '.' && !removed.has(parent) && !isCameraFolder(parent));
      level = [...new Set([...level.filter((folder) => folder.split('/').length < depth), ...parents])];
    }
    if (removed.size > 0) {
      store.transaction(() => {
        for (const folder of removed) {
          // The folder was empty: rows still in it are of files that went away since the scan.
          store.deleteRecordings(store.recordingIdsBelow(cameraId, folder));
          store.deleteFolderTree(cameraId, folder);
        }
      });
    }
  }
}

/** rmdir of each folder, a bounded number in flight; returns those removed. */
async function removeFolders(cameraPath: string, folders: string[]): Promise<string[]> {
  const gone: string[] = [];
  let next = 0;
  await inParallel(defaultUnlinkConcurrency(), async () => {
    while (next < folders.length) {
      const folder = folders[next++]!;
      try {
        await rmdir(join(cameraPath, folder));
        gone.push(folder);
      } catch {
        // Not empty, or not ours to remove: it stays.
      }
    }
  });
  return gone;
}
