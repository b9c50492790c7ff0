// Event-loop delay probe for scripts/measure-homebridge.js. Loaded into a process with
//   NODE_OPTIONS=--import=/abs/path/scripts/loop-probe.js LOOP_PROBE_FILE=/tmp/probe.jsonl
// it appends one JSON line {t, p50, p99, max, count} every 500 ms to LOOP_PROBE_FILE: t is the
// wall clock (Date.now()) at the end of the window, the figures are in ms for that window only
// (the histogram is reset after each line). Does nothing without LOOP_PROBE_FILE, and only in the
// main thread: --import is also run in worker threads, whose loops are not the one measured here.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.LOOP_PROBE_FILE;
const INTERVAL_MS = 500;

if (file && isMainThread) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const timer = setInterval(() => {
    const line = {
      t: Date.now(),
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      count: histogram.count,
    };
    histogram.reset();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // The measuring script may already have removed the folder; the probe never breaks its host.
    }
  }, INTERVAL_MS);
  timer.unref();
}
