/**
 * The package entry: Homebridge calls the default export to register the platform; the named
 * exports are the engine's public surface for the CLI and for library use.
 */
import type { API } from 'homebridge';
import { NvrRetentionPlatform } from './platform.js';
import { PLATFORM_NAME } from './settings.js';

export { parsePlatformConfig, parsePlatformConfigStrict, ConfigError } from './config/schema.js';
export type { CameraConfig, RetentionConfig } from './config/types.js';
export { RetentionEngine } from './retention/engine.js';
export type { SweepReport } from './retention/report.js';
export { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';
export { NvrRetentionPlatform } from './platform.js';

export default (api: API): void => {
  api.registerPlatform(PLATFORM_NAME, NvrRetentionPlatform);
};
