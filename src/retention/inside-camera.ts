/**
 * Whether a path below a camera folder still leads inside it, links resolved: for reading a file a
 * person asked for by id (the settings UI's player and download). Deletions never go by path; they
 * go through folders pinned without following links (deletion/folder-pins.ts).
 */
import { realpathSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

export function isInsideCamera(cameraPath: string, relPath: string): boolean {
  if (relPath.startsWith('/') || relPath.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    return false;
  }
  try {
    const root = realpathSync(cameraPath);
    const folder = dirname(relPath);
    const expected = folder === '.' ? root : join(root, folder);
    return realpathSync(join(cameraPath, folder)) === expected && (expected === root || expected.startsWith(root + sep));
  } catch {
    return false;
  }
}
