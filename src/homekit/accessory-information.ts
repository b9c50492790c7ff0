/**
 * The Accessory Information every accessory of the plugin shows in the Home app's settings of it:
 * maker, model, the plugin's version as firmware, and a serial number of its own.
 */
import { readFileSync } from 'node:fs';
import type { API, PlatformAccessory } from 'homebridge';
import { PLUGIN_NAME } from '../settings.js';

/** package.json's version, read once: it sits two folders up from both src/homekit and dist/homekit. */
export const PLUGIN_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** HAP wants x.y.z; a pre-release tag (0.2.0-beta.1) would be refused as firmware. */
const firmwareRevision = (version: string) => /^\d+\.\d+\.\d+/.exec(version)?.[0] ?? '0.0.0';

/** The accessory's UUID comes from a fixed seed (the camera path for a Protect switch), so its serial is stable across restarts and renames. */
export const serialNumberOf = (accessory: PlatformAccessory) => `NVR-${accessory.UUID.replaceAll('-', '').slice(0, 12).toUpperCase()}`;

export function describeAccessory(api: API, accessory: PlatformAccessory, model: string): void {
  const { Service: S, Characteristic: C } = api.hap;
  accessory
    .getService(S.AccessoryInformation)!
    .setCharacteristic(C.Manufacturer, PLUGIN_NAME)
    .setCharacteristic(C.Model, model)
    .setCharacteristic(C.SerialNumber, serialNumberOf(accessory))
    .setCharacteristic(C.FirmwareRevision, firmwareRevision(PLUGIN_VERSION));
}
