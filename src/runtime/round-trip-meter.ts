/**
 * Whether calls made one after another take a network's round trip: the one rule the scan
 * (catalog/look-ahead.ts) and the deleter (retention/deletion/file-deleter.ts) use to tell a NAS
 * from a local disk.
 *
 * It goes by the quickest of the last few calls, not their average: a round trip is a floor that
 * every call over a network pays, while a local call of microseconds only looks slow when the
 * process was descheduled during it (a busy machine, a GC pause). An average let one such pause
 * turn a local disk into a "network" for the rest of the sweep.
 */

/** A call that takes this long even at its quickest is a network round trip (a local one takes microseconds). */
export const ROUND_TRIP_MS = 0.5;
/** The quickest of this many recent calls decides. */
const WINDOW = 8;

export class RoundTripMeter {
  private readonly recent: number[] = [];
  private next = 0;
  private quickest = Infinity;

  observe(ms: number): void {
    if (this.recent.length < WINDOW) {
      this.recent.push(ms);
    } else {
      this.recent[this.next] = ms;
    }
    this.next = (this.next + 1) % WINDOW;
    this.quickest = Math.min(...this.recent);
  }

  /** The quickest of the recent calls, or undefined before the first. */
  get quickestMs(): number | undefined {
    return this.recent.length === 0 ? undefined : this.quickest;
  }

  /** Whether even the quickest of the recent calls took a round trip; false before the first call. */
  get overNetwork(): boolean {
    return this.recent.length > 0 && this.quickest >= ROUND_TRIP_MS;
  }
}
