/**
 * Real recording trees in temporary folders, for the catalog and sweep tests. Everything here
 * touches the real filesystem: ages are real mtimes (set with utimes), sizes are real bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { afterEach, beforeEach } from '@jest/globals';
import { parsePlatformConfigStrict } from '../../src/config/schema.js';
import type { RetentionConfig } from '../../src/config/types.js';
import { RetentionEngine } from '../../src/retention/engine.js';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A pair of temporary folders: `root` for camera folders, `storage` (elsewhere) for Homebridge's storage and the index. */
export interface Sandbox {
  root: string;
  storage: string;
  databasePath: string;
  /** Removes both folders. */
  remove(): void;
}

export function makeSandbox(prefix: string): Sandbox {
  const root = fs.mkdtempSync(join(os.tmpdir(), `${prefix}-tree-`));
  const storage = fs.mkdtempSync(join(os.tmpdir(), `${prefix}-storage-`));
  return {
    root,
    storage,
    databasePath: join(storage, 'index.db'),
    remove() {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}

/** Where a test's folders are: what buildConfig and the tests read from a sandbox, without the means to remove it. */
export type SandboxFolders = Pick<Sandbox, 'root' | 'storage' | 'databasePath'>;

export interface SandboxInUse extends SandboxFolders {
  /** A RetentionEngine on `config` that is closed after the test if the test has not closed it. */
  engine(config: RetentionConfig, options?: ConstructorParameters<typeof RetentionEngine>[1]): RetentionEngine;
  /** Closes an engine made by `engine()` now (to open the same index again within the test). */
  close(engine: RetentionEngine): void;
}

export interface UseSandboxOptions {
  /** Create the named folders before each test (default true); false when a test file writes them itself. */
  createFolders?: boolean;
  /** Runs after the engines are closed and before the folders are removed: the place to unmount what a test mounted there. */
  beforeRemove?: () => void;
}

/**
 * A fresh sandbox for every test of the file (or describe block) that calls it: registers a
 * beforeEach that makes it and creates `folders` (the camera folders) below its root, and an
 * afterEach that closes the engines made through it and removes it. The handle reads the current
 * test's sandbox, so it can be kept in a module-level const; each folder is a property by its name
 * (`useSandbox('nvr-sweep', ['front']).front`).
 */
export function useSandbox<const Folder extends string>(
  prefix: string,
  folders: readonly Folder[],
  options: UseSandboxOptions = {},
): SandboxInUse & Readonly<Record<Folder, string>> {
  let current: Sandbox | undefined;
  const engines: RetentionEngine[] = [];
  const live = (): Sandbox => {
    if (!current) {
      throw new Error(`the '${prefix}' sandbox exists only while a test runs (useSandbox makes it in beforeEach)`);
    }
    return current;
  };
  const handle: SandboxInUse = {
    get root() {
      return live().root;
    },
    get storage() {
      return live().storage;
    },
    get databasePath() {
      return live().databasePath;
    },
    engine(config, engineOptions) {
      const engine = new RetentionEngine(config, engineOptions);
      engines.push(engine);
      return engine;
    },
    close(engine) {
      engine.close();
      engines.splice(engines.indexOf(engine), 1);
    },
  };
  for (const folder of folders) {
    Object.defineProperty(handle, folder, { enumerable: true, get: () => join(live().root, folder) });
  }
  beforeEach(() => {
    current = makeSandbox(prefix);
    if (options.createFolders ?? true) {
      for (const folder of folders) {
        fs.mkdirSync(join(current.root, folder));
      }
    }
  });
  afterEach(() => {
    // Every step runs even when one before it throws (an engine that cannot close would otherwise
    // leave a mount behind), and the first error is the one reported.
    const errors: unknown[] = [];
    const attempt = (step: () => void) => {
      try {
        step();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const engine of engines.splice(0)) {
      attempt(() => engine.close());
    }
    attempt(() => options.beforeRemove?.());
    attempt(() => current?.remove());
    current = undefined;
    if (errors.length > 0) {
      throw errors[0];
    }
  });
  // The folder properties were defined just above, one per name in `folders`.
  return handle as SandboxInUse & Readonly<Record<Folder, string>>;
}

/** Sets a path's mtime (and atime) to `ageMs` before now; a negative age is in the future. Links are not followed. */
export function setAge(path: string, ageMs: number): void {
  const when = new Date(Date.now() - ageMs);
  fs.lutimesSync(path, when, when);
}

export interface RecordingSpec {
  /** Age of the recording's end time (its mtime). Default: 10 days. */
  ageMs?: number;
  /** Bytes of the recording file itself. Default: 1000. */
  size?: number;
  /**
   * Sidecar files beside it, by the part after the base name (`json`, `srt`, `thumb.jpg`), with
   * their content: a byte count, a string, or an object written as JSON.
   */
  sidecars?: Record<string, number | string | object>;
}

/**
 * Writes a recording and its sidecars at `relPath` below `cameraDir` (folders are created) and
 * gives them all the same age. Returns the absolute path of the recording.
 */
export function writeRecording(cameraDir: string, relPath: string, spec: RecordingSpec = {}): string {
  const path = join(cameraDir, relPath);
  fs.mkdirSync(dirname(path), { recursive: true });
  fs.writeFileSync(path, Buffer.alloc(spec.size ?? 1000, 1));
  const base = path.slice(0, path.lastIndexOf('.'));
  const written = [path];
  for (const [suffix, content] of Object.entries(spec.sidecars ?? {})) {
    const sidecar = `${base}.${suffix}`;
    const data = typeof content === 'number' ? Buffer.alloc(content, 2) : typeof content === 'string' ? content : JSON.stringify(content);
    fs.writeFileSync(sidecar, data);
    written.push(sidecar);
  }
  for (const file of written) {
    setAge(file, spec.ageMs ?? 10 * DAY_MS);
  }
  return path;
}

/** The total bytes a recording spec puts on disk (file plus sidecars), as the index should count it. */
export function bytesOf(spec: RecordingSpec): number {
  let total = spec.size ?? 1000;
  for (const content of Object.values(spec.sidecars ?? {})) {
    total += typeof content === 'number' ? content : Buffer.byteLength(typeof content === 'string' ? content : JSON.stringify(content));
  }
  return total;
}

/**
 * Backdates every folder from `dir` down (dir included) so that a scan sees them as settled.
 * Folders touched within the last seconds are read again by every scan on purpose (their mtime
 * may still move within the same tick), so tests of the "unchanged tree" shortcut need this.
 */
export function settleFolders(dir: string, ageMs = HOUR_MS): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      settleFolders(join(dir, entry.name), ageMs);
    }
  }
  setAge(dir, ageMs);
}

/** Every non-folder entry below `dir` (links and special files included, links not followed), as sorted '/'-separated relative paths. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const visit = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        visit(path);
      } else {
        out.push(relative(dir, path).split(sep).join('/'));
      }
    }
  };
  visit(dir);
  return out.sort();
}

/** Every folder below `dir` (not `dir` itself), as sorted relative paths. */
export function foldersBelow(dir: string): string[] {
  const out: string[] = [];
  const visit = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        out.push(relative(dir, join(folder, entry.name)).split(sep).join('/'));
        visit(join(folder, entry.name));
      }
    }
  };
  visit(dir);
  return out.sort();
}

export interface CameraInput {
  name: string;
  path: string;
  retentionDays?: number;
  [field: string]: unknown;
}

/**
 * A validated config, defaults applied, with the index in the sandbox's storage folder. Cameras
 * default to a 7-day retention; `settings` holds platform fields (minAgeSeconds, maxTotalGB, ...).
 */
export function buildConfig(
  sandbox: Pick<Sandbox, 'storage' | 'databasePath'>,
  cameras: CameraInput[],
  settings: Record<string, unknown> = {},
): RetentionConfig {
  return parsePlatformConfigStrict(
    {
      platform: 'NvrRetention',
      cameras: cameras.map((camera) => ({ retentionDays: 7, ...camera })),
      databasePath: sandbox.databasePath,
      ...settings,
    },
    { storagePath: sandbox.storage },
  );
}
