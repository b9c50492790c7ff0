/**
 * Deleting recordings a person chose (the settings UI; rules §9), by the sweeper's own rules:
 * under the sweep lock, never a held, exported or in-progress recording, file first and row after,
 * and one event-log row per camera naming who did it.
 */
import { join } from 'node:path';
import type { CameraConfig } from '../config/types.js';
import { SECOND_MS } from '../config/units.js';
import type { Recording } from '../store/store.js';
import type { EngineContext } from './context.js';
import { isInProgress } from './deletable.js';
import { deleteBatchFiles, settleRows } from './deletion/batch.js';
import { noteTouchedFolders, removeEmptiedFolders, type TouchedFolders } from './deletion/emptied-folders.js';
import { FileDeleter } from './deletion/file-deleter.js';
import { formatBytes, plural } from './format.js';
import { addTo, emptyTally, type Tally } from './report.js';

export interface ManualDeleteResult {
  deleted: Tally;
  /** Recordings left alone, with why: a person needs to know what did not go. */
  kept: { id: number; path: string | null; reason: string }[];
  failures: { path: string; error: string }[];
}

/** Throws SweepLockHeldError while a sweep (or another deletion by hand) runs. */
export async function deleteRecordingsNow(ctx: EngineContext, ids: number[], who: string): Promise<ManualDeleteResult> {
  const { store, config, log } = ctx;
  store.lock.acquire(`delete by hand (${who})`);
  try {
    const now = Date.now();
    const result: ManualDeleteResult = { deleted: emptyTally(), kept: [], failures: [] };
    const cameraById = new Map<number, CameraConfig>();
    const available = new Map<number, boolean>();
    for (const camera of config.cameras) {
      const row = store.cameraByPath(camera.indexKey);
      if (row) {
        cameraById.set(row.id, camera);
        available.set(row.id, row.available);
      }
    }
    const batch: Recording[] = [];
    for (const id of new Set(ids)) {
      const recording = store.recording(id);
      const camera = recording && cameraById.get(recording.cameraId);
      if (!recording || !camera) {
        result.kept.push({ id, path: null, reason: 'not a recording of a configured camera (already deleted?)' });
      } else if (!available.get(recording.cameraId)) {
        result.kept.push({ id, path: join(camera.path, recording.relPath), reason: 'its camera folder is unavailable' });
      } else if (isInProgress(recording, now, config.minAgeSeconds * SECOND_MS)) {
        result.kept.push({ id, path: join(camera.path, recording.relPath), reason: 'it may still be recording' });
      } else {
        // Held and exported recordings are not claimed by the batch, so they stay (kept below).
        batch.push(recording);
      }
    }
    if (batch.length === 0) {
      return result;
    }
    const outcome = await deleteBatchFiles(store, log, batch, cameraById, new FileDeleter());
    settleRows(store, outcome);
    const deletedIds = new Set(outcome.deleted.map((recording) => recording.id));
    const touched: TouchedFolders = new Map();
    const byCamera = new Map<number, { tally: Tally; paths: string[] }>();
    for (const recording of batch) {
      const path = join(cameraById.get(recording.cameraId)!.path, recording.relPath);
      if (deletedIds.has(recording.id)) {
        addTo(result.deleted, recording.size);
        const entry = byCamera.get(recording.cameraId) ?? { tally: emptyTally(), paths: [] };
        addTo(entry.tally, recording.size);
        entry.paths.push(path);
        byCamera.set(recording.cameraId, entry);
        noteTouchedFolders(touched, recording);
      } else if (!outcome.failures.some((failure) => failure.path === path)) {
        result.kept.push({ id: recording.id, path, reason: 'protected, exported or changed since it was chosen' });
      }
    }
    await removeEmptiedFolders(store, touched, cameraById);
    for (const [cameraId, entry] of byCamera) {
      store.addEvent({
        time: Date.now(),
        camera: cameraById.get(cameraId)!.name,
        kind: 'deleted_by_hand',
        severity: 'info',
        message: `${who} deleted ${plural(entry.tally.count, 'recording')} (${formatBytes(entry.tally.bytes)}) by hand`,
        who,
        paths: entry.paths,
      });
    }
    for (const failure of outcome.failures) {
      result.failures.push({ path: failure.path, error: failure.error });
      store.addEvent({
        time: Date.now(),
        camera: failure.camera,
        kind: 'delete_failed',
        severity: 'warning',
        message: `${who} could not delete ${failure.path}: ${failure.error}; it stays`,
        who,
        path: failure.path,
        error: failure.error,
      });
    }
    return result;
  } finally {
    store.lock.release();
  }
}
