/**
 * What the planner is told (rules §3.2–3.5): each camera's policy and usage, and the free space of
 * each disk that holds a camera folder, measured now. The planner itself reads no file.
 */
import { join } from 'node:path';
import type { ScanResult } from '../catalog/scan.js';
import type { CameraConfig } from '../config/types.js';
import { bytesOfGB, DAY_MS, SECOND_MS } from '../config/units.js';
import type { EngineContext, Raise } from './context.js';
import type { Store } from '../store/store.js';
import { NETWORK_BATCH_SIZE } from './deletion/file-deleter.js';
import type { CameraPolicy, FilesystemFigures, PlanInput, RecordingSource } from './plan.js';

export type MeasuredFilesystem = FilesystemFigures & { path: string };

export function cameraPolicy(camera: CameraConfig, id: number, available: boolean, filesystem: string): CameraPolicy {
  return {
    id,
    name: camera.name,
    available,
    filesystem,
    retentionMs: camera.retentionDays * DAY_MS,
    eventRetentionMs: camera.eventRetentionDays * DAY_MS,
    quotaBytes: bytesOfGB(camera.storageQuotaGB),
  };
}

/** The planner's input for this sweep, and the filesystems it measured (to measure them again after each batch). */
export function planInput(
  ctx: EngineContext,
  scans: ScanResult[],
  options: { floorOnly: boolean; batchSize?: number },
  raise: Raise,
): { input: Omit<PlanInput, 'source'>; filesystems: Map<string, MeasuredFilesystem>; cameraById: Map<number, CameraConfig> } {
  const { store, config, disk } = ctx;
  const now = Date.now();
  const minAgeMs = config.minAgeSeconds * SECOND_MS;
  const filesystems = new Map<string, MeasuredFilesystem>();
  const policies: CameraPolicy[] = [];
  for (const [i, scan] of scans.entries()) {
    // One scan per configured camera, in the config's order.
    const camera = config.cameras[i]!;
    let filesystem = 'unknown';
    const nested: string[] = [];
    if (scan.available) {
      try {
        filesystem = disk.filesystemOf(camera.path);
        if (!filesystems.has(filesystem)) {
          filesystems.set(filesystem, {
            id: filesystem,
            dev: deviceOf(filesystem),
            path: camera.path,
            ...measure(ctx, camera.path, raise),
          });
        }
        // A disk mounted inside the camera folder: its recordings count toward its own floor, not the outer disk's.
        for (const { dev, relPath } of store.nestedFilesystems(scan.camera.id)) {
          const id = String(dev);
          const path = join(camera.path, relPath);
          nested.push(id);
          if (!filesystems.has(id)) {
            filesystems.set(id, { id, dev, path, ...measure(ctx, path, raise) });
          }
        }
      } catch (error) {
        raise({
          kind: 'statfs_failed',
          camera: camera.name,
          severity: 'warning',
          message: `cannot tell which disk holds the folder (${(error as Error).message}); the free-space floor is skipped for it`,
        });
      }
    }
    policies.push({ ...cameraPolicy(camera, scan.camera.id, scan.available, filesystem), nestedFilesystems: nested });
  }
  const usage = new Map(
    policies
      .filter((p) => p.available)
      .map((policy) => {
        const held = store.heldBytes(policy.id, now, now - minAgeMs);
        return [policy.id, { countedBytes: store.camera(policy.id).bytes - held.uncounted, undeletableBytes: held.undeletable }];
      }),
  );
  return {
    input: {
      now,
      minAgeMs,
      cameras: policies,
      usage,
      filesystems: [...filesystems.values()],
      capBytes: bytesOfGB(config.maxTotalGB),
      floorBytes: bytesOfGB(config.minFreeGB),
      floorOnly: options.floorOnly,
      // Over a network a batch must span several folders: unlinks in one folder wait for each other.
      batchSize: options.batchSize ?? (scans.some((scan) => scan.available && scan.overNetwork) ? NETWORK_BATCH_SIZE : undefined),
    },
    filesystems,
    cameraById: new Map(policies.map((policy, i) => [policy.id, config.cameras[i]!])),
  };
}

/** The real probe names a filesystem by its st_dev in decimal; another probe's names carry no device. */
function deviceOf(filesystem: string): number | undefined {
  return /^\d+$/.test(filesystem) ? Number(filesystem) : undefined;
}

function measure(ctx: EngineContext, path: string, raise: Raise): Partial<FilesystemFigures> {
  try {
    return ctx.disk.measure(path);
  } catch (error) {
    raise({
      kind: 'statfs_failed',
      camera: null,
      severity: 'warning',
      message: `cannot measure free space at ${path} (${(error as Error).message}); the free-space floor is skipped for this sweep`,
    });
    return {};
  }
}

/** Free space after a batch, for the floor's next round; a disk that cannot be measured keeps its last figure. */
export function remeasure(ctx: EngineContext, filesystems: Map<string, MeasuredFilesystem>): Map<string, number> {
  const free = new Map<string, number>();
  for (const fs of filesystems.values()) {
    if (fs.freeBytes === undefined) {
      continue;
    }
    try {
      free.set(fs.id, ctx.disk.measure(fs.path).freeBytes);
    } catch {
      // Keep the last figure: the planner then assumes nothing was freed, which only deletes less.
    }
  }
  return free;
}

/**
 * The planner's recordings: the index's, less those in folders the scan could not read this time
 * (rules §3.1, unreadable_folder). The sweep could not open their folder anyway, and a whole batch
 * of them kept would read as a phase that makes no progress.
 */
export function recordingSource(store: Store, scans: ScanResult[]): RecordingSource {
  const unreadable = new Map(
    scans.filter((scan) => scan.unreadableFolders.length > 0).map((scan) => [scan.camera.id, scan.unreadableFolders.map((f) => `${f}/`)]),
  );
  if (unreadable.size === 0) {
    return store;
  }
  return {
    *oldest(cameraIds, filter) {
      for (const recording of store.oldest(cameraIds, filter)) {
        const skipped = unreadable.get(recording.cameraId);
        if (!skipped?.some((prefix) => recording.relPath.startsWith(prefix))) {
          yield recording;
        }
      }
    },
  };
}
