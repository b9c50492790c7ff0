#!/usr/bin/env node
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, parsePlatformConfigStrict } from '../config/schema.js';
import type { RetentionConfig } from '../config/types.js';
import { PLATFORM_NAME } from '../settings.js';
import { ExportDestinationError, RecordingNotFoundError, RetentionEngine } from '../retention/engine.js';
import { formatBytes, plural, printablePath } from '../retention/format.js';
import { SweepLockHeldError } from '../store/lock.js';
import { locationFileIn } from '../store/recover.js';
import type { Logger } from '../retention/logger.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: nvr-retention <command> [options]

Commands:
  scan [--accept-missing CAMERA]...      index the camera folders now
  sweep [--dry-run]                      scan, then delete what retention says (or only show it)
  status                                 recordings, protection and free space per camera
  list [--camera NAME] [--class event|continuous] [--protected]
       [--since ISO] [--until ISO] [--limit N] [--offset N]
                                         recordings, newest first, one page at a time
  export PATH... --to DIR                copy recordings out (the originals stay)
  protect PATH... [--until ISO]          hold recordings (until a date, or for good)
  protect --camera NAME --hours N        hold a camera's last N hours
  unprotect PATH...                      release holds made on these recordings

Options:
  --config FILE    Homebridge config.json, or a file with just the NvrRetention block
                   (default: $UIX_CONFIG_PATH, $UIX_STORAGE_PATH/config.json,
                   /var/lib/homebridge/config.json, then ~/.homebridge/config.json)
  --storage DIR    the Homebridge storage folder (default: $UIX_STORAGE_PATH with a found
                   config, else the config file's folder)
  --json           print one JSON object instead of text
  --verbose        debug detail
  --help           this text

Exit codes: 0 done, 1 failed, 2 bad usage or bad config.`;

class UsageError extends Error {}

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd: string;
}

const OPTIONS = {
  config: { type: 'string' },
  storage: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'accept-missing': { type: 'string', multiple: true },
  camera: { type: 'string', multiple: true },
  class: { type: 'string' },
  protected: { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  to: { type: 'string' },
  hours: { type: 'string' },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Runs one CLI command; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const [command, ...args] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }

  let engine: RetentionEngine | undefined;
  try {
    const found = values.config === undefined ? findConfig() : undefined;
    if (found) {
      // Standard error, so that --json output stays one object: which config, and why that one.
      io.err(`Config: ${found.file} (${found.why}; --config FILE to choose another)`);
      values = { ...values, config: found.file, storage: values.storage ?? found.storage };
    }
    const config = loadConfig(values, io.cwd);
    const log = cliLogger(io, values);
    // For support: how this Node was started (the command adds a small young generation, see bin.ts).
    log.debug(
      `Node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'}, NODE_OPTIONS: ${process.env.NODE_OPTIONS || 'none'}, thread pool: ${process.env.UV_THREADPOOL_SIZE ?? 'default'}`,
    );
    // The same location file as the Homebridge process: a CLI run after databasePath changed moves the index too.
    // No quick_check at open: cron runs the CLI often, and damage met while reading is handled anyway.
    engine = new RetentionEngine(config, { log, locationFile: locationFileIn(storageFolder(values, io.cwd)), quickCheck: false });
    return await runCommand(engine, command, args, values, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`Bad config:\n${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof SweepLockHeldError || error instanceof RecordingNotFoundError || error instanceof ExportDestinationError) {
      io.err(error.message);
      return EXIT_FAILED;
    }
    io.err(`Failed: ${(error as Error).message}`);
    return EXIT_FAILED;
  } finally {
    engine?.close();
  }
}

function cliLogger(io: CliIO, values: Values): Logger {
  // With --json, standard output holds only the JSON object; everything else goes to stderr.
  const info = values.json ? io.err : io.out;
  return {
    info,
    warn: (message) => io.err(`Warning: ${message}`),
    error: (message) => io.err(`Error: ${message}`),
    debug: (message) => {
      if (values.verbose) {
        io.err(message);
      }
    },
  };
}

/** Reads a Homebridge config.json (taking its NvrRetention block) or a file holding just the block. */
export function loadConfig(values: { config?: string; storage?: string }, cwd: string): RetentionConfig {
  const file = configFile(values, cwd);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(error as Error).message}` }]);
  }
  let block = raw;
  const platforms = (raw as { platforms?: unknown })?.platforms;
  if (Array.isArray(platforms)) {
    block = platforms.find((platform) => (platform as { platform?: unknown })?.platform === PLATFORM_NAME);
    if (!block) {
      throw new ConfigError([{ path: '', message: `${file} has no "${PLATFORM_NAME}" platform block` }]);
    }
  }
  return parsePlatformConfigStrict(block, { storagePath: storageFolder(values, cwd) });
}

function configFile(values: { config?: string }, cwd: string): string {
  return resolve(cwd, values.config ?? findConfig().file);
}

/** Where hb-service keeps the storage folder on Linux (the Homebridge apt package and `hb-service install`). */
export const SERVICE_STORAGE = '/var/lib/homebridge';

/**
 * The config a Homebridge user has, without --config: the Homebridge UI sets UIX_CONFIG_PATH and
 * UIX_STORAGE_PATH for Homebridge and for its terminal (homebridge-config-ui-x, hb-service.js), so
 * those come first; then hb-service's folder on Linux; then Homebridge's own default. The first that
 * exists wins; with none, the last (whose "cannot read" error then names it).
 */
export function findConfig(
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
  serviceStorage = SERVICE_STORAGE,
): { file: string; storage?: string; why: string } {
  const candidates: { file: string; storage?: string; why: string }[] = [];
  if (env.UIX_CONFIG_PATH) {
    candidates.push({ file: env.UIX_CONFIG_PATH, storage: env.UIX_STORAGE_PATH || undefined, why: 'from UIX_CONFIG_PATH' });
  }
  if (env.UIX_STORAGE_PATH) {
    candidates.push({ file: join(env.UIX_STORAGE_PATH, 'config.json'), storage: env.UIX_STORAGE_PATH, why: 'from UIX_STORAGE_PATH' });
  }
  candidates.push({ file: join(serviceStorage, 'config.json'), why: "hb-service's storage folder" });
  candidates.push({ file: join(home, '.homebridge', 'config.json'), why: "Homebridge's default storage folder" });
  // The list always ends with the default storage folder.
  const last = candidates[candidates.length - 1]!;
  return (
    candidates.find((candidate) => existsSync(candidate.file)) ?? {
      ...last,
      why: `none found: looked for ${candidates.map((candidate) => candidate.file).join(', ')}`,
    }
  );
}

/** Homebridge's storage folder: --storage, or the folder of the config file. */
function storageFolder(values: { config?: string; storage?: string }, cwd: string): string {
  return resolve(cwd, values.storage ?? dirname(configFile(values, cwd)));
}

/**
 * `status` and `list` only read: they show the index as the last scan or sweep left it (and free
 * space as it is now) and never take the sweep lock, so that they never make a sweep that starts
 * meanwhile, in Homebridge or elsewhere, find the lock held (rules §3.9, §13).
 */
async function runCommand(engine: RetentionEngine, command: string, args: string[], values: Values, io: CliIO): Promise<number> {
  const print = (json: unknown, text: () => string) => io.out(values.json ? JSON.stringify(json, null, 2) : text());
  switch (command) {
    case 'scan': {
      const unknown = (values['accept-missing'] ?? []).filter((name) => !engine.cameraByName(name));
      if (unknown.length) {
        throw new UsageError(`--accept-missing: no camera named ${unknown.map((name) => `"${name}"`).join(', ')}`);
      }
      const results = await engine.scanAhead({ acceptMissing: values['accept-missing'] });
      const cameras = results.map((r) => ({
        name: r.camera.name,
        available: r.available,
        reason: r.reason,
        added: r.added,
        updated: r.updated,
        removed: r.removed,
        missing: r.missing,
        recordings: r.camera.recordingCount,
      }));
      print({ cameras }, () =>
        cameras
          .map((c) =>
            c.available
              ? `${c.name}: ${plural(c.recordings, 'recording')} (${c.added} new, ${c.updated} changed, ${c.removed} gone)`
              : `${c.name}: UNAVAILABLE, ${c.reason}`,
          )
          .join('\n'),
      );
      return cameras.every((c) => c.available) ? EXIT_OK : EXIT_FAILED;
    }
    case 'sweep': {
      const report = await engine.sweep({ dryRun: values['dry-run'], trigger: 'cli' });
      if (values.json) {
        io.out(JSON.stringify(report, null, 2));
      } else if (report.dryRun && report.deletions!.length > 0) {
        io.out(
          report
            .deletions!.map(
              (d) =>
                `  ${d.reason.padEnd(5)} ${d.camera}: ${printablePath(d.path)} (${formatBytes(d.size)}, ${d.class}, ended ${d.endTime})`,
            )
            .join('\n'),
        );
        if (report.deletionsNotListed) {
          io.out(`  … and ${report.deletionsNotListed} more, not listed`);
        }
      }
      return report.status === 'done' && report.failures.length === 0 ? EXIT_OK : EXIT_FAILED;
    }
    case 'status': {
      const status = engine.status();
      print(status, () => formatStatus(status));
      return EXIT_OK;
    }
    case 'list': {
      const cls = values.class;
      if (cls !== undefined && cls !== 'event' && cls !== 'continuous') {
        throw new UsageError('--class must be "event" or "continuous"');
      }
      const limit = wholeNumber(values.limit ?? '100', '--limit');
      const offset = wholeNumber(values.offset ?? '0', '--offset');
      const recordings = engine.list(
        {
          cameraNames: values.camera,
          cls,
          protection: values.protected ? 'lasting' : undefined,
          since: values.since === undefined ? undefined : isoDate(values.since, '--since'),
          until: values.until === undefined ? undefined : isoDate(values.until, '--until'),
        },
        { limit, offset },
      );
      const rows = recordings.map((r) => ({
        id: r.id,
        camera: r.camera,
        path: r.absolutePath,
        size: r.size,
        class: r.cls,
        endTime: new Date(r.endTime).toISOString(),
        protected: r.protected,
        protectedBy: r.protectedBy,
        keepUntil: r.keepUntil === null ? null : new Date(r.keepUntil).toISOString(),
      }));
      print({ recordings: rows, offset, limit, more: rows.length === limit }, () =>
        [
          ...rows.map(
            (r) =>
              `${r.endTime}  ${r.class.padEnd(10)} ${formatBytes(r.size).padStart(9)}  ${r.protected ? 'P' : r.keepUntil ? 'K' : ' '}  ${printablePath(r.path)}`,
          ),
          rows.length === limit ? `(more: --offset ${offset + limit})` : `(${rows.length} shown)`,
        ].join('\n'),
      );
      return EXIT_OK;
    }
    case 'protect': {
      if (values.camera) {
        if (args.length || values.camera.length !== 1 || values.hours === undefined) {
          throw new UsageError('protect --camera NAME --hours N takes one camera and no paths');
        }
        const [name = ''] = values.camera;
        const camera = engine.cameraByName(name);
        if (!camera) {
          throw new UsageError(`--camera: no camera named "${name}"`);
        }
        const hours = Number(values.hours);
        if (!(hours > 0)) {
          throw new UsageError('--hours must be a number greater than 0');
        }
        engine.scan();
        const count = engine.protectRecent(camera, hours, 'cli');
        print(
          { protected: count },
          () => `Protected ${plural(count, 'recording')} of ${camera.name} from the last ${plural(hours, 'hour')}.`,
        );
        return EXIT_OK;
      }
      const until = values.until === undefined ? undefined : isoDate(values.until, '--until');
      const ids = resolvePaths(engine, args, io);
      const count = engine.protect(ids, 'cli', until);
      print(
        { protected: count, until: until === undefined ? null : new Date(until).toISOString() },
        () => `${until === undefined ? 'Protected' : `Kept until ${new Date(until).toISOString()}:`} ${plural(count, 'recording')}.`,
      );
      return EXIT_OK;
    }
    case 'unprotect': {
      const ids = resolvePaths(engine, args, io);
      const count = engine.unprotect(ids);
      print(
        { unprotected: count, recordings: ids.length },
        () => `Released ${plural(ids.length, 'recording')} (${count} ${count === 1 ? 'was' : 'were'} protected).`,
      );
      return EXIT_OK;
    }
    case 'export': {
      if (!values.to) {
        throw new UsageError('export needs --to DIR');
      }
      const ids = resolvePaths(engine, args, io);
      const result = await engine.export(ids, resolve(io.cwd, values.to), `cli:${process.pid}`);
      print(result, () =>
        [
          ...result.exported.map((path) => `exported ${printablePath(path)}`),
          ...result.skipped.map((s) => `skipped recording ${s.id}: ${s.reason}`),
        ].join('\n'),
      );
      return result.skipped.length === 0 ? EXIT_OK : EXIT_FAILED;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function resolvePaths(engine: RetentionEngine, paths: string[], io: CliIO): number[] {
  if (paths.length === 0) {
    throw new UsageError('name at least one recording file');
  }
  return paths.map((path) => engine.resolveRecording(path, io.cwd).recording.id);
}

function wholeNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(`${flag} must be a whole number`);
  }
  return value;
}

function isoDate(text: string, flag: string): number {
  const time = Date.parse(text);
  if (Number.isNaN(time)) {
    throw new UsageError(`${flag} must be a date like 2026-11-21 or 2026-11-21T18:00:00Z`);
  }
  return time;
}

function formatStatus(status: ReturnType<RetentionEngine['status']>): string {
  const lines: string[] = [];
  for (const camera of status.cameras) {
    lines.push(`${camera.name} (${camera.path})${camera.available ? '' : `  UNAVAILABLE: ${camera.unavailableReason}`}`);
    lines.push(
      `  ${plural(camera.recordings, 'recording')}, ${formatBytes(camera.bytes)} (${plural(camera.eventRecordings, 'event')}); protected ${camera.protectedRecordings} (${formatBytes(camera.protectedBytes)})` +
        `; quota ${camera.quotaBytes === null ? 'none' : formatBytes(camera.quotaBytes)}`,
    );
    lines.push(`  oldest ${camera.oldest ?? '-'}, newest ${camera.newest ?? '-'}${camera.protectSwitchOn ? '; protect switch ON' : ''}`);
  }
  for (const fs of status.filesystems) {
    const free = fs.freeBytes === null ? `unknown (${fs.error})` : `${formatBytes(fs.freeBytes)} free of ${formatBytes(fs.totalBytes!)}`;
    lines.push(
      `Disk of ${fs.cameras.join(', ')}${fs.folder ? ` mounted at ${printablePath(fs.folder)}` : ''}: ${free}; floor ${fs.floorBytes === null ? 'none' : formatBytes(fs.floorBytes)}`,
    );
  }
  const last = status.lastSweep;
  lines.push(last ? `Last sweep: ${last.startedAt}, ${last.status}` : 'Last sweep: never');
  return lines.join('\n');
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

/** The command's run (bin.ts), and main.js started directly: arguments from the shell, output to it. */
export async function runFromShell(): Promise<void> {
  // Set before the first asynchronous file call starts libuv's pool: a sweep on a slow disk or a NAS
  // overlaps unlinks over these threads (BENCHMARKS.md, "Figures the code points at"). A value the
  // user set wins.
  process.env.UV_THREADPOOL_SIZE ??= '32';
  const io: CliIO = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    cwd: process.cwd(),
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}

if (invokedDirectly) {
  await runFromShell();
}
