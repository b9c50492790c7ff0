// The settings UI's server: the Homebridge UI forks this file (with an IPC channel) while the plugin's
// settings are open. It opens the same index as the Homebridge process through the engine; the
// handlers themselves are plain functions in src/ui/settings-ui.ts (built to dist/ui/).
import { HomebridgePluginUiServer } from '@homebridge/plugin-ui-utils';
import { silenceSqliteWarning } from '../dist/runtime/sqlite-warning.js';

// Node 22 warns about SQLite as the engine's modules are linked: drop that one warning first, then load them.
silenceSqliteWarning();
const { SettingsUi } = await import('../dist/ui/settings-ui.js');

class NvrRetentionUiServer extends HomebridgePluginUiServer {
  constructor() {
    super();
    const ui = new SettingsUi({
      configPath: this.homebridgeConfigPath,
      storagePath: this.homebridgeStoragePath,
      // Closing the settings disconnects the channel while a sweep may still push progress: a send
      // on a closed channel is an uncaught error that would end this process before the sweep stops.
      log: (line) => console.log(line),
      push: (event, data) => {
        if (process.connected) {
          this.pushEvent(event, data);
        }
      },
    });
    for (const [path, handler] of Object.entries(ui.handlers())) {
      this.onRequest(path, handler);
    }
    // A send racing the close of the channel fails with EPIPE (or ERR_IPC_CHANNEL_CLOSED), emitted on
    // `process`: unhandled, it would end this process in the middle of a sweep instead of at a safe point.
    process.on('error', (error) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_IPC_CHANNEL_CLOSED') {
        console.error(`NVR Retention settings: ${error.message}`);
      }
    });
    // Closing the settings disconnects the IPC channel, which makes the base class SIGTERM this
    // process: a sweep started here stops between two recordings, never between a file and its row.
    process.once('SIGTERM', () => {
      ui.shutdown().finally(() => process.exit(0));
    });
    this.ready();
  }
}

new NvrRetentionUiServer();
