/**
 * Issue 15: how many calls the deletions keep in flight over a network, and in what order the
 * files go. Pure decisions, tested with the answer times a NAS gives (the NAS itself is in
 * nas.test.ts): the limit follows the round trip, halves when answers queue, never passes its cap;
 * the gate never lets more calls run than the limit of the moment; files go one folder after
 * another in turn, each folder's in its own order.
 */
import { describe, expect, test } from '@jest/globals';
import { CallGate, NAS_MAX_IN_FLIGHT, RoundTripLimit } from '../src/retention/deletion/concurrency.js';
import { inTurnByFolder } from '../src/runtime/folder-order.js';
import { RoundTripMeter } from '../src/runtime/round-trip-meter.js';

/** Feeds `limit` a window of answers, each taking `ms`: as many answers as calls were in flight. */
function window(limit: RoundTripLimit, ms: number): void {
  for (let i = limit.limit; i > 0; i--) {
    limit.observe(ms);
  }
}

describe('the calls in flight to a NAS', () => {
  test('answers at the round trip let it grow one a window, up to the cap of 32 and no further', () => {
    const limit = new RoundTripLimit();
    expect(limit.limit).toBe(16);
    const seen: number[] = [];
    for (let w = 0; w < 40; w++) {
      window(limit, 1 + (w % 3) * 0.5);
      seen.push(limit.limit);
    }
    expect(seen.slice(0, 3)).toEqual([17, 18, 19]);
    expect(Math.max(...seen)).toBe(NAS_MAX_IN_FLIGHT);
    expect(limit.limit).toBe(32);
    expect(limit.roundTripMs).toBeGreaterThanOrEqual(1);
  });

  test('answers far slower than the round trip (the NAS queues them, or one folder serialises them) halve it, down to one', () => {
    const limit = new RoundTripLimit();
    window(limit, 1);
    expect(limit.limit).toBe(17);
    window(limit, 20);
    expect(limit.limit).toBe(8);
    for (let w = 0; w < 10; w++) {
      window(limit, 20);
    }
    // The floor drifts up a little each window, so one answer time held for long reads as the new round trip.
    expect(limit.limit).toBeGreaterThanOrEqual(1);
    expect(limit.limit).toBeLessThan(8);
  });

  test('a NAS that got slower for good is followed: the limit grows again at the new round trip', () => {
    const limit = new RoundTripLimit();
    window(limit, 1);
    const low = (() => {
      for (let w = 0; w < 3; w++) {
        window(limit, 30);
      }
      return limit.limit;
    })();
    for (let w = 0; w < 200; w++) {
      window(limit, 30);
    }
    expect(limit.limit).toBeGreaterThan(low);
  });

  test('a cap below 32 (a small thread pool) is never passed', () => {
    const limit = new RoundTripLimit(8);
    expect(limit.limit).toBe(8);
    for (let w = 0; w < 20; w++) {
      window(limit, 1);
    }
    expect(limit.limit).toBe(8);
  });
});

describe('the gate', () => {
  test('never runs more calls at once than the limit of the moment, and lets waiting calls in when it rises', async () => {
    let limit = 3;
    const gate = new CallGate(() => limit);
    let running = 0;
    let most = 0;
    const mostWhile: number[] = [];
    const call = async (i: number) => {
      await gate.enter();
      running++;
      most = Math.max(most, running);
      await new Promise((done) => setTimeout(done, 2));
      if (i === 5) {
        mostWhile.push(most);
        limit = 1;
        most = 0;
      }
      if (i === 25) {
        mostWhile.push(most);
        limit = 6;
        most = 0;
      }
      running--;
      gate.leave();
    };
    await Promise.all(Array.from({ length: 60 }, (_, i) => call(i)));
    mostWhile.push(most);
    expect(mostWhile[0]).toBe(3);
    // Once lowered, the calls already running finish, and the next ones start one at a time.
    expect(mostWhile[1]).toBe(1);
    expect(most).toBe(6);
    expect(running).toBe(0);
  });
});

describe('the order of the files over a network', () => {
  test('one folder after another in turn, each folder in its own order, every file once', () => {
    const folders = ['a', 'a', 'a', 'b', 'c', 'c', 'a', 'b'];
    const order = inTurnByFolder(folders);
    expect(order).toEqual([0, 3, 4, 1, 7, 5, 2, 6]);
    expect([...order].sort((x, y) => x - y)).toEqual(folders.map((_, i) => i));
  });

  test('a batch all in one folder keeps its order; an empty one has none', () => {
    expect(inTurnByFolder(['x', 'x', 'x'])).toEqual([0, 1, 2]);
    expect(inTurnByFolder([])).toEqual([]);
  });
});

describe('telling a network from a local disk by the time calls take', () => {
  test('calls of microseconds with a pause among them are a local disk; calls that all take a round trip are a network', () => {
    const local = new RoundTripMeter();
    expect(local.quickestMs).toBeUndefined();
    expect(local.overNetwork).toBe(false);
    for (const ms of [0.004, 0.005, 12, 0.004, 30, 0.006, 8, 0.005, 25]) {
      local.observe(ms);
    }
    expect(local.overNetwork).toBe(false);
    expect(local.quickestMs).toBe(0.004);

    const nas = new RoundTripMeter();
    for (const ms of [1.1, 0.95, 14, 1.3, 1.0]) {
      nas.observe(ms);
    }
    expect(nas.overNetwork).toBe(true);
    expect(nas.quickestMs).toBe(0.95);
  });

  test('only the last few calls count: a disk that gets quick, or slow, is seen as it is now', () => {
    const meter = new RoundTripMeter();
    for (let i = 0; i < 20; i++) {
      meter.observe(1.2);
    }
    expect(meter.overNetwork).toBe(true);
    meter.observe(0.01);
    expect(meter.overNetwork).toBe(false);
    for (let i = 0; i < 8; i++) {
      meter.observe(2);
    }
    expect(meter.overNetwork).toBe(true);
  });
});
