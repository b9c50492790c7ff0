/**
 * A camera's key in the index (CameraConfig.indexKey) changes when it gains or loses `match`, or,
 * with `match`, when it is renamed. Its row, and with it every hold, must not be left behind: a new
 * row would index the same files again without their holds, and a held recording could go. So the
 * new key takes over the old row when that cannot be a guess: in that folder, exactly one row that
 * no configured camera claims, and exactly one configured camera without a row.
 */
import type { CameraConfig } from '../config/types.js';
import type { Logger } from './logger.js';
import type { Store } from '../store/store.js';

export function adoptChangedCameraKeys(store: Store, cameras: CameraConfig[], log: Logger): void {
  const keys = new Set(cameras.map((camera) => camera.indexKey));
  const rows = store.allCameras();
  for (const folder of new Set(cameras.map((camera) => camera.path))) {
    const inFolder = (key: string) => key === folder || key.startsWith(`${folder}#`);
    const newcomers = cameras.filter((camera) => camera.path === folder && !rows.some((row) => row.path === camera.indexKey));
    const orphans = rows.filter((row) => inFolder(row.path) && !keys.has(row.path));
    const [camera] = newcomers;
    const [orphan] = orphans;
    if (newcomers.length === 1 && orphans.length === 1 && camera && orphan) {
      store.rekeyCamera(orphan.id, camera.indexKey, camera.name);
      log.info(
        `[${camera.name}] is the camera "${orphan.name}" was (its folder's key changed with its name or match): it keeps its recordings and holds.`,
      );
    }
  }
}
