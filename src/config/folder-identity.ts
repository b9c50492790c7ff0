/**
 * Whether two camera folders are, or hold, the same directory by identity rather than by name: one
 * folder seen under two paths through a bind mount (`mount --bind /cams/a /alias/b`) would be swept
 * by two cameras' rules, and one camera would delete what the other holds. Checked at start-up with
 * the path-string checks (schema.ts) and before every scan (retention/reconcile.ts), as mounts change.
 *
 * Identity is device and inode; containment is found two ways: an ancestor of one folder that is the
 * other (the bind target's own inode), and, on Linux, each folder's path inside its filesystem as
 * /proc/self/mountinfo gives it (a bind mount of a subfolder has no inode of the other on its way up).
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export interface FolderIdentity {
  folder: string;
  dev: number;
  ino: number;
  /** Device and inode of each folder above it, nearest first. */
  ancestors: { dev: number; ino: number }[];
  /** The filesystem ("major:minor") and the path inside it, where /proc/self/mountinfo tells. */
  inFilesystem?: { source: string; path: string };
}

export type Overlap = 'same' | 'inside' | 'contains';

/** The identity of a folder that exists now; undefined when it does not (nothing to compare). */
export function folderIdentity(folder: string, mounts = readMounts()): FolderIdentity | undefined {
  let real: string;
  let stats: { dev: number; ino: number };
  try {
    real = realpathSync(folder);
    stats = statSync(real);
  } catch {
    return undefined;
  }
  const ancestors: { dev: number; ino: number }[] = [];
  for (let at = path.dirname(real); ; at = path.dirname(at)) {
    try {
      const { dev, ino } = statSync(at);
      ancestors.push({ dev, ino });
    } catch {
      // A folder above that cannot be looked at: what is known still counts.
    }
    if (at === path.dirname(at)) {
      break;
    }
  }
  return { folder, dev: stats.dev, ino: stats.ino, ancestors, inFilesystem: placeInFilesystem(real, mounts) };
}

/** How `a` stands to `b` by identity: the same directory, inside it, containing it, or apart (undefined). */
export function overlapOf(a: FolderIdentity, b: FolderIdentity): Overlap | undefined {
  if (a.dev === b.dev && a.ino === b.ino) {
    return 'same';
  }
  const isAbove = (upper: FolderIdentity, lower: FolderIdentity) =>
    lower.ancestors.some((at) => at.dev === upper.dev && at.ino === upper.ino) ||
    (upper.inFilesystem !== undefined &&
      lower.inFilesystem !== undefined &&
      upper.inFilesystem.source === lower.inFilesystem.source &&
      isBelow(lower.inFilesystem.path, upper.inFilesystem.path));
  if (isAbove(b, a)) {
    return 'inside';
  }
  if (isAbove(a, b)) {
    return 'contains';
  }
  return undefined;
}

/** The words for an overlap found by identity, for a config issue ("must not ...") or an event. */
export function describeOverlap(overlap: Overlap, other: string): string {
  const how = 'by device and inode, e.g. through a bind mount';
  switch (overlap) {
    case 'same':
      return `be the same folder as ${other}: they are one directory (${how})`;
    case 'inside':
      return `be inside the folder of ${other} (${how})`;
    case 'contains':
      return `contain the folder of ${other} (${how})`;
  }
}

/** Every pair of `folders` that overlaps by identity, by index: both of each pair are refused. */
export function identityOverlaps(folders: (string | undefined)[]): { a: number; b: number; overlap: Overlap }[] {
  const mounts = readMounts();
  const identities = folders.map((folder) => (folder === undefined ? undefined : folderIdentity(folder, mounts)));
  const found: { a: number; b: number; overlap: Overlap }[] = [];
  for (const [a, ia] of identities.entries()) {
    for (const [b, ib] of identities.entries()) {
      const overlap = a !== b && ia && ib ? overlapOf(ia, ib) : undefined;
      if (overlap) {
        found.push({ a, b, overlap });
      }
    }
  }
  return found;
}

function isBelow(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

interface Mount {
  source: string;
  root: string;
  mountPoint: string;
}

/** /proc/self/mountinfo: "id parent major:minor root mount-point ..."; octal escapes for spaces and the like. */
function readMounts(): Mount[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length > 4)
    .map((fields) => ({ source: fields[2]!, root: unescape(fields[3]!), mountPoint: unescape(fields[4]!) }));
}

/** The folder's filesystem and path inside it: from the mount it lies under (the last mounted of the longest mount point). */
function placeInFilesystem(real: string, mounts: Mount[]): { source: string; path: string } | undefined {
  let best: Mount | undefined;
  for (const mount of mounts) {
    if (isBelow(real, mount.mountPoint) && (!best || mount.mountPoint.length >= best.mountPoint.length)) {
      best = mount;
    }
  }
  if (!best) {
    return undefined;
  }
  const rest = real.slice(best.mountPoint === '/' ? 0 : best.mountPoint.length);
  return { source: best.source, path: path.posix.join(best.root, rest || '/') };
}
