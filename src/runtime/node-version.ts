/**
 * The one Node.js check: the index needs `node:sqlite` (unflagged from 22.13). Homebridge 1.x still
 * runs on Node 20, where npm only warns at install, so the plugin entry and the command ask here
 * before they load anything that imports `node:sqlite`. This file imports nothing for that reason.
 */
export const MINIMUM_NODE = { major: 22, minor: 13 };

/** The one line a user sees on a Node that is too old, or undefined when this Node will do. */
export function unsupportedNodeMessage(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor)) {
    return undefined;
  }
  return (
    `homebridge-nvr-retention needs Node.js ${MINIMUM_NODE.major}.${MINIMUM_NODE.minor} or newer; this is ${version}; ` +
    'see the README: https://github.com/nvr-retention/homebridge-nvr-retention#install'
  );
}
