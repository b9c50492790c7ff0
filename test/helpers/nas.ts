/**
 * The project's simulated NAS for tests (scripts/nas-sim.js): an sshd of its own on a loopback
 * port, mounted with sshfs through a relay that holds every packet 0.5 ms each way, a 1 ms round
 * trip like a NAS on a wired LAN. The NAS's disk is a tmpfs of the test's own. Needs root, sshd and
 * sshfs (Debian's openssh-server and sshfs, which .ci/run installs); a test file that uses it fails
 * at its start with the reason when they are missing, it is never skipped.
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { nasUnavailable, startNas } from '../../scripts/nas-sim.js';
import { mountTmpfs, unmountAll } from './deletion-safety.js';

export interface NasFolder {
  /** The folder on the NAS's own disk: what the NAS holds, looked at without the network. */
  onDisk: string;
  /** The same folder through the sshfs mount: a camera's path. */
  mounted: string;
}

export interface Nas {
  /** A folder of the NAS's disk, mounted over the delayed link at `root/name`. */
  folder(root: string, name: string): Promise<NasFolder>;
  /** Unmounts every folder mounted so far (the NAS keeps running). */
  unmountFolders(): void;
}

/** Starts the NAS before the file's tests and stops it after them. */
export function useNas(workRoot: () => string): Nas {
  let nas: Awaited<ReturnType<typeof startNas>> | undefined;
  const mounted: string[] = [];
  beforeAll(async () => {
    const why = nasUnavailable();
    if (why) {
      throw new Error(`the simulated NAS cannot run here: it ${why}`);
    }
    nas = await startNas({ delayMs: 0.5, workDir: join(workRoot(), 'nas-sshd') });
  });
  afterAll(() => {
    nas?.stop();
  });
  return {
    async folder(root, name) {
      const disk = join(root, `nas-disk-${name}`);
      mountTmpfs(disk, '256m');
      const mountPoint = await nas!.mount(disk, join(root, name));
      mounted.push(mountPoint);
      return { onDisk: disk, mounted: mountPoint };
    },
    unmountFolders() {
      for (const mountPoint of mounted.splice(0).reverse()) {
        nas!.unmount(mountPoint);
      }
      unmountAll();
    },
  };
}
