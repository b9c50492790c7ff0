/**
 * The order in which calls about many files go out over a network. The kernel takes a folder's
 * lock for each unlink in it (and a FUSE mount for each lookup too), so those calls in one folder
 * wait for each other, one round trip each, however many are in flight; taking one file of each
 * folder in turn keeps the calls in flight in different folders (BENCHMARKS.md, "On a simulated NAS").
 * The deletions and the scan's look-ahead both go in this order.
 */

/** The positions 0…n-1 of files in `folders` (each file's folder), one folder after another in turn, each folder's files in their own order. */
export function inTurnByFolder(folders: readonly string[]): number[] {
  const byFolder = new Map<string, number[]>();
  for (const [position, folder] of folders.entries()) {
    const files = byFolder.get(folder);
    if (files) {
      files.push(position);
    } else {
      byFolder.set(folder, [position]);
    }
  }
  const order: number[] = [];
  let left = [...byFolder.values()];
  for (let round = 0; left.length > 0; round++) {
    for (const files of left) {
      order.push(files[round]!);
    }
    left = left.filter((files) => files.length > round + 1);
  }
  return order;
}
