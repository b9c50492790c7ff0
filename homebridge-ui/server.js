// The settings UI's server: the Homebridge UI forks this file (with an IPC channel) while the plugin's
// settings are open. It opens the same index as the Homebridge process through the engine; the
// handlers themselves are plain functions in src/ui/settings-ui.ts (built to dist/ui/).
import { HomebridgePluginUiServer } from '@homebridge/plugin-ui-utils';
import { SettingsUi } from '../dist/ui/settings-ui.js';

class NvrRetentionUiServer extends HomebridgePluginUiServer {
  constructor() {
    super();
    const ui = new SettingsUi({
      configPath: this.homebridgeConfigPath,
      storagePath: this.homebridgeStoragePath,
      push: (event, data) => this.pushEvent(event, data),
    });
    for (const [path, handler] of Object.entries(ui.handlers())) {
      this.onRequest(path, handler);
    }
    // Closing the settings disconnects the IPC channel, which makes the base class SIGTERM this
    // process: a sweep started here stops between two recordings, never between a file and its row.
    process.once('SIGTERM', () => {
      ui.shutdown().finally(() => process.exit(0));
    });
    this.ready();
  }
}

new NvrRetentionUiServer();
