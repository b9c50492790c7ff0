/**
 * The `nvr-retention` command line that works for this install, for the settings page to show. The
 * Homebridge UI installs plugins into the storage folder (`npm install` there), so the command is
 * not on PATH: npm links it as `<storage>/node_modules/.bin/nvr-retention`. A global install links
 * it into `<prefix>/bin`. A linked checkout (the demo) has neither, so the command is run with this
 * Node. The config is named, so it works from any shell, not only the Homebridge UI's terminal.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const COMMAND = 'nvr-retention';

/** Quotes a path for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function isLinkTo(link: string, target: string): boolean {
  try {
    return realpathSync(link) === realpathSync(target);
  } catch {
    return false;
  }
}

/** How to start the command: npm's link to it when there is one, else this Node with the command's file. */
export function commandPath(packageRoot: string, nodePath: string = process.execPath): string {
  const binFile = join(packageRoot, 'dist', 'cli', 'bin.js');
  const modules = dirname(packageRoot);
  if (basename(modules) === 'node_modules') {
    const links = [join(modules, '.bin', COMMAND), join(dirname(dirname(modules)), 'bin', COMMAND)];
    const link = links.find((candidate) => existsSync(candidate) && isLinkTo(candidate, binFile));
    if (link) {
      return shellWord(link);
    }
  }
  return `${shellWord(nodePath)} ${shellWord(binFile)}`;
}

/** The dry run the settings page suggests, with this install's command and config. */
export function dryRunCommand(packageRoot: string, configPath: string, nodePath?: string): string {
  return `${commandPath(packageRoot, nodePath)} sweep --dry-run --config ${shellWord(configPath)}`;
}
