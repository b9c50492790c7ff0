/**
 * The setting of the safety tests (test/safety-*.test.ts): a tmpfs (when root) holding a Homebridge
 * storage folder and a camera folder, the real CLI run against it, and long-lived engine children.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EngineChild } from './child.js';
import { DAY_MS, setAge } from './tree.js';

const CLI = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin['nvr-retention']);
export const isRoot = process.getuid?.() === 0;

export interface SafetySandbox {
  root: string;
  storage: string;
  front: string;
  /** A file whose creation lets a gated child sweep go on after its first batch. */
  gate: string;
  index: string;
  journal: string;
  /** `count` old recordings of camera Front, oldest first by name, 500 per dated folder. */
  oldFiles(count: number): string[];
  /** Writes a config file holding just the block (camera Front, plus `block`); returns its path. */
  config(name: string, block?: Record<string, unknown>): string;
  cli(configFile: string, ...args: string[]): { code: number; stdout: string; stderr: string };
  child(configFile: string, options?: { gate?: string; prefix?: string[] }): EngineChild;
  remove(): Promise<void>;
}

export function safetySandbox(prefix: string): SafetySandbox {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-`));
  if (isRoot) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', root]);
  }
  const storage = join(root, 'storage');
  const front = join(root, 'cams', 'front');
  mkdirSync(storage, { recursive: true });
  mkdirSync(front, { recursive: true });
  const children: EngineChild[] = [];
  const index = join(storage, 'nvr-retention', 'index.db');
  return {
    root,
    storage,
    front,
    gate: join(root, 'gate'),
    index,
    journal: `${index}.holds.jsonl`,
    oldFiles(count) {
      const paths: string[] = [];
      for (let i = 0; i < count; i++) {
        const day = `d${String(Math.floor(i / 500)).padStart(3, '0')}`;
        const path = join(front, day, `r${String(i).padStart(6, '0')}.mp4`);
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, 'x');
        setAge(path, 30 * DAY_MS + (count - i) * 1000);
        paths.push(path);
      }
      return paths;
    },
    config(name, block = {}) {
      const file = join(storage, name);
      writeFileSync(file, JSON.stringify({ cameras: [{ name: 'Front', path: front, retentionDays: 7 }], ...block }));
      return file;
    },
    cli(configFile, ...args) {
      const result = spawnSync(process.execPath, [CLI, ...args, '--config', configFile, '--storage', storage], { encoding: 'utf8' });
      return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    child(configFile, options = {}) {
      const started = new EngineChild(configFile, storage, options);
      children.push(started);
      return started;
    },
    async remove() {
      for (const child of children.splice(0)) {
        await child.kill().catch(() => undefined);
      }
      if (isRoot) {
        execFileSync('umount', ['-l', root]);
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
