/**
 * Start-up recovery of interrupted deletions (rules §3.8): rows that a sweep claimed and whose
 * files it had already unlinked when it died are finished off, so that those files are not
 * mistaken for losses (the "more than half gone at once" guard of rules §3.1). A row held since
 * (a protect after the sweep died) whose file is still there simply stays, held.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import type { EngineContext } from './context.js';
import { folderOf, type FolderPin, FolderPins, nameOf } from './deletion/folder-pins.js';
import { plural } from './format.js';

export function finishInterruptedDeletes(ctx: EngineContext): void {
  const { store, config, log } = ctx;
  const interrupted = store.interruptedDeletes();
  if (interrupted.length === 0) {
    return;
  }
  const gone: number[] = [];
  const present: number[] = [];
  // The folders as the last scan saw them: a folder that is a link now tells nothing about the file.
  const pins = new FolderPins(store);
  try {
    for (const recording of interrupted) {
      const camera = store.camera(recording.cameraId);
      // The row's path is the camera's index key: its folder, or folder#name for a camera in a shared folder.
      const cameraConfig = config.cameras.find((c) => c.indexKey === camera.path);
      const pin = cameraConfig ? pins.pin(cameraConfig, recording.cameraId, folderOf(recording.relPath)) : undefined;
      const state = pin ? fileState(pin, nameOf(recording.relPath)) : 'unknown';
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
      if (pin?.kind === 'pinned') {
        for (const sidecar of recording.sidecars) {
          // A companion below the folder goes only through folders that are not links (deletion/steps.ts).
          if (sidecar.includes('/') && !plainFoldersBelow(pin.dir, sidecar)) {
            continue;
          }
          try {
            unlinkSync(`${pin.dir}/${sidecar}`);
          } catch {
            // Already gone; or it stays behind as a plain file, as when a sidecar's unlink fails in a sweep.
          }
        }
      }
      gone.push(recording.id);
    }
  } finally {
    pins.close();
  }
  store.transaction(() => {
    store.deleteRecordings(gone);
    store.clearDeleting(present);
  });
  log.info(
    `Finished ${plural(gone.length, 'deletion')} that an interrupted sweep had started (${plural(present.length, 'file was', 'files were')} still there and stay indexed).`,
  );
}

/** Whether a recording's file is there; 'gone' only on a clear ENOENT inside its pinned folder, or its folder gone. */
function fileState(pin: FolderPin, name: string): 'present' | 'gone' | 'unknown' {
  if (pin.kind === 'gone') {
    return 'gone';
  }
  if (pin.kind !== 'pinned') {
    return 'unknown';
  }
  try {
    lstatSync(`${pin.dir}/${name}`);
    return 'present';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown';
  }
}

/** Whether every folder between `dir` and the file at `relName` below it is a folder, not a link. */
function plainFoldersBelow(dir: string, relName: string): boolean {
  const parts = relName.split('/').slice(0, -1);
  return parts.every((_, i) => lstatSync(`${dir}/${parts.slice(0, i + 1).join('/')}`, { throwIfNoEntry: false })?.isDirectory() === true);
}
