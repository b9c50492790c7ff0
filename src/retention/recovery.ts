/**
 * Start-up recovery of interrupted deletions (rules §3.8): rows that a sweep claimed and whose
 * files it had already unlinked when it died are finished off, so that those files are not
 * mistaken for losses (the "more than half gone at once" guard of rules §3.1).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EngineContext } from './context.js';
import { isInsideCamera } from './deletion/steps.js';
import { plural } from './format.js';

export function finishInterruptedDeletes(ctx: EngineContext): void {
  const { store, config, log } = ctx;
  const interrupted = store.interruptedDeletes();
  if (interrupted.length === 0) {
    return;
  }
  const gone: number[] = [];
  const present: number[] = [];
  for (const recording of interrupted) {
    const camera = store.camera(recording.cameraId);
    // The row's path is the camera's index key: its folder, or folder#name for a camera in a shared folder.
    const cameraConfig = config.cameras.find((c) => c.indexKey === camera.path);
    const state = cameraConfig ? fileState(cameraConfig.path, recording.relPath) : 'unknown';
    if (state === 'unknown') {
      // The camera folder is not there (an unmounted NAS) or did not answer: the row stays marked and is
      // settled at a later start, when its folder can tell whether the file is really gone.
      continue;
    }
    if (state === 'present') {
      present.push(recording.id);
      continue;
    }
    // The crash may have come between the recording's unlink and its sidecars': they go with it.
    if (cameraConfig && isInsideCamera(cameraConfig.path, recording.relPath)) {
      for (const sidecar of recording.sidecars) {
        try {
          unlinkSync(join(cameraConfig.path, dirname(recording.relPath), sidecar));
        } catch {
          // Already gone; or it stays behind as a plain file, as when a sidecar's unlink fails in a sweep.
        }
      }
    }
    gone.push(recording.id);
  }
  store.transaction(() => {
    store.deleteRecordings(gone);
    store.clearDeleting(present);
  });
  log.info(
    `Finished ${plural(gone.length, 'deletion')} that an interrupted sweep had started (${plural(present.length, 'file was', 'files were')} still there and stay indexed).`,
  );
}

/** Whether a recording's file is there; 'gone' only on a clear ENOENT inside a camera folder that is there. */
function fileState(cameraPath: string, relPath: string): 'present' | 'gone' | 'unknown' {
  try {
    if (!lstatSync(cameraPath).isDirectory()) {
      return 'unknown';
    }
  } catch {
    return 'unknown';
  }
  try {
    lstatSync(join(cameraPath, relPath));
    return 'present';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown';
  }
}
