#!/usr/bin/env node
/**
 * The `nvr-retention` command. V8 grows its young generation by tens of MB under a large sweep's
 * short-lived objects: resident memory for nothing on a Raspberry Pi or a NAS (BENCHMARKS.md, "Figures
 * the code points at", has what a small one saves at the same speed).
 * The size can only be set when Node starts, and a shebang cannot pass it everywhere (busybox `env`
 * has no -S), so the command starts Node again with it, in the same process (`execve`: same pid, so
 * cron, signals and exit codes see one program). Where Node cannot do that (before 22.15, Windows)
 * it runs as it is. A flag the user chose, in NODE_OPTIONS or on Node's command line, wins.
 * Before any of that: on a Node without `node:sqlite` it says so in one line and exits 2 (bad
 * setup, like a bad config), and it loads the engine only after dropping Node 22's SQLite warning.
 */
import { unsupportedNodeMessage } from '../runtime/node-version.js';
import { silenceSqliteWarning } from '../runtime/sqlite-warning.js';

/** As EXIT_USAGE in main.ts, which cannot be imported here: it loads node:sqlite. */
const EXIT_BAD_SETUP = 2;
const unsupported = unsupportedNodeMessage();
if (unsupported) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(EXIT_BAD_SETUP);
}

/**
 * A small young generation, and an old one that grows by half its live size between full
 * collections rather than V8's up to 4 times (short-lived objects a 100k NAS sweep promotes took it
 * past 150 MB with 20 MB live; BENCHMARKS.md has the figures).
 */
const MEMORY_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=50'];

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;
const execve = (process as { execve?: Execve }).execve;
const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
const missing = MEMORY_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
if (missing.length > 0 && typeof execve === 'function' && process.platform !== 'win32') {
  try {
    execve.call(process, process.execPath, [process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], process.env);
  } catch {
    // Not started again: the command runs with V8's default sizes.
  }
}
silenceSqliteWarning();
const { runFromShell } = await import('./main.js');
await runFromShell();
