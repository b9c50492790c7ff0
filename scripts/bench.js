// Speed at scale (issue 5): `npm run bench` (builds dist/, then runs this file).
//
//   node scripts/bench.js [--runs N] [--scale F] [--quick] [--only SECTIONS] [--loop-disk] [--nas-sizes N,M] [--nas-delay MS]
//
//   --runs N      runs per figure; the table gives the median (default 3)
//   --scale F     multiplies every size (default 1: 100,000 recordings swept, 1,000,000 indexed)
//   --quick       a run of about a minute: --scale 0.1 unless --scale is given
//   --only LIST   comma-separated sections: rows, sweep-disk, sweep-tmpfs, loop, growth, idle, nas
//   --loop-disk   item 7 also on the real disk (adds a few minutes at scale 1)
//   --nas-sizes   the NAS rows' sizes (default 10000,100000 × scale); --nas-delay: ms each way (0.5)
//
// What it measures (numbers as in the issue):
//   1. sweep vs raw unlink: K one-byte recordings (100 per folder, all with one mtime 30 days ago)
//      on the real disk (os.tmpdir()) and on a tmpfs; `nvr-retention sweep` end to end with a fresh
//      index, against `find DIR -type f -delete` and a plain Node unlinker (a loop of unlinkSync, or
//      overlapped fs.promises.unlink, whichever was fastest in a calibration on the same disk), on
//      identical trees. Also the same sweep of a tree indexed beforehand (by `nvr-retention scan`),
//      the steady state where recordings were indexed while young: the difference is the index's cost.
//      And the plain unlinker doing only the per-file checks the rules require of any sweep (an
//      lstat through the pinned folder, a hold lookup, a claim and a row delete per batch): a floor.
//   2. rows: deleting 100,000 of 1,000,000 indexed rows with Store.deleteRecordings in transactions
//      of 500 (as the sweeper does), against one autocommitted DELETE per row on a copy of the index.
//   3. idle sweep over 1,000,000 recordings in 10,000 unchanged folders (tmpfs), CLI and in-process.
//   4. scan: first index of K files and a rescan of the unchanged tree (in-process, real disk).
//   5. dry run over 1,000,000 recordings with 100,000 due: time and peak RSS.
//   6. peak RSS of the sweeps of item 1 and of the idle sweep.
//   7. event-loop delay of the process hosting EngineWorker while it sweeps item 1's tree.
//   8. item 1's sweep (tmpfs) at 10k, 100k and 300k recordings: microseconds per recording.
//   9. a simulated NAS (scripts/nas-sim.js, issue 15): 10k and 100k 1 KiB recordings in day/hour
//      folders; find -delete, `xargs -P16 rm`, the first sweep, a second sweep after new files, an
//      idle sweep against `find -type d`; peak RSS of each. Needs root; skipped with a line without.
//
// Every speed figure is also given as a ratio to a reference measured in the same run (the median
// of the per-run ratios), so the table holds on a noisy shared machine. The index always lives on
// the real disk (a storage folder under os.tmpdir()), as the README asks. Before every timed step on
// the real disk the page cache is written back (`sync`): recordings of a month ago are on the disk,
// not in dirty pages. dist/ is copied to a snapshot first, so a rebuild while this runs changes
// nothing. Temp folders are removed and tmpfs mounts unmounted on exit, on failure and on Ctrl-C.
//
// This file is also its own helper: `node scripts/bench.js --child MODE ...` runs one measured piece
// (tree making, the plain unlinker, in-process scans and sweeps, the event-loop probe, row deletes).
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants as fsConstants,
  copyFileSync,
  cpSync,
  existsSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const DAY_MS = 86_400_000;
const PER_FOLDER = 100;
const MB = 1_000_000;
/** Item 7: the histogram's sampling interval; a free loop reads about this much. */
const LOOP_RESOLUTION_MS = 10;
/**
 * Plain-unlinker candidates tried on each disk: in-flight unlinks and libuv threadpool size; in
 * flight 0 is a loop of unlinkSync (no thread pool at all), the fastest on a tmpfs.
 */
const UNLINK_CANDIDATES = [
  { concurrency: 0, pool: 4 },
  { concurrency: 8, pool: 4 },
  { concurrency: 16, pool: 16 },
  { concurrency: 64, pool: 64 },
];
const TARGETS = { sweepFind: 1.0, sweepPlain: 1.5, idleMs: 500, rescan: 0.05, rssMB: 150, p99Ms: 20, nasXargs: 1.2, nasIdle: 1.5 };
const SECTIONS = ['rows', 'sweep-disk', 'sweep-tmpfs', 'loop', 'growth', 'idle', 'nas'];
/** The NAS rows (item 9): recordings per hour folder (the issue's 10,000 in 20 folders), and their size. */
const NAS_PER_FOLDER = 500;
const NAS_BYTES = 1024;
/** The idle tree's mount: nodes keep their numbers (as NFS and SMB give the server's inode numbers), sshfs caches nothing. */
const NAS_IDLE_MOUNT = ['-o', 'noforget', '-o', 'dir_cache=no'];
/** Longer than the kernel keeps a FUSE entry or attribute (1 s): the next call about it goes to the NAS. */
const NAS_COLD_MS = 1500;

const folderName = (f) => `d${String(f).padStart(5, '0')}`;
/** The NAS rows' folders, as recorders make them: a folder per day, one per hour in it (2026-10-01/00). */
const recorderFolderName = (f) =>
  `${new Date(Date.UTC(2026, 9, 1) + Math.floor(f / 24) * DAY_MS).toISOString().slice(0, 10)}/${String(f % 24).padStart(2, '0')}`;
const fileName = (i) => `seg-${String(i).padStart(7, '0')}.mp4`;
const filePath = (root, i, per) => join(root, folderName(Math.floor(i / per)), fileName(i));
const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) {
    return NaN;
  }
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// ---------------------------------------------------------------------------------------------
// Helper processes (--child MODE)
// ---------------------------------------------------------------------------------------------

/** The dist/ snapshot that helpers import from (BENCH_DIST), as a file URL. */
function dist(path) {
  return pathToFileURL(join(process.env.BENCH_DIST, path)).href;
}

function answer(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const CHILD_MODES = {
  /**
   * Folders [from, to) of a tree: files `seg-N.mp4` (spec.bytes long, one byte by default, or empty),
   * mtime baseMs + N × stepMs; in folders d00000... or, with spec.recorder, day/hour folders.
   */
  mktree([specJson]) {
    const spec = JSON.parse(specJson);
    const content = Buffer.alloc(spec.bytes ?? 1, 'x');
    const folderTime = spec.folderMs / 1000;
    for (let f = spec.from; f < spec.to; f++) {
      const folder = join(spec.dir, spec.recorder ? recorderFolderName(f) : folderName(f));
      mkdirSync(folder, { recursive: true });
      for (let i = f * spec.per; i < Math.min(spec.files, (f + 1) * spec.per); i++) {
        const fd = openSync(join(folder, fileName(i)), 'w');
        if (!spec.empty) {
          writeSync(fd, content);
        }
        const time = (spec.baseMs + i * spec.stepMs) / 1000;
        futimesSync(fd, time, time);
        closeSync(fd);
      }
      // The scan re-reads folders modified within 2 s of a scan: these look long settled.
      utimesSync(folder, folderTime, folderTime);
      if (spec.recorder) {
        utimesSync(join(folder, '..'), folderTime, folderTime);
      }
    }
  },

  /** The plain unlinker: unlinks files [from, to) of a tree, `concurrency` in flight (0: one at a time, synchronously). */
  async unlink([dir, from, to, per, concurrency]) {
    const files = [];
    for (let i = Number(from); i < Number(to); i++) {
      files.push(filePath(dir, i, Number(per)));
    }
    let next = 0;
    const started = performance.now();
    if (Number(concurrency) === 0) {
      for (const file of files) {
        unlinkSync(file);
      }
    } else {
      await Promise.all(
        Array.from({ length: Number(concurrency) }, async () => {
          while (next < files.length) {
            await unlink(files[next++]);
          }
        }),
      );
    }
    answer({ ms: performance.now() - started, files: files.length });
  },

  /**
   * The plain unlinker with the checks that the rules require of any sweep (issue 11), and nothing
   * else: a floor for item 1's sweep, not the engine's code. Untimed: a table of one row per file
   * with its hold columns in SQLite (WAL, on the real disk), each file's inode and mtime, each
   * folder opened without following links. Timed, per batch of 500: the rows claimed in a
   * transaction on the disk (synchronous FULL); then each file's lstat through its open folder
   * (/proc/self/fd/N/name) compared with what was recorded, its hold looked up, its unlink, with
   * `concurrency` in flight as the plain unlinker; then the batch's rows deleted in one transaction.
   */
  async 'checked-unlink'([dir, count, per, concurrency, dbPath]) {
    const { DatabaseSync } = await import('node:sqlite');
    const byFd = process.platform === 'linux';
    const folders = new Map();
    const files = [];
    for (let i = 0; i < Number(count); i++) {
      const folder = join(dir, folderName(Math.floor(i / Number(per))));
      if (!folders.has(folder)) {
        const fd = openSync(folder, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
        folders.set(folder, byFd ? `/proc/self/fd/${fd}` : folder);
      }
      const path = `${folders.get(folder)}/${fileName(i)}`;
      const stats = lstatSync(path);
      files.push({ id: i + 1, path, ino: stats.ino, mtimeMs: stats.mtimeMs });
    }
    const db = new DatabaseSync(dbPath);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE rows (id INTEGER PRIMARY KEY, protected INTEGER NOT NULL DEFAULT 0, keep_until INTEGER, deleting INTEGER NOT NULL DEFAULT 0)`);
    const insert = db.prepare('INSERT INTO rows (id) VALUES (?)');
    db.exec('BEGIN');
    for (const file of files) {
      insert.run(file.id);
    }
    db.exec('COMMIT');
    const claim = db.prepare('UPDATE rows SET deleting = 1 WHERE id = ? AND protected = 0 AND NOT COALESCE(keep_until > ?, 0)');
    const free = db.prepare('SELECT 1 FROM rows WHERE id = ? AND protected = 0 AND NOT COALESCE(keep_until > ?, 0)');
    const remove = db.prepare('DELETE FROM rows WHERE id = ?');
    const checkBeforeUnlink = (file) => {
      const stats = lstatSync(file.path);
      if (stats.ino !== file.ino || stats.mtimeMs !== file.mtimeMs || free.get(file.id, Date.now()) === undefined) {
        throw new Error(`checked-unlink: ${file.path} did not pass its checks`);
      }
    };
    const started = performance.now();
    for (let first = 0; first < files.length; first += 500) {
      const batch = files.slice(first, first + 500);
      db.exec('PRAGMA synchronous = FULL; BEGIN');
      for (const file of batch) {
        claim.run(file.id, Date.now());
      }
      db.exec('COMMIT; PRAGMA synchronous = NORMAL');
      if (Number(concurrency) === 0) {
        for (const file of batch) {
          checkBeforeUnlink(file);
          unlinkSync(file.path);
        }
      } else {
        let next = 0;
        await Promise.all(
          Array.from({ length: Number(concurrency) }, async () => {
            while (next < batch.length) {
              const file = batch[next++];
              checkBeforeUnlink(file);
              await unlink(file.path);
            }
          }),
        );
      }
      db.exec('BEGIN');
      for (const file of batch) {
        remove.run(file.id);
      }
      db.exec('COMMIT');
    }
    answer({ ms: performance.now() - started, files: files.length });
    db.close();
  },

  /** Item 4: first index and rescan, in-process (RetentionEngine.scan). */
  async scan([configPath]) {
    const { loadConfig } = await import(dist('cli/main.js'));
    const { RetentionEngine } = await import(dist('retention/engine.js'));
    const engine = new RetentionEngine(loadConfig({ config: configPath }, process.cwd()));
    try {
      let started = performance.now();
      const [first] = engine.scan();
      const firstMs = performance.now() - started;
      started = performance.now();
      const [again] = engine.scan();
      const rescanMs = performance.now() - started;
      answer({
        firstMs,
        rescanMs,
        added: first.added,
        readAgain: again.foldersRead,
        skipped: again.foldersSkipped,
        changed: again.added + again.updated + again.removed,
      });
    } finally {
      engine.close();
    }
  },

  /** Item 3: the engine's sweep in-process, without process start-up and module loading. */
  async 'engine-sweep'([configPath]) {
    const { loadConfig } = await import(dist('cli/main.js'));
    const { RetentionEngine } = await import(dist('retention/engine.js'));
    const engine = new RetentionEngine(loadConfig({ config: configPath }, process.cwd()));
    try {
      const started = performance.now();
      const report = await engine.sweep({ trigger: 'bench' });
      answer({ ms: performance.now() - started, deleted: report.deleted.count, status: report.status });
    } finally {
      engine.close();
    }
  },

  /** Item 3's reference: lstat the camera folder and each of its folders, nothing else. */
  statdirs([dir, folders]) {
    const started = performance.now();
    lstatSync(dir);
    for (let f = 0; f < Number(folders); f++) {
      lstatSync(join(dir, folderName(f)));
    }
    answer({ ms: performance.now() - started, folders: Number(folders) });
  },

  /** Item 7: the Homebridge side. EngineWorker sweeps; this main thread's loop delay is measured. */
  async loop([configPath]) {
    const { loadConfig } = await import(dist('cli/main.js'));
    const { EngineWorker } = await import(dist('retention/engine-worker.js'));
    const problems = [];
    const log = { info: () => {}, debug: () => {}, warn: (m) => problems.push(m), error: (m) => problems.push(m) };
    const engine = new EngineWorker(loadConfig({ config: configPath }, process.cwd()), log);
    const ms = (ns) => ns / 1e6;
    try {
      await engine.status(); // the worker is up and the index open
      const idle = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      idle.enable();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idle.disable();
      const busy = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      busy.enable();
      const started = performance.now();
      const report = await engine.sweep({ trigger: 'bench' });
      const sweepMs = performance.now() - started;
      busy.disable();
      answer({
        sweepMs,
        deleted: report.deleted.count,
        status: report.status,
        problems: problems.slice(0, 3),
        p50: ms(busy.percentile(50)),
        p99: ms(busy.percentile(99)),
        max: ms(busy.max),
        samples: busy.count,
        idleP99: ms(idle.percentile(99)),
        idleMax: ms(idle.max),
      });
    } finally {
      await engine.stop();
    }
  },

  /** Item 2: an index of `total` recordings written with the Store class, oldest first. */
  async 'rows-build'([dbPath, total, per]) {
    const { Store } = await import(dist('store/store.js'));
    const store = Store.open(dbPath);
    store.db.exec('PRAGMA cache_size = -262144'); // building only (not measured): 256 MB of page cache
    const count = Number(total);
    const folders = Math.ceil(count / Number(per));
    const base = Date.now() - 40 * DAY_MS;
    const camera = store.ensureCamera('Cam', '/bench/cam');
    const root = store.ensureFolder(camera.id, '', null);
    const started = performance.now();
    for (let f0 = 0; f0 < folders; f0 += 100) {
      store.transaction(() => {
        for (let f = f0; f < Math.min(folders, f0 + 100); f++) {
          const folder = store.ensureFolder(camera.id, folderName(f), root.id);
          for (let i = f * Number(per); i < Math.min(count, (f + 1) * Number(per)); i++) {
            store.insertRecording({
              cameraId: camera.id,
              folderId: folder.id,
              relPath: `${folderName(f)}/${fileName(i)}`,
              size: 1,
              fileSize: 1,
              endTime: base + i * 1000,
              cls: 'continuous',
              sidecars: [],
              protectedBy: null,
              protectedAt: null,
            });
          }
        }
      });
    }
    const ms = performance.now() - started;
    store.close();
    answer({ ms, rows: count });
  },

  /** Item 2: delete the `count` oldest rows, batched like the sweeper or one autocommitted DELETE each. */
  async 'rows-delete'([dbPath, mode, count]) {
    const { Store } = await import(dist('store/store.js'));
    const store = Store.open(dbPath);
    try {
      const ids = store.db
        .prepare('SELECT id FROM recordings ORDER BY end_time, class, rel_path LIMIT ?')
        .all(Number(count))
        .map((row) => row.id);
      const before = store.db.prepare('SELECT COUNT(*) AS n FROM recordings').get().n;
      const started = performance.now();
      if (mode === 'batched') {
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          store.transaction(() => store.deleteRecordings(chunk));
        }
      } else {
        const statement = store.db.prepare('DELETE FROM recordings WHERE id = ?');
        for (const id of ids) {
          statement.run(id);
        }
      }
      const ms = performance.now() - started;
      const after = store.db.prepare('SELECT COUNT(*) AS n FROM recordings').get().n;
      const counted = store.db.prepare('SELECT recording_count AS n FROM cameras').get().n;
      answer({ ms, deleted: before - after, consistent: counted === after });
    } finally {
      store.close();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// The orchestrator: processes, folders, mounts, and clean-up
// ---------------------------------------------------------------------------------------------

const state = { root: undefined, mounts: [], children: new Set(), cleaned: false, nas: undefined };
const began = performance.now();
/** Progress on stderr, stamped with the seconds since the start; the table alone goes to stdout. */
const say = (text) =>
  process.stderr.write(`${text.replace(/^(\n*)/, (nl) => `${nl}[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] `)}\n`);

function cleanup() {
  if (state.cleaned) {
    return;
  }
  state.cleaned = true;
  for (const child of state.children) {
    try {
      process.kill(-child.pid, 'SIGKILL'); // its own process group: /usr/bin/time and the node under it
    } catch {
      // already gone
    }
  }
  state.nas?.stop();
  for (const dir of [...state.mounts].reverse()) {
    unmount(dir);
  }
  if (state.root) {
    rmSync(state.root, { recursive: true, force: true });
  }
}

function unmount(dir) {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (spawnSync('umount', [dir]).status === 0) {
      state.mounts = state.mounts.filter((d) => d !== dir);
      return;
    }
    sleepSync(100); // a killed child may still hold a file there for a moment
  }
  spawnSync('umount', ['-l', dir]);
  state.mounts = state.mounts.filter((d) => d !== dir);
}

/** A tmpfs for `files` files, `pages` of them one page each (one-byte files); undefined if it cannot be mounted. */
function mountTmpfs(dir, files, pages = files) {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  mkdirSync(dir, { recursive: true });
  const size = Math.ceil((pages * 4096 * 1.25 + 64 * MB) / MB);
  const inodes = Math.max(100_000, Math.ceil(files * 1.1 + files / PER_FOLDER + 10_000));
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}m,nr_inodes=${inodes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) {
    say(`  (no tmpfs: ${(result.stderr || '').trim() || `mount exited ${result.status}`})`);
    return undefined;
  }
  state.mounts.push(dir);
  return dir;
}

/** Runs a command in its own process group; resolves with its output and its wall time (spawn to exit). */
function run(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let exitedAt;
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    state.children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('exit', () => {
      exitedAt = performance.now();
    });
    child.on('error', (error) => {
      state.children.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      state.children.delete(child);
      resolve({
        code,
        signal,
        ms: (exitedAt ?? performance.now()) - started,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

function check(result, what) {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code ?? result.signal}:\n${result.stderr.slice(-2000)}`);
  }
  return result;
}

const HAVE_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;
/** Without /usr/bin/time: a preloaded module writes the process's own peak RSS (KiB) when it exits. */
const RSS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync}from'node:fs';process.on('exit',()=>{try{writeFileSync(process.env.BENCH_RSS_FILE,String(process.resourceUsage().maxRSS))}catch{}});",
)}`;
let rssFiles = 0;

/** Runs `node ARGS` and also returns its peak RSS in MB (10^6 bytes). */
function runNode(args, env = {}) {
  return runMeasured(process.execPath, args, env);
}

/** Runs a command and also returns its peak RSS in MB; without /usr/bin/time only node commands have one. */
async function runMeasured(command, args, env = {}) {
  const rssFile = join(state.root, `rss-${rssFiles++}.txt`);
  const result = HAVE_TIME
    ? await run('/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args], env)
    : command === process.execPath
      ? await run(command, ['--import', RSS_HOOK, ...args], { ...env, BENCH_RSS_FILE: rssFile })
      : await run(command, args, env);
  let rssMB = NaN;
  try {
    const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    rssMB = (kib * 1024) / MB;
  } catch {
    // no figure: shown as n/a
  }
  rmSync(rssFile, { force: true });
  return { ...result, rssMB };
}

async function helper(mode, args, env = {}) {
  const result = check(await runNode([SELF, '--child', mode, ...args.map(String)], { BENCH_DIST: state.dist, ...env }), `helper ${mode}`);
  return { ...JSON.parse(result.stdout.trim().split('\n').pop()), wallMs: result.ms, rssMB: result.rssMB };
}

/**
 * `files` recordings in folders of `per` (PER_FOLDER), written by parallel helpers; folder mtimes in
 * the past. `firstFolder` starts the folders (and the file numbers) further on, to add to a tree.
 */
async function makeTree(
  dir,
  files,
  {
    empty = false,
    baseMs = Date.now() - 30 * DAY_MS,
    stepMs = 0,
    folderMs = Date.now() - 30 * DAY_MS,
    per = PER_FOLDER,
    bytes = 1,
    recorder = false,
    firstFolder = 0,
  } = {},
) {
  mkdirSync(dir, { recursive: true });
  const folders = Math.ceil(files / per);
  const parts = folders >= 20 ? Math.min(4, os.availableParallelism()) : 1;
  const jobs = [];
  for (let p = 0; p < parts; p++) {
    const from = firstFolder + Math.floor((folders * p) / parts);
    const to = firstFolder + Math.floor((folders * (p + 1)) / parts);
    jobs.push(
      run(process.execPath, [
        SELF,
        '--child',
        'mktree',
        JSON.stringify({ dir, files: firstFolder * per + files, per, from, to, empty, baseMs, stepMs, folderMs, bytes, recorder }),
      ]).then((result) => check(result, 'mktree')),
    );
  }
  await Promise.all(jobs);
  utimesSync(dir, folderMs / 1000, folderMs / 1000);
}

/** The NvrRetention block for one camera; its folder is the storage folder, so the index is fresh per folder. */
function writeBlock(storage, camera, retentionDays, name = 'block.json') {
  mkdirSync(storage, { recursive: true });
  const file = join(storage, name);
  writeFileSync(
    file,
    JSON.stringify({ platform: 'NvrRetention', name: 'NVR Retention', cameras: [{ name: 'Cam', path: camera, retentionDays }] }, null, 2),
  );
  return file;
}

let syncMs = 0;
function syncDisks() {
  const started = performance.now();
  spawnSync('sync');
  syncMs += performance.now() - started;
}

async function cliSweep(config, extra = []) {
  const result = check(
    await runNode([join(state.dist, 'cli', 'bin.js'), 'sweep', '--json', '--config', config, ...extra]),
    'nvr-retention sweep',
  );
  const report = JSON.parse(result.stdout);
  if (report.status !== 'done') {
    throw new Error(`sweep status ${report.status}: ${report.error ?? ''}`);
  }
  return {
    ms: result.ms,
    rssMB: result.rssMB,
    deleted: report.deleted.count,
    engineMs: report.durationMs,
    added: report.cameras[0]?.added,
  };
}

function describeDisk(path) {
  try {
    const real = realpathSync(path);
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const [device, , type, options] = mounts
      .filter(([, point]) => real === point || real.startsWith(point === '/' ? '/' : `${point}/`))
      .sort((a, b) => b[1].length - a[1].length)[0];
    let rotational = '?';
    try {
      rotational = readFileSync(`/sys/block/${device.replace('/dev/', '')}/queue/rotational`, 'utf8').trim();
    } catch {
      // not a whole block device (a partition, an overlay): unknown
    }
    return `${type} on ${device}${rotational === '1' ? ', rotational' : rotational === '0' ? ', non-rotational' : ''}${options.split(',').includes('discard') ? ', online discard' : ''}`;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

const fmtMs = (ms) => (!Number.isFinite(ms) ? 'n/a' : ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`);
const fmtRatio = (r) => (!Number.isFinite(r) ? 'n/a' : r < 0.1 ? `${(r * 100).toFixed(1)} %` : r.toFixed(2));
const fmtMB = (mb) => (Number.isFinite(mb) ? `${mb.toFixed(0)} MB` : 'n/a');
const fmtCount = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
const verdict = (value, limit) => (!Number.isFinite(value) ? '' : value <= limit ? 'PASS' : 'FAIL');

const table = [];
function row(item, what, value, reference = '', ratio = '', target = '', result = '') {
  table.push([String(item), what, value, reference, ratio, target, result]);
}

function printTable() {
  const head = ['#', 'measure', 'median', 'reference (same run, median)', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(`${[line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(line)].join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const unlinkerName = (c) => (c.concurrency === 0 ? 'unlinkSync, one at a time' : `${c.concurrency} in flight, pool ${c.pool}`);

/** Picks the plain unlinker's concurrency on this disk: each candidate unlinks its own part of one tree. */
async function calibrateUnlinker(base, files, onDisk) {
  const dir = join(base, 'calibrate');
  await makeTree(dir, files * UNLINK_CANDIDATES.length);
  const times = [];
  for (const [i, candidate] of UNLINK_CANDIDATES.entries()) {
    if (onDisk) {
      syncDisks();
    }
    const result = await helper('unlink', [dir, i * files, (i + 1) * files, PER_FOLDER, candidate.concurrency], {
      UV_THREADPOOL_SIZE: String(candidate.pool),
    });
    times.push(result.wallMs);
  }
  rmSync(dir, { recursive: true, force: true });
  const best = UNLINK_CANDIDATES[times.indexOf(Math.min(...times))];
  say(
    `  plain unlinker on ${files} files: ${UNLINK_CANDIDATES.map((c, i) => `${unlinkerName(c)}: ${fmtMs(times[i])}`).join(', ')}; using ${unlinkerName(best)}`,
  );
  return best;
}

/** Items 1, 4 and 6 on one disk. */
async function sweepSection(label, base, onDisk, opts, results) {
  const k = opts.k;
  say(`\n[1] sweep vs raw unlink, ${fmtCount(k)} recordings, ${label} (${base})`);
  const plain = await calibrateUnlinker(base, opts.calibrate, onDisk);
  const runs = [];
  for (let r = 0; r < opts.runs; r++) {
    const dir = join(base, `run-${r}`);
    const trees = {
      sweep: join(dir, 'sweep', 'cam'),
      find: join(dir, 'find', 'cam'),
      plain: join(dir, 'plain', 'cam'),
      checked: join(dir, 'checked', 'cam'),
      indexed: join(dir, 'indexed', 'cam'),
    };
    const making = performance.now();
    for (const tree of Object.values(trees)) {
      await makeTree(tree, k);
    }
    const madeMs = performance.now() - making;
    const syncedBefore = syncMs;
    const storage = join(state.root, `storage-${label.replace(/\W+/g, '-')}-${r}`);
    const config = writeBlock(storage, trees.sweep, 7);
    const indexedStorage = join(state.root, `storage-indexed-${label.replace(/\W+/g, '-')}-${r}`);
    check(
      await runNode([join(state.dist, 'cli', 'bin.js'), 'scan', '--config', writeBlock(indexedStorage, trees.indexed, 365)]),
      'nvr-retention scan',
    );
    const indexedConfig = writeBlock(indexedStorage, trees.indexed, 7);
    const measured = {};
    if (opts.scan) {
      // Item 4 reads the find tree before find deletes it: an identical tree, its own index.
      syncDisks();
      const scan = await helper('scan', [writeBlock(join(state.root, `storage-scan-${r}`), trees.find, 7)]);
      if (scan.added !== k || scan.changed !== 0) {
        throw new Error(`scan: ${scan.added} added, ${scan.changed} changed on rescan`);
      }
      measured.scan = scan;
    }
    const steps = {
      find: async () => check(await run('find', [trees.find, '-type', 'f', '-delete']), 'find').ms,
      plain: async () =>
        (await helper('unlink', [trees.plain, 0, k, PER_FOLDER, plain.concurrency], { UV_THREADPOOL_SIZE: String(plain.pool) })).wallMs,
      // Its setup (the rows, each file's identity) is not timed: what is timed is the deleting.
      checked: async () =>
        (
          await helper('checked-unlink', [trees.checked, k, PER_FOLDER, plain.concurrency, join(state.root, `checked-${r}.db`)], {
            UV_THREADPOOL_SIZE: String(plain.pool),
          })
        ).ms,
      sweep: async () => {
        const sweep = await cliSweep(config);
        if (sweep.deleted !== k) {
          throw new Error(`the sweep deleted ${sweep.deleted} of ${k}`);
        }
        measured.rssMB = sweep.rssMB;
        measured.engineMs = sweep.engineMs;
        return sweep.ms;
      },
      indexed: async () => {
        const sweep = await cliSweep(indexedConfig);
        if (sweep.deleted !== k || sweep.added !== 0) {
          throw new Error(`the sweep of the indexed tree deleted ${sweep.deleted} of ${k} and indexed ${sweep.added}`);
        }
        return sweep.ms;
      },
    };
    const order = ['find', 'plain', 'checked', 'sweep', 'indexed'];
    for (let i = 0; i < order.length; i++) {
      const step = order[(i + r) % order.length]; // rotated per run: no step is always first or last
      syncDisks();
      measured[step] = await steps[step]();
    }
    runs.push(measured);
    say(`  run ${r + 1}: trees made in ${fmtMs(madeMs)}, sync ${fmtMs(syncMs - syncedBefore)}`);
    say(
      `  run ${r + 1}: sweep ${fmtMs(measured.sweep)} (engine ${fmtMs(measured.engineMs)}, ${fmtMB(measured.rssMB)}), indexed beforehand ${fmtMs(measured.indexed)}, find ${fmtMs(measured.find)}, plain ${fmtMs(measured.plain)}, plain with the checks ${fmtMs(measured.checked)}` +
        `${measured.scan ? `; scan ${fmtMs(measured.scan.firstMs)}, rescan ${fmtMs(measured.scan.rescanMs)} (${measured.scan.skipped} folders skipped, ${measured.scan.readAgain} read)` : ''}`,
    );
    rmSync(dir, { recursive: true, force: true });
    rmSync(storage, { recursive: true, force: true });
    rmSync(indexedStorage, { recursive: true, force: true });
    rmSync(join(state.root, `storage-scan-${r}`), { recursive: true, force: true });
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(join(state.root, `checked-${r}.db${suffix}`), { force: true });
    }
  }
  const sweep = median(runs.map((m) => m.sweep));
  results[label] = { sweep, runs, plain };
  row(
    1,
    `sweep ${fmtCount(k)}, ${label}: CLI end to end`,
    `${fmtMs(sweep)} (${((sweep * 1000) / k).toFixed(0)} µs/rec)`,
    `find -type f -delete: ${fmtMs(median(runs.map((m) => m.find)))}`,
    fmtRatio(median(runs.map((m) => m.sweep / m.find))),
    `≤ ${TARGETS.sweepFind.toFixed(1)}`,
    verdict(median(runs.map((m) => m.sweep / m.find)), TARGETS.sweepFind),
  );
  row(
    1,
    `sweep ${fmtCount(k)}, ${label}: CLI end to end`,
    fmtMs(sweep),
    `plain Node unlinker (${unlinkerName(plain).replace(/, pool \d+/, '')}): ${fmtMs(median(runs.map((m) => m.plain)))}`,
    fmtRatio(median(runs.map((m) => m.sweep / m.plain))),
    `≤ ${TARGETS.sweepPlain.toFixed(1)}`,
    verdict(median(runs.map((m) => m.sweep / m.plain)), TARGETS.sweepPlain),
  );
  // What the rules' per-file checks cost by themselves: the least any sweep that keeps them can take.
  row(
    1,
    `  plain unlinker with the checks of the rules (a floor)`,
    fmtMs(median(runs.map((m) => m.checked))),
    'plain (as above); the sweep against it',
    `${fmtRatio(median(runs.map((m) => m.checked / m.plain)))}; ${fmtRatio(median(runs.map((m) => m.sweep / m.checked)))}`,
  );
  // The same deletions without the first index: how much of the above is the index's cost.
  const indexed = median(runs.map((m) => m.indexed));
  row(
    1,
    `  same tree indexed beforehand: CLI end to end`,
    `${fmtMs(indexed)} (${((indexed * 1000) / k).toFixed(0)} µs/rec)`,
    'find; plain (as above)',
    `${fmtRatio(median(runs.map((m) => m.indexed / m.find)))}; ${fmtRatio(median(runs.map((m) => m.indexed / m.plain)))}`,
  );
  if (opts.scan) {
    const first = median(runs.map((m) => m.scan.firstMs));
    row(4, `scan ${fmtCount(k)}, ${label}: first index (in-process)`, `${fmtMs(first)} (${((first * 1000) / k).toFixed(0)} µs/file)`);
    row(
      4,
      `scan ${fmtCount(k)}, ${label}: rescan, nothing changed`,
      fmtMs(median(runs.map((m) => m.scan.rescanMs))),
      `first index: ${fmtMs(first)}`,
      fmtRatio(median(runs.map((m) => m.scan.rescanMs / m.scan.firstMs))),
      `≤ ${TARGETS.rescan * 100} %`,
      verdict(median(runs.map((m) => m.scan.rescanMs / m.scan.firstMs)), TARGETS.rescan),
    );
  }
  results.rss.push([`sweep ${fmtCount(k)}, ${label} (item 1)`, median(runs.map((m) => m.rssMB))]);
}

/** Item 7: the sweep of item 1 through EngineWorker, in a process that measures its own loop. */
async function loopSection(label, base, onDisk, opts) {
  say(`\n[7] event-loop delay while EngineWorker sweeps ${fmtCount(opts.k)} recordings, ${label}`);
  const runs = [];
  for (let r = 0; r < opts.runs; r++) {
    const dir = join(base, `loop-${r}`, 'cam');
    await makeTree(dir, opts.k);
    const storage = join(state.root, `storage-loop-${r}`);
    if (onDisk) {
      syncDisks();
    }
    const result = await helper('loop', [writeBlock(storage, dir, 7)]);
    if (result.deleted !== opts.k) {
      throw new Error(`the worker sweep deleted ${result.deleted} of ${opts.k}: ${result.problems.join('; ')}`);
    }
    runs.push(result);
    say(
      `  run ${r + 1}: sweep ${fmtMs(result.sweepMs)}, process peak RSS ${fmtMB(result.rssMB)}; loop p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms (idle p99 ${result.idleP99.toFixed(1)} ms)`,
    );
    rmSync(join(base, `loop-${r}`), { recursive: true, force: true });
    rmSync(storage, { recursive: true, force: true });
  }
  const p99 = median(runs.map((m) => m.p99));
  const max = median(runs.map((m) => m.max));
  const idle = median(runs.map((m) => m.idleP99));
  row(
    7,
    `loop delay p99, EngineWorker sweep ${fmtCount(opts.k)}, ${label}`,
    `${p99.toFixed(1)} ms (${(p99 - LOOP_RESOLUTION_MS).toFixed(1)} over resolution)`,
    `idle loop p99: ${idle.toFixed(1)} ms`,
    fmtRatio(median(runs.map((m) => m.p99 / m.idleP99))),
    `≤ ${TARGETS.p99Ms} ms`,
    verdict(p99, TARGETS.p99Ms),
  );
  row(
    7,
    `loop delay max, same sweeps (sweep took ${fmtMs(median(runs.map((m) => m.sweepMs)))})`,
    `${max.toFixed(1)} ms (${(max - LOOP_RESOLUTION_MS).toFixed(1)} over resolution)`,
    `idle loop max: ${median(runs.map((m) => m.idleMax)).toFixed(1)} ms`,
    fmtRatio(median(runs.map((m) => m.max / m.idleMax))),
  );
  const rss = median(runs.map((m) => m.rssMB));
  row(6, `peak RSS, process hosting EngineWorker, same sweeps`, fmtMB(rss), '', '', `≤ ${TARGETS.rssMB} MB`, verdict(rss, TARGETS.rssMB));
}

/** Item 8: item 1's sweep at three sizes; the middle one is item 1's own figure when it was measured. */
async function growthSection(label, base, onDisk, opts, results) {
  say(`\n[8] growth, ${label}: ${opts.growth.map(fmtCount).join(', ')} recordings`);
  const perSize = [];
  for (const size of opts.growth) {
    let runs;
    if (size === opts.k && results[label]) {
      runs = results[label].runs.map((m) => ({ ms: m.sweep, engineMs: m.engineMs, rssMB: m.rssMB }));
    } else {
      runs = [];
      for (let r = 0; r < opts.runs; r++) {
        const dir = join(base, `growth-${size}-${r}`, 'cam');
        await makeTree(dir, size);
        const storage = join(state.root, `storage-growth-${size}-${r}`);
        if (onDisk) {
          syncDisks();
        }
        const sweep = await cliSweep(writeBlock(storage, dir, 7));
        if (sweep.deleted !== size) {
          throw new Error(`the sweep deleted ${sweep.deleted} of ${size}`);
        }
        runs.push(sweep);
        rmSync(join(base, `growth-${size}-${r}`), { recursive: true, force: true });
        rmSync(storage, { recursive: true, force: true });
      }
    }
    perSize.push({
      size,
      ms: median(runs.map((m) => m.ms)),
      us: median(runs.map((m) => (m.engineMs * 1000) / size)),
      rssMB: median(runs.map((m) => m.rssMB)),
    });
    say(`  ${fmtCount(size)}: ${runs.map((m) => `${fmtMs(m.ms)} (engine ${fmtMs(m.engineMs)})`).join(', ')}`);
  }
  // Per recording from the engine's own duration (the report's durationMs): process start-up is a
  // fixed cost that would make small sweeps look dearer per recording.
  const reference = perSize.find((p) => p.size === opts.k) ?? perSize[Math.floor(perSize.length / 2)];
  for (const { size, ms, us, rssMB } of perSize) {
    row(
      8,
      `sweep ${fmtCount(size)}, ${label}: CLI end to end; engine µs/rec; peak RSS`,
      `${fmtMs(ms)}; ${us.toFixed(0)} µs/rec; ${fmtMB(rssMB)}`,
      size === reference.size ? '(reference)' : `${fmtCount(reference.size)}: ${reference.us.toFixed(0)} µs/rec`,
      fmtRatio(us / reference.us),
      'flat',
    );
  }
}

/** Item 2: the store's side of deleting rows, batched against one autocommitted DELETE per row. */
async function rowsSection(opts, results) {
  say(`\n[2] rows: deleting ${fmtCount(opts.rowsDelete)} of ${fmtCount(opts.rowsTotal)} indexed`);
  const dir = join(state.root, 'rows');
  mkdirSync(dir, { recursive: true });
  const template = join(dir, 'template.db');
  const build = await helper('rows-build', [template, opts.rowsTotal, PER_FOLDER]);
  say(`  index of ${fmtCount(opts.rowsTotal)} rows written with Store.insertRecording in ${fmtMs(build.ms)}`);
  const runs = [];
  for (let r = 0; r < opts.runs; r++) {
    const measured = {};
    for (const mode of r % 2 ? ['naive', 'batched'] : ['batched', 'naive']) {
      const db = join(dir, `${mode}.db`);
      copyFileSync(template, db);
      syncDisks();
      const result = await helper('rows-delete', [db, mode, opts.rowsDelete]);
      if (result.deleted !== opts.rowsDelete || !result.consistent) {
        throw new Error(`rows ${mode}: deleted ${result.deleted}, totals consistent: ${result.consistent}`);
      }
      measured[mode] = result.ms;
      measured[`${mode}Rss`] = result.rssMB;
      for (const suffix of ['', '-wal', '-shm']) {
        rmSync(`${db}${suffix}`, { force: true });
      }
    }
    runs.push(measured);
    say(`  run ${r + 1}: batched ${fmtMs(measured.batched)} (${fmtMB(measured.batchedRss)}), naive ${fmtMs(measured.naive)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  const batched = median(runs.map((m) => m.batched));
  row(
    2,
    `rows: delete ${fmtCount(opts.rowsDelete)} of ${fmtCount(opts.rowsTotal)}, Store, 500 per transaction`,
    `${fmtMs(batched)} (${((batched * 1000) / opts.rowsDelete).toFixed(1)} µs/row)`,
    `one autocommitted DELETE per row: ${fmtMs(median(runs.map((m) => m.naive)))}`,
    fmtRatio(median(runs.map((m) => m.batched / m.naive))),
  );
  results.rss.push([`rows of item 2 (the process deleting them)`, median(runs.map((m) => m.batchedRss))]);
}

/** Items 3, 5 and 6: an index of 1M recordings in 10k folders that do not change. */
async function idleSection(label, base, opts, results) {
  const files = opts.idleFiles;
  const folders = Math.ceil(files / PER_FOLDER);
  say(`\n[3, 5] idle sweep and dry run over ${fmtCount(files)} recordings in ${fmtCount(folders)} folders, ${label}`);
  const camera = join(base, 'idle', 'cam');
  // Ten-second-ish segments over 20 days that ended a day ago: nothing young, nothing due at 30 days.
  const span = 20 * DAY_MS;
  const baseMs = Date.now() - span - DAY_MS;
  const stepMs = span / files;
  let started = performance.now();
  await makeTree(camera, files, { empty: true, baseMs, stepMs, folderMs: Date.now() - DAY_MS });
  say(`  tree made in ${fmtMs(performance.now() - started)}`);
  const storage = join(state.root, 'storage-idle');
  const idleConfig = writeBlock(storage, camera, 30);
  syncDisks();
  const first = await cliSweep(idleConfig);
  if (first.added !== files || first.deleted !== 0) {
    throw new Error(`first index: ${first.added} added, ${first.deleted} deleted`);
  }
  say(`  first index (CLI sweep): ${fmtMs(first.ms)}, ${fmtMB(first.rssMB)}`);
  row(
    3,
    `first index of ${fmtCount(files)} (CLI sweep, ${label}), for scale`,
    `${fmtMs(first.ms)} (${((first.ms * 1000) / files).toFixed(0)} µs/rec)`,
  );

  const runs = [];
  for (let r = 0; r < opts.runs; r++) {
    const measured = {};
    syncDisks();
    const reference = await helper('statdirs', [camera, folders]);
    measured.reference = reference.wallMs;
    measured.referenceInProcess = reference.ms;
    syncDisks();
    const idle = await cliSweep(idleConfig);
    if (idle.deleted !== 0) {
      throw new Error(`the idle sweep deleted ${idle.deleted}`);
    }
    measured.idle = idle.ms;
    measured.idleEngine = idle.engineMs;
    measured.idleRss = idle.rssMB;
    syncDisks();
    const inProcess = await helper('engine-sweep', [idleConfig]);
    if (inProcess.deleted !== 0) {
      throw new Error(`the in-process idle sweep deleted ${inProcess.deleted}`);
    }
    measured.inProcess = inProcess.ms;
    // Due: exactly the opts.due oldest; the cutoff falls half a step between two recordings.
    const cutoff = baseMs + (opts.due - 0.5) * stepMs;
    const dryConfig = writeBlock(storage, camera, (Date.now() - cutoff) / DAY_MS, 'dry-run.json');
    syncDisks();
    const dry = await cliSweep(dryConfig, ['--dry-run']);
    if (dry.deleted !== opts.due) {
      throw new Error(`the dry run planned ${dry.deleted} deletions, expected ${opts.due}`);
    }
    measured.dry = dry.ms;
    measured.dryRss = dry.rssMB;
    runs.push(measured);
    say(
      `  run ${r + 1}: idle CLI ${fmtMs(idle.ms)} (engine ${fmtMs(idle.engineMs)}, ${fmtMB(idle.rssMB)}), in-process ${fmtMs(inProcess.ms)}, ` +
        `lstat-folders reference ${fmtMs(measured.reference)} (${fmtMs(measured.referenceInProcess)} in-process); dry run ${fmtMs(dry.ms)} (${fmtMB(dry.rssMB)})`,
    );
  }
  const ref = median(runs.map((m) => m.reference));
  const idle = median(runs.map((m) => m.idle));
  const inProcess = median(runs.map((m) => m.inProcess));
  row(
    3,
    `idle sweep, ${fmtCount(files)} rec / ${fmtCount(folders)} folders: CLI end to end`,
    fmtMs(idle),
    `node process that lstats the ${fmtCount(folders)} folders: ${fmtMs(ref)}`,
    fmtRatio(median(runs.map((m) => m.idle / m.reference))),
    `≤ ${TARGETS.idleMs / 1000} s`,
    verdict(idle, TARGETS.idleMs),
  );
  row(
    3,
    'idle sweep, same: in-process (RetentionEngine.sweep)',
    fmtMs(inProcess),
    `the lstat loop alone, in-process: ${fmtMs(median(runs.map((m) => m.referenceInProcess)))}`,
    fmtRatio(median(runs.map((m) => m.inProcess / m.referenceInProcess))),
    `≤ ${TARGETS.idleMs / 1000} s`,
    verdict(inProcess, TARGETS.idleMs),
  );
  row(
    5,
    `dry run, ${fmtCount(opts.due)} of ${fmtCount(files)} due: CLI --json end to end`,
    fmtMs(median(runs.map((m) => m.dry))),
    `idle sweep (CLI): ${fmtMs(idle)}`,
    fmtRatio(median(runs.map((m) => m.dry / m.idle))),
  );
  row(5, 'dry run, same: peak RSS', fmtMB(median(runs.map((m) => m.dryRss))));
  results.rss.push([`idle sweep, ${fmtCount(files)} recordings (item 3)`, median(runs.map((m) => m.idleRss))]);
  rmSync(storage, { recursive: true, force: true });
}

/**
 * Item 9: the simulated NAS (scripts/nas-sim.js: sshfs to a local sshd, 0.5 ms each way). Its disk
 * is a tmpfs on this machine, so the time is the link's and sshfs's, not this machine's disk. Per
 * size and run, on identical trees of 1 KiB recordings in day/hour folders: find -delete, the
 * parallel xargs rm, the first sweep (index, then delete), a second sweep after an hour of new
 * expired recordings (against xargs on an identical hour), and an idle sweep of a tree indexed
 * beforehand (against find -type d). Every timed step gets a fresh mount: cold caches, as a NAS an
 * hour after the last sweep.
 */
async function nasSection(opts, results, notes) {
  const { nasUnavailable, startNas } = await import(pathToFileURL(join(ROOT, 'scripts', 'nas-sim.js')).href);
  const why = nasUnavailable();
  if (why) {
    notes.push(`no NAS rows: the simulated NAS ${why}`);
    say(`\n[9] simulated NAS: skipped, it ${why}`);
    row(9, 'NAS rows: skipped', `the simulated NAS ${why}`);
    return;
  }
  const most = Math.max(...opts.nasSizes);
  const disk = mountTmpfs(join(state.root, 'nas-disk'), 5 * most, 5 * most);
  if (!disk) {
    throw new Error('the NAS disk (a tmpfs) could not be mounted');
  }
  const nas = await startNas({ delayMs: opts.nasDelay, workDir: join(state.root, 'nas-sshd') });
  state.nas = nas;
  const mounts = join(state.root, 'nas-mnt');
  /** Mounts the NAS folder `name` (a folder of the tmpfs), runs `work` on its mount point, unmounts. */
  const onNas = async (name, work) => {
    const mountPoint = await nas.mount(join(disk, name), join(mounts, name));
    try {
      return await work(mountPoint);
    } finally {
      nas.unmount(mountPoint);
    }
  };
  const tree = (name, files, extra = {}) =>
    makeTree(join(disk, name), files, { per: NAS_PER_FOLDER, bytes: NAS_BYTES, recorder: true, ...extra });
  const shell = async (what, command) => {
    const result = check(await runMeasured('/bin/sh', ['-c', command]), what);
    return { ms: result.ms, rssMB: result.rssMB };
  };
  const quote = (path) => `'${path.replace(/'/g, "'\\''")}'`;
  const xargs = (dir) => shell('xargs rm', `find ${quote(dir)} -type f -print0 | xargs -0 -P 16 -n 64 rm -f`);
  try {
    say(`\n[9] simulated NAS (sshfs, ${opts.nasDelay} ms each way): ${opts.nasSizes.map(fmtCount).join(', ')} recordings`);
    for (const size of opts.nasSizes) {
      const hour = Math.max(NAS_PER_FOLDER, Math.round(size / 10 / NAS_PER_FOLDER) * NAS_PER_FOLDER);
      const started = performance.now();
      // The idle tree: young recordings (a day old, retention 30 days), indexed once, not timed. It
      // stays mounted, as a NAS does between sweeps (a fresh mount would give every file a new
      // device and inode number, which a scan must read as other files); sshfs caches nothing on it
      // and the kernel's entries time out after a second, so each timed walk meets a cold NAS.
      const idleStorage = join(state.root, `storage-nas-idle-${size}`);
      await tree(`idle-${size}`, size, { baseMs: Date.now() - DAY_MS, folderMs: Date.now() - DAY_MS });
      const idleMount = await nas.mount(join(disk, `idle-${size}`), join(mounts, `idle-${size}`), NAS_IDLE_MOUNT);
      const idleConfig = writeBlock(idleStorage, idleMount, 30);
      const indexed = await cliSweep(idleConfig);
      if (indexed.added !== size) {
        throw new Error(`NAS idle tree: the first sweep indexed ${indexed.added} of ${size}`);
      }
      const coldIdle = async (work) => {
        await sleep(NAS_COLD_MS);
        return work(idleMount);
      };
      const runs = [];
      for (let r = 0; r < opts.runs; r++) {
        const measured = {};
        const names = {
          find: `find-${size}-${r}`,
          xargs: `xargs-${size}-${r}`,
          sweep: `sweep-${size}-${r}`,
          xargsHour: `xhour-${size}-${r}`,
        };
        for (const name of [names.find, names.xargs, names.sweep]) {
          await tree(name, size);
        }
        await tree(names.xargsHour, hour, { firstFolder: size / NAS_PER_FOLDER });
        const storage = join(state.root, `storage-nas-${size}-${r}`);
        const config = writeBlock(storage, join(mounts, names.sweep), 7);
        const steps = {
          find: () => onNas(names.find, (dir) => shell('find -delete', `find ${quote(dir)} -type f -delete`)),
          xargs: () => onNas(names.xargs, (dir) => xargs(dir)),
          sweep: async () => {
            const sweep = await onNas(names.sweep, () => cliSweep(config));
            if (sweep.deleted !== size) {
              throw new Error(`NAS first sweep deleted ${sweep.deleted} of ${size}`);
            }
            // An hour of new recordings, expired too, written after the first sweep: the next sweep indexes and deletes them.
            await tree(names.sweep, hour, { firstFolder: size / NAS_PER_FOLDER });
            const second = await onNas(names.sweep, () => cliSweep(config));
            if (second.deleted !== hour || second.added !== hour) {
              throw new Error(`NAS second sweep indexed ${second.added} and deleted ${second.deleted} of ${hour}`);
            }
            measured.second = second;
            return sweep;
          },
          xargsHour: () => onNas(names.xargsHour, (dir) => xargs(dir)),
          walk: () => coldIdle((dir) => shell('find -type d', `find ${quote(dir)} -type d > /dev/null`)),
          idle: async () => {
            const idle = await coldIdle(() => cliSweep(idleConfig));
            if (idle.deleted !== 0) {
              throw new Error(`NAS idle sweep deleted ${idle.deleted}`);
            }
            return idle;
          },
        };
        const order = ['find', 'xargs', 'sweep', 'xargsHour', 'walk', 'idle'];
        for (let i = 0; i < order.length; i++) {
          const step = order[(i + r) % order.length]; // rotated per run, as in item 1
          measured[step] = await steps[step]();
        }
        runs.push(measured);
        const fmtStep = (m) => `${fmtMs(m.ms)} (${fmtMB(m.rssMB)})`;
        say(
          `  ${fmtCount(size)} run ${r + 1}: find -delete ${fmtStep(measured.find)}, xargs rm ${fmtStep(measured.xargs)}, ` +
            `first sweep ${fmtStep(measured.sweep)} (engine ${fmtMs(measured.sweep.engineMs)}); second sweep of ${fmtCount(hour)} ${fmtStep(measured.second)}, ` +
            `xargs of ${fmtCount(hour)} ${fmtStep(measured.xargsHour)}; idle sweep ${fmtStep(measured.idle)} (engine ${fmtMs(measured.idle.engineMs)}), find -type d ${fmtStep(measured.walk)}`,
        );
        for (const name of Object.values(names)) {
          rmSync(join(disk, name), { recursive: true, force: true });
        }
        rmSync(storage, { recursive: true, force: true });
      }
      nas.unmount(idleMount);
      rmSync(join(disk, `idle-${size}`), { recursive: true, force: true });
      rmSync(idleStorage, { recursive: true, force: true });
      say(`  ${fmtCount(size)}: ${fmtMs(performance.now() - started)} for ${opts.runs} runs`);
      nasRows(size, hour, runs, results);
    }
  } finally {
    nas.stop();
    state.nas = undefined;
    unmount(disk);
  }
}

function nasRows(size, hour, runs, results) {
  const med = (pick) => median(runs.map(pick));
  const ratio = (pick) => med(pick);
  const n = fmtCount(size);
  const sweep = med((m) => m.sweep.ms);
  const vsXargs = ratio((m) => m.sweep.ms / m.xargs.ms);
  const vsFind = ratio((m) => m.sweep.ms / m.find.ms);
  row(
    9,
    `NAS: first sweep ${n} (index, delete): CLI`,
    `${fmtMs(sweep)} (${((sweep * 1000) / size).toFixed(0)} µs/rec)`,
    `xargs -P16 -n64 rm: ${fmtMs(med((m) => m.xargs.ms))}`,
    fmtRatio(vsXargs),
    `≤ ${TARGETS.nasXargs}`,
    verdict(vsXargs, TARGETS.nasXargs),
  );
  row(
    9,
    `NAS: first sweep ${n} (index, delete): CLI`,
    fmtMs(sweep),
    `find -type f -delete: ${fmtMs(med((m) => m.find.ms))}`,
    fmtRatio(vsFind),
    '< 1.0',
    vsFind < 1 ? 'PASS' : 'FAIL',
  );
  row(
    9,
    `NAS: second sweep, ${fmtCount(hour)} new expired: CLI`,
    fmtMs(med((m) => m.second.ms)),
    `xargs rm of ${fmtCount(hour)}: ${fmtMs(med((m) => m.xargsHour.ms))}`,
    fmtRatio(ratio((m) => m.second.ms / m.xargsHour.ms)),
  );
  const idleRatio = ratio((m) => m.idle.ms / m.walk.ms);
  row(
    9,
    `NAS: idle sweep, ${n} indexed: CLI (its engine's part)`,
    `${fmtMs(med((m) => m.idle.ms))} (${fmtMs(med((m) => m.idle.engineMs))})`,
    `find -type d: ${fmtMs(med((m) => m.walk.ms))}`,
    fmtRatio(idleRatio),
    `≤ ${TARGETS.nasIdle}`,
    verdict(idleRatio, TARGETS.nasIdle),
  );
  row(
    9,
    `NAS ${n}: peak RSS first sweep; second; idle`,
    `${fmtMB(med((m) => m.sweep.rssMB))}; ${fmtMB(med((m) => m.second.rssMB))}; ${fmtMB(med((m) => m.idle.rssMB))}`,
    `find ${fmtMB(med((m) => m.find.rssMB))}, xargs ${fmtMB(med((m) => m.xargs.rssMB))}, find -type d ${fmtMB(med((m) => m.walk.rssMB))}`,
  );
  results.rss.push([`NAS first sweep ${n} (item 9)`, med((m) => m.sweep.rssMB)]);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function parseOptions(argv) {
  const options = { runs: 3, scale: undefined, quick: false, only: SECTIONS, loopDisk: false, nasSizes: undefined, nasDelay: 0.5 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) {
        throw new Error(`${arg} needs a value`);
      }
      return argv[++i];
    };
    if (arg === '--runs') {
      options.runs = Number(value());
    } else if (arg === '--scale') {
      options.scale = Number(value());
    } else if (arg === '--quick') {
      options.quick = true;
    } else if (arg === '--nas-sizes') {
      options.nasSizes = value()
        .split(',')
        .map((n) => Number(n.trim()));
    } else if (arg === '--nas-delay') {
      options.nasDelay = Number(value());
    } else if (arg === '--loop-disk') {
      options.loopDisk = true;
    } else if (arg === '--only') {
      options.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        readFileSync(SELF, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('//'))
          .slice(0, 11)
          .map((l) => l.slice(3))
          .join('\n') + '\n',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new Error('--runs must be a whole number of at least 1');
  }
  options.scale ??= options.quick ? 0.1 : 1;
  if (!(options.scale > 0)) {
    throw new Error('--scale must be a number greater than 0');
  }
  const unknown = options.only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length) {
    throw new Error(`--only: unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  }
  if (options.nasSizes && !options.nasSizes.every((n) => Number.isInteger(n) && n >= NAS_PER_FOLDER && n % NAS_PER_FOLDER === 0)) {
    throw new Error(`--nas-sizes must be whole multiples of ${NAS_PER_FOLDER}, comma-separated`);
  }
  if (!(options.nasDelay >= 0)) {
    throw new Error('--nas-delay must be a number of milliseconds, 0 or more');
  }
  const size = (n, min = 100) => Math.max(min, Math.round((n * options.scale) / PER_FOLDER) * PER_FOLDER);
  const nasSize = (n) => Math.max(NAS_PER_FOLDER, Math.round((n * options.scale) / NAS_PER_FOLDER) * NAS_PER_FOLDER);
  return {
    ...options,
    k: size(100_000),
    calibrate: size(20_000),
    growth: [size(10_000), size(100_000), size(300_000)],
    rowsTotal: size(1_000_000, 1000),
    rowsDelete: size(100_000),
    idleFiles: size(1_000_000, 1000),
    due: size(100_000),
    nasSizes: options.nasSizes ?? [nasSize(10_000), nasSize(100_000)],
  };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const distDir = join(ROOT, 'dist');
  if (!existsSync(join(distDir, 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench`)');
  }
  state.root = mkdtempSync(join(os.tmpdir(), 'nvr-bench-'));
  // A snapshot of dist/: someone rebuilding (rm -rf dist) while this runs cannot pull it away.
  const snapshot = join(state.root, 'app');
  cpSync(distDir, join(snapshot, 'dist'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(snapshot, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(snapshot, 'node_modules'));
  state.dist = join(snapshot, 'dist');
  const disk = describeDisk(os.tmpdir());
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = `${git(['rev-parse', '--short', 'HEAD']) || 'unknown commit'}${git(['status', '--porcelain', '--', 'src']) ? ' + uncommitted src/ changes' : ''}`;
  say(
    `nvr-retention bench: runs ${opts.runs}, scale ${opts.scale}; ${os.tmpdir()} is ${disk}; peak RSS via ${HAVE_TIME ? '/usr/bin/time' : 'process.resourceUsage()'}`,
  );

  const want = (section) => opts.only.includes(section);
  const results = { rss: [] };
  const notes = [];
  const failed = [];
  /** A section that fails is reported in the table and the others still run. */
  const section = async (name, work) => {
    try {
      await work();
    } catch (error) {
      failed.push(name);
      say(`  ${name} FAILED: ${error.stack ?? error}`);
      row(
        '!',
        `${name}: FAILED`,
        String(error.message ?? error)
          .split('\n')[0]
          .slice(0, 100),
      );
    }
  };
  if (want('rows')) {
    await section('rows', () => rowsSection(opts, results));
  }
  if (want('sweep-disk')) {
    await section('sweep-disk', () => sweepSection('real disk', join(state.root, 'disk'), true, { ...opts, scan: true }, results));
  }
  if (want('loop') && opts.loopDisk) {
    await section('loop (real disk)', () => loopSection('real disk', join(state.root, 'disk'), true, opts));
  }

  if (['sweep-tmpfs', 'loop', 'growth'].some(want)) {
    const most = Math.max(4 * opts.k, opts.calibrate * UNLINK_CANDIDATES.length, ...opts.growth);
    const mounted = mountTmpfs(join(state.root, 'tmpfs-sweep'), most);
    const [label, base, onDisk] = mounted ? ['tmpfs', mounted, false] : ['real disk', join(state.root, 'disk'), true];
    if (!mounted) {
      notes.push('no tmpfs (needs root): items 7 and 8 ran on the real disk, the tmpfs rows of item 1 are missing');
    }
    try {
      if (want('sweep-tmpfs') && mounted) {
        await section('sweep-tmpfs', () => sweepSection('tmpfs', base, false, { ...opts, scan: false }, results));
      }
      if (want('loop')) {
        await section('loop', () => loopSection(label, base, onDisk, opts));
      }
      if (want('growth')) {
        await section('growth', () => growthSection(label, base, onDisk, opts, results));
      }
    } finally {
      if (mounted) {
        unmount(mounted);
      }
    }
  }
  if (want('idle')) {
    const mounted = mountTmpfs(join(state.root, 'tmpfs-idle'), opts.idleFiles, 0); // empty files: inodes, no pages
    if (!mounted) {
      notes.push('no tmpfs (needs root): items 3 and 5 ran on the real disk');
    }
    try {
      await section('idle', () => idleSection(mounted ? 'tmpfs' : 'real disk', mounted ?? join(state.root, 'disk'), opts, results));
    } finally {
      if (mounted) {
        unmount(mounted);
      }
    }
  }
  if (want('nas')) {
    await section('nas', () => nasSection(opts, results, notes));
  }
  for (const [what, mb] of results.rss) {
    row(6, `peak RSS, ${what}`, fmtMB(mb), '', '', `≤ ${TARGETS.rssMB} MB`, verdict(mb, TARGETS.rssMB));
  }

  const order = (r) => (r[0] === '!' ? 0 : Number(r[0]));
  table.sort((a, b) => order(a) - order(b)); // stable: within an item, the order measured
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `\nnode ${process.version}, ${os.availableParallelism()} CPUs (${cpu}), ${Math.round(os.totalmem() / 1e9)} GB RAM; real disk (${os.tmpdir()}): ${disk}\n`,
  );
  process.stdout.write(
    `git HEAD ${commit}; runs ${opts.runs} (median), scale ${opts.scale}; bench took ${fmtMs(performance.now() - began)}; MB = 10^6 bytes${notes.length ? `; ${notes.join('; ')}` : ''}\n\n`,
  );
  printTable();
  if (failed.length) {
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--child') {
  const mode = CHILD_MODES[process.argv[3]];
  if (!mode) {
    throw new Error(`unknown helper ${process.argv[3]}`);
  }
  await mode(process.argv.slice(4));
} else {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      say(`\n${signal}: stopping, cleaning up`);
      cleanup();
      process.exit(130);
    });
  }
  try {
    await main();
  } catch (error) {
    process.exitCode = 1;
    say(`bench failed: ${error.stack ?? error}`);
  } finally {
    cleanup();
  }
}
