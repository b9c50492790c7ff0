import type { API, Logging, PlatformAccessory } from 'homebridge';
import type { CameraConfig } from '../config/types.js';
import { plural } from '../retention/format.js';
import { EngineSwitch } from './engine-switch.js';

/** The camera path, not its name, identifies the switch: a renamed camera keeps its switch and its state. */
export const protectSwitchSeed = (camera: CameraConfig) => `homebridge-nvr-retention:protect:${camera.indexKey}`;
export const protectSwitchName = (camera: CameraConfig) => `Protect ${camera.name}`;

/** A "Protect <camera>" switch (rules §5): on holds recent footage, off releases only its own holds. */
export function protectSwitch(
  api: API,
  accessory: PlatformAccessory,
  camera: CameraConfig,
  log: Logging,
  setProtectSwitch: (camera: string, on: boolean) => Promise<number>,
): EngineSwitch {
  return new EngineSwitch(api, accessory, log, {
    name: protectSwitchName(camera),
    model: 'Protect switch',
    apply: async (on) => {
      const count = await setProtectSwitch(camera.name, on);
      return on
        ? `[${camera.name}] Protect switch on: ${plural(count, 'recording')} protected`
        : `[${camera.name}] Protect switch off: ${plural(count, 'hold')} released`;
    },
  });
}
