/**
 * Carrying out one batch of the plan (rules §3.7): claim the rows, delete the files, then settle
 * the rows. A file goes before its row; a row claimed by a sweep that dies stays marked, and the
 * next start finishes it (../recovery.ts).
 */
import { dirname, join } from 'node:path';
import type { CameraConfig } from '../../config/types.js';
import type { Recording, Store } from '../../store/store.js';
import type { Logger } from '../logger.js';
import type { FileDeleter } from './file-deleter.js';
import { folderOf, FolderPins } from './folder-pins.js';

export interface BatchResult {
  deleted: Recording[];
  /**
   * Recordings that stay: a failed unlink, a recording protected or exported since planning, or a
   * stale row. They still count, and are not tried again this sweep.
   */
  keptIds: number[];
  failures: { camera: string; path: string; error: string }[];
  /** Claimed but not tried: the sweep was asked to stop. */
  untried: number[];
  /** Kept because the file was written after it was indexed. */
  stale: Recording[];
  /** Cameras whose folder is not the one the scan saw any more, with why: unavailable until the next scan. */
  lostCameras: Map<string, string>;
  /** Unlinked, yet held now: a hold that committed in the moment between the last check and the unlink. */
  heldTooLate: string[];
  stopped: boolean;
}

/**
 * The files of a batch: rows are claimed first, then the files go. The rows are not touched here;
 * `settleRows` removes those of the files that are gone.
 */
export async function deleteBatchFiles(
  store: Store,
  log: Logger,
  batch: Recording[],
  cameraById: Map<number, CameraConfig>,
  deleter: FileDeleter,
): Promise<BatchResult> {
  // A person may have protected or leased a recording since it was planned: those are not claimed.
  const claimed = store.claimForDeletion(
    batch.map((recording) => recording.id),
    Date.now(),
  );
  const result: BatchResult = {
    deleted: [],
    keptIds: [],
    failures: [],
    untried: [],
    stale: [],
    lostCameras: new Map(),
    heldTooLate: [],
    stopped: false,
  };
  const todo: Recording[] = [];
  for (const recording of batch) {
    if (claimed.has(recording.id)) {
      todo.push(recording);
    } else {
      result.keptIds.push(recording.id);
      log.debug(`kept ${recording.relPath}: protected or exported since it was chosen`);
    }
  }
  const pins = new FolderPins(store);
  let outcomes;
  try {
    outcomes = await deleter.deleteAll(
      todo.map((recording) => {
        const camera = cameraById.get(recording.cameraId)!;
        return {
          camera,
          recording,
          pin: pins.pin(camera, recording.cameraId, folderOf(recording.relPath)),
          stillDeletable: () => store.stillDeletable(recording.id, Date.now()),
        };
      }),
    );
  } finally {
    pins.close();
  }
  for (const [i, recording] of todo.entries()) {
    const outcome = outcomes[i]!;
    const camera = cameraById.get(recording.cameraId)!;
    const path = join(camera.path, recording.relPath);
    switch (outcome.kind) {
      case 'deleted':
        result.deleted.push(recording);
        break;
      case 'untried':
        result.stopped = true;
        result.untried.push(recording.id);
        break;
      case 'stale':
        // Its folder is read again by the next scan.
        result.keptIds.push(recording.id);
        result.stale.push(recording);
        log.info(`[${camera.name}] kept ${path}: it was written after it was indexed (still recording?)`);
        break;
      case 'unreadable':
        result.keptIds.push(recording.id);
        log.debug(`[${camera.name}] kept ${path}: its folder cannot be opened (no permission)`);
        break;
      case 'held':
        result.keptIds.push(recording.id);
        log.info(`[${camera.name}] kept ${path}: protected, kept or exported while the sweep was deleting its batch`);
        break;
      case 'camera lost':
        result.keptIds.push(recording.id);
        if (!result.lostCameras.has(camera.name)) {
          result.lostCameras.set(camera.name, outcome.reason);
          store.setCameraAvailability(recording.cameraId, false, outcome.reason, Date.now());
        }
        break;
      case 'failed':
        result.keptIds.push(recording.id);
        result.failures.push({ camera: camera.name, path, error: outcome.error });
        break;
    }
  }
  // A hold that committed between a file's last check and its unlink: the file is gone all the same,
  // and the person who made the hold must hear it (it cannot be undone).
  const deletedIds = result.deleted.map((recording) => recording.id);
  const late = new Set(deletedIds.length > 0 ? store.heldAmong(deletedIds, Date.now()) : []);
  for (const recording of result.deleted) {
    if (late.has(recording.id)) {
      result.heldTooLate.push(join(cameraById.get(recording.cameraId)!.path, recording.relPath));
    }
  }
  return result;
}

/** The rows of a batch whose files are done: gone ones are deleted, the others unmarked, in one transaction. */
export function settleRows(store: Store, result: BatchResult): void {
  store.transaction(() => {
    store.deleteRecordings(result.deleted.map((recording) => recording.id));
    store.clearDeleting([...result.keptIds, ...result.untried]);
    for (const recording of result.stale) {
      const folder = dirname(recording.relPath);
      store.invalidateFolders(recording.cameraId, [folder === '.' ? '' : folder]);
    }
  });
}
