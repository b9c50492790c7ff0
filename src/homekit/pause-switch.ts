import type { API, Logging, PlatformAccessory } from 'homebridge';
import { EngineSwitch } from './engine-switch.js';

export const PAUSE_SWITCH_NAME = 'Pause Retention';
export const PAUSE_UUID_SEED = 'homebridge-nvr-retention:pause';

/**
 * The optional "Pause Retention" switch. While on, sweeps delete nothing by age, quota or cap; the
 * free-space floor still applies, because a full disk stops recording. The state lives in the index,
 * so it survives restarts and the CLI honours it too.
 */
export function pauseSwitch(
  api: API,
  accessory: PlatformAccessory,
  log: Logging,
  setPaused: (paused: boolean) => Promise<boolean>,
): EngineSwitch {
  return new EngineSwitch(api, accessory, log, {
    name: PAUSE_SWITCH_NAME,
    model: 'Pause switch',
    apply: async (on) => {
      await setPaused(on);
      return on
        ? 'Retention paused: deletions by age, quota and cap wait; the free-space floor still applies, because a full disk stops recording.'
        : 'Retention resumed: the next sweep applies every rule again.';
    },
  });
}
