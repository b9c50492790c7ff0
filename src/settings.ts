/** The platform name users put in config.json; must equal `pluginAlias` in config.schema.json. */
export const PLATFORM_NAME = 'NvrRetention';

/** Must match the `name` in package.json. */
export const PLUGIN_NAME = 'homebridge-nvr-retention';
