/**
 * How many file calls a deletion keeps in flight. On a local disk a fixed number that keeps every
 * thread of the pool busy; on a disk whose calls are network round trips (a NAS), a number that
 * follows the answers it measures: it grows while the answers come back at about the round trip,
 * and halves when they come back much slower than that (the NAS is queueing them, or the folder's
 * lock serialises them), never above a cap that leaves the NAS room for the recorder writing to it.
 */

/** The most calls in flight to a NAS (BENCHMARKS.md, "On a simulated NAS"). */
export const NAS_MAX_IN_FLIGHT = 32;
/** Calls in flight to a NAS when the deletion starts: half the cap, grown or halved from there. */
const NAS_FIRST_IN_FLIGHT = 16;
/** Answers this many times slower than the quickest one seen mean the calls wait on each other. */
const CONGESTED_FACTOR = 8;
/** The quickest answer is forgotten slowly (a little each window), so a NAS that got slower for good is followed. */
const FLOOR_DRIFT = 1.05;

/** Runs calls with at most `limit` in flight; `limit` may change while they run. */
export class CallGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limitNow: () => number) {}

  /** Resolves when a call may start; every `enter` is followed by one `leave`. */
  async enter(): Promise<void> {
    // A woken call looks again: the limit may have dropped while it waited.
    while (this.running >= this.limitNow()) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
  }

  leave(): void {
    this.running--;
    for (let free = this.limitNow() - this.running; free > 0 && this.waiting.length > 0; free--) {
      this.waiting.shift()!();
    }
  }
}

/**
 * The number of calls in flight to a disk with round trips, from the answers it measured. A window
 * is as many answers as calls were in flight; at its end the limit halves when the window's median
 * answer took more than CONGESTED_FACTOR × the quickest seen, and grows by one otherwise.
 */
export class RoundTripLimit {
  private current: number;
  private floorMs = Infinity;
  private window: number[] = [];

  constructor(private readonly max = NAS_MAX_IN_FLIGHT) {
    this.current = Math.min(max, NAS_FIRST_IN_FLIGHT);
  }

  get limit(): number {
    return this.current;
  }

  /** The quickest answer seen, in ms: about the round trip. */
  get roundTripMs(): number {
    return this.floorMs;
  }

  observe(ms: number): void {
    this.floorMs = Math.min(this.floorMs, ms);
    this.window.push(ms);
    if (this.window.length < this.current) {
      return;
    }
    const median = this.window.sort((a, b) => a - b)[this.window.length >> 1]!;
    this.window = [];
    if (median > CONGESTED_FACTOR * this.floorMs) {
      this.current = Math.max(1, this.current >> 1);
    } else if (this.current < this.max) {
      this.current++;
    }
    this.floorMs *= FLOOR_DRIFT;
  }
}
