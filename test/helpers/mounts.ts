/**
 * Real mounts for tests (a small tmpfs): they need root and mount(8). Where that is not possible the
 * tests that need them are skipped, and their titles say why.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from '@jest/globals';

/** Why real mounts cannot be used here, or undefined when they can. */
function mountProblem(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'mount tests need root (they mount tmpfs)';
  }
  const probe = fs.mkdtempSync(join(os.tmpdir(), 'nvr-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount is not permitted here (${stderr || (error as Error).message})`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

export const MOUNT_PROBLEM = mountProblem();

/** `test`, or `test.skip` with the reason in its title when mounts are not possible. */
export const mountTest = (title: string, body: () => Promise<void>) =>
  MOUNT_PROBLEM ? test.skip(`${title} [skipped: ${MOUNT_PROBLEM}]`, body) : test(title, body);

const mounted: string[] = [];

export function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  mounted.push(dir);
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  }
}

export function freeBytes(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}
