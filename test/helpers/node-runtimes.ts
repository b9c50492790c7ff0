/**
 * The other Node.js binaries some tests run the built plugin on, as users have them: an old one
 * without `node:sqlite` (Homebridge 1.x still runs on Node 20; this machine's /usr/bin/node is 20),
 * and Node 22, the one that prints SQLite's ExperimentalWarning. Node 22 comes from the npm
 * registry's `node` package into the same cache as .ci/run uses, once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function versionOf(node: string): string {
  return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
}

/** A Node older than 22.13: NVR_OLD_NODE, or /usr/bin/node (Node 20 on CI machines). */
export function oldNode(): { path: string; version: string } {
  const path = process.env.NVR_OLD_NODE ?? '/usr/bin/node';
  const version = versionOf(path);
  const [major, minor] = version.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 13)) {
    throw new Error(`${path} is Node ${version}; this test needs one older than 22.13 (set NVR_OLD_NODE to one)`);
  }
  return { path, version };
}

/** Node 22: this one when the tests run on it, else the CI cache's, installed there if missing. */
export function node22(): string {
  if (process.versions.node.startsWith('22.')) {
    return process.execPath;
  }
  const prefix = join(process.env.NVR_CI_CACHE ?? join(homedir(), '.cache', 'nvr-retention-ci'), 'node22');
  const node = join(prefix, 'node_modules', '.bin', 'node');
  if (!existsSync(node)) {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', 'node@22'], { stdio: 'ignore' });
  }
  if (!versionOf(node).startsWith('22.')) {
    throw new Error(`${node} is not Node 22`);
  }
  return node;
}
