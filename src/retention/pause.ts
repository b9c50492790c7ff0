/**
 * The Pause switch's state (rules §3.11): kept in the index, so that the Homebridge process, the CLI
 * and the settings UI all honour it. While paused only the free-space floor deletes.
 */
import type { Store } from '../store/store.js';

const PAUSED_KEY = 'paused';

export function isPaused(store: Store): boolean {
  return store.getState(PAUSED_KEY) === 'true';
}

export function setPaused(store: Store, paused: boolean): void {
  store.setState(PAUSED_KEY, String(paused));
}
