/**
 * The engine's public surface. The Homebridge platform registration joins this file when the
 * platform lands; until then the package is usable as the `nvr-retention` CLI and as a library.
 */
export { parsePlatformConfig, parsePlatformConfigStrict, ConfigError } from './config/schema.js';
export type { CameraConfig, RetentionConfig } from './config/types.js';
export { RetentionEngine } from './retention/engine.js';
export type { SweepReport } from './retention/sweep.js';
export { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';
