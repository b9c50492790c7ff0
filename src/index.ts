/**
 * The package entry: Homebridge calls the default export to register the platform; the named
 * exports are the engine's public surface for the CLI and for library use.
 *
 * Everything that imports `node:sqlite` is imported dynamically, after the Node check: a static
 * import fails while Node links this module ("No such built-in module: node:sqlite" on Node 20),
 * before any line here could run, and Homebridge would log that with a stack trace. Homebridge
 * awaits `import()` of the entry, so the top-level await below finishes before it calls the default
 * export.
 */
import type { API } from 'homebridge';
import { unsupportedNodeMessage } from './runtime/node-version.js';
import { silenceSqliteWarning } from './runtime/sqlite-warning.js';
import { PLATFORM_NAME } from './settings.js';

export { parsePlatformConfig, parsePlatformConfigStrict, ConfigError } from './config/schema.js';
export type { CameraConfig, RetentionConfig } from './config/types.js';
export type { SweepReport } from './retention/report.js';
export { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';

const unsupported = unsupportedNodeMessage();
if (!unsupported) {
  silenceSqliteWarning();
}

/** On a Node without `node:sqlite`: a stand-in that says why, if a library user constructs it. */
function needsNewerNode(): never {
  throw new Error(unsupported);
}

const engine = unsupported ? undefined : await import('./retention/engine.js');
const platform = unsupported ? undefined : await import('./platform.js');

export const RetentionEngine = (engine?.RetentionEngine ?? needsNewerNode) as typeof import('./retention/engine.js').RetentionEngine;
export type RetentionEngine = import('./retention/engine.js').RetentionEngine;
export const NvrRetentionPlatform = (platform?.NvrRetentionPlatform ??
  needsNewerNode) as typeof import('./platform.js').NvrRetentionPlatform;
export type NvrRetentionPlatform = import('./platform.js').NvrRetentionPlatform;

export default (api: API): void => {
  if (unsupported) {
    // Homebridge gives a plugin no logger before its platform starts: this line is shaped like its own.
    console.error(`[${new Date().toLocaleString()}] [${PLATFORM_NAME}] ${unsupported}`);
    return;
  }
  api.registerPlatform(PLATFORM_NAME, platform!.NvrRetentionPlatform);
};
