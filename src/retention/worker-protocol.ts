/**
 * The messages between the engine's worker thread (worker.ts) and the side that holds it
 * (engine-worker.ts), as one table. A new operation is a row here and its handler in worker.ts;
 * the compiler checks both sides against the row.
 */
import type { RetentionConfig } from '../config/types.js';
import type { StatusReport } from './engine.js';
import type { Logger } from './logger.js';
import type { SweepProgress, SweepReport } from './report.js';

export interface WorkerOperations {
  sweep: { args: { dryRun?: boolean; trigger?: string; acceptMissing?: string[] }; result: SweepReport; progress: SweepProgress };
  scan: { args: { acceptMissing?: string[] }; result: { camera: string; available: boolean; reason?: string }[] };
  status: { args: Record<string, never>; result: StatusReport };
  /** The last real sweep run in the index, by whoever ran it (the CLI, the settings UI): cheap enough to ask every minute. */
  lastSweep: { args: Record<string, never>; result: { startedAt: number; finishedAt: number | null; status: string } | null };
  setProtectSwitch: { args: { camera: string; on: boolean }; result: number };
  setPaused: { args: { paused: boolean }; result: boolean };
  close: { args: Record<string, never>; result: null };
}

export type Operation = keyof WorkerOperations;
export type OperationArgs<K extends Operation> = WorkerOperations[K]['args'];
export type OperationResult<K extends Operation> = WorkerOperations[K]['result'];
export type OperationProgress<K extends Operation> = WorkerOperations[K] extends { progress: infer P } ? P : never;

/**
 * Operations answered at once, between a sweep's batches, instead of after the sweep: a Protect
 * switch must hold footage now, not after a long sweep. That is safe because the sweep holds no
 * transaction across an await and claims each batch afresh, so a recording protected meanwhile is
 * not deleted. Sweeps, scans and close run one at a time, in order.
 */
export const ANSWERED_AT_ONCE: ReadonlySet<Operation> = new Set<Operation>(['status', 'lastSweep', 'setProtectSwitch', 'setPaused']);

/** The error name a sweep that found the sweep lock held comes back with, so the caller can wait instead of failing. */
export const LOCK_HELD_ERROR = 'SweepLockHeldError';

export type WorkerRequest = { [K in Operation]: { id: number; op: K; args: OperationArgs<K> } }[Operation];

export type WorkerMessage =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'progress'; id: number; progress: unknown }
  | { type: 'log'; level: keyof Logger; message: string };

export interface WorkerInit {
  config: RetentionConfig;
  /** Where the index was last opened (see RetentionEngine), so a changed databasePath moves it. */
  locationFile?: string;
  /** One Int32: set to 1 by the parent to stop a sweep at its next safe point. */
  stopFlag: SharedArrayBuffer;
}
