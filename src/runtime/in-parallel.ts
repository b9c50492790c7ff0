/**
 * A fixed number of asynchronous workers over one list of work: the scan's calls made ahead and
 * the deletions' calls in flight both run this way.
 */
/** Runs `worker` `count` times at once and waits for all of them: each worker pulls its own next item. */
export async function inParallel(count: number, worker: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: Math.max(1, count) }, worker));
}
