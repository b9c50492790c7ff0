/** What every step of the engine works with: the index, the config, the disks and the log. */
import type { RetentionConfig } from '../config/types.js';
import type { RetentionEvent, Store } from '../store/store.js';
import type { DiskProbe } from './disk.js';
import type { Logger } from './logger.js';

export interface EngineContext {
  store: Store;
  config: RetentionConfig;
  disk: DiskProbe;
  log: Logger;
}

/** Logs an event and, outside a dry run, keeps it in the event log (rules §6). */
export type Raise = (event: RetentionEvent) => void;
