/**
 * Issue 6, crashes: real sweeps in a child process (the built engine, test/helpers/crash-child.js)
 * over a real tree of a few thousand files, killed with SIGKILL at seeded-random moments, then
 * a restart and one clean sweep in this process. After every round nothing that the rules keep is
 * gone, nothing outside the camera folders is touched, the index matches the disk and SQLite says
 * the file is sound. Between rounds the old recordings are written again, so every kill lands in a
 * sweep with work to do.
 *
 * Reproduce a run with CRASH_SEED=<the printed seed>; CRASH_KILLS sets how many kills (default 50).
 * The kill moments are seeded; where in the sweep each one lands still depends on the machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { parsePlatformConfigStrict } from '../src/config/schema.js';
import type { RetentionConfig } from '../src/config/types.js';
import { RetentionEngine, silentLogger } from '../src/retention/engine.js';
import { Store } from '../src/store/store.js';
import { seededRandom } from './helpers/random.js';
import { DAY_MS, filesBelow, makeSandbox, type Sandbox, writeRecording } from './helpers/tree.js';

const CHILD = fileURLToPath(new URL('./helpers/crash-child.js', import.meta.url));
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = Number(process.env.CRASH_KILLS ?? 50);
const CAMERAS = ['Front', 'Back', 'Garage'];
const RETENTION_DAYS = 7;
/** The default event retention: 3 × retentionDays. */
const EVENT_RETENTION_DAYS = 3 * RETENTION_DAYS;
const EXPORT_OWNER = 'crash test export';

/**
 * What each recording is, and so whether the rules delete it. Ages alone decide here (no quota,
 * cap or floor), so the expected outcome needs no planner: `old` goes, everything else stays.
 */
type Kind = 'old' | 'oldEvent' | 'young' | 'youngEvent' | 'protected' | 'keepUntil' | 'exportLocked';
const DELETED_KINDS = new Set<Kind>(['old', 'oldEvent']);

interface Planted {
  camera: string;
  cameraDir: string;
  relPath: string;
  kind: Kind;
  ageMs: number;
  sidecars: Record<string, string | number>;
}

let sandbox: Sandbox;
let mounted = false;
let config: RetentionConfig;
let configFile: string;
const planted: Planted[] = [];
/** Files outside the camera folders, with what they held and their mtime: none may change. */
const tripwires = new Map<string, { content: Buffer; mtimeMs: number }>();
/** Links inside camera folders that point out of them: they stay, and so does what they point at. */
const links: string[] = [];

function plantTree(random: () => number): void {
  for (const [c, camera] of CAMERAS.entries()) {
    const cameraDir = join(sandbox.root, camera.toLowerCase());
    const plant = (relPath: string, kind: Kind, ageMs: number) => {
      // Every recording has a JSON sidecar; every third also a thumbnail, which is a sidecar too.
      const sidecars: Record<string, string | number> = { json: '{"camera":"crash test"}' };
      if (planted.length % 3 === 0) {
        sidecars['thumb.jpg'] = 64;
      }
      planted.push({ camera, cameraDir, relPath, kind, ageMs, sidecars });
    };
    // Old and kept recordings share folders, so emptied-folder clean-up must leave the kept ones' folders.
    for (let k = 0; k < 500; k++) {
      const folder = `day-${k % 5}/hour-${Math.floor(k / 5) % 4}`;
      const roll = random();
      const kind: Kind =
        roll < 0.04 ? 'protected' : roll < 0.08 ? 'keepUntil' : roll < 0.12 ? 'exportLocked' : roll < 0.22 ? 'young' : 'old';
      const ageMs = kind === 'young' ? DAY_MS + k * 60_000 : (RETENTION_DAYS + 3) * DAY_MS + k * 60_000;
      plant(`${folder}/clip-${c}-${k}.mp4`, kind, ageMs);
    }
    for (let k = 0; k < 80; k++) {
      // Between the continuous and the event retention: kept as an event, deleted were it continuous.
      const young = k % 2 === 0;
      const ageMs = young ? (RETENTION_DAYS + 3) * DAY_MS + k * 60_000 : (EVENT_RETENTION_DAYS + 3) * DAY_MS + k * 60_000;
      plant(`events/${k % 4}/motion-${k}.mkv`, young ? 'youngEvent' : 'oldEvent', ageMs);
    }
  }
  for (const recording of planted) {
    writePlanted(recording);
  }

  // Tripwires: a sibling folder of the cameras, and a folder reached from inside the cameras through links.
  const outside = join(sandbox.root, 'outside');
  const elsewhere = join(sandbox.root, 'elsewhere');
  for (const dir of [outside, elsewhere]) {
    for (let k = 0; k < 20; k++) {
      writeRecording(dir, `old/clip-${k}.mp4`, { ageMs: 365 * DAY_MS, size: 100 + k, sidecars: { json: '{}' } });
    }
  }
  for (const camera of CAMERAS) {
    const cameraDir = join(sandbox.root, camera.toLowerCase());
    fs.symlinkSync(elsewhere, join(cameraDir, 'linked'));
    fs.symlinkSync(join(elsewhere, 'old', 'clip-0.mp4'), join(cameraDir, 'alias.mp4'));
    links.push(join(cameraDir, 'linked'), join(cameraDir, 'alias.mp4'));
  }
  for (const dir of [outside, elsewhere]) {
    for (const rel of filesBelow(dir)) {
      const file = join(dir, rel);
      tripwires.set(file, { content: fs.readFileSync(file), mtimeMs: fs.lstatSync(file).mtimeMs });
    }
  }
}

function writePlanted(recording: Planted): void {
  writeRecording(recording.cameraDir, recording.relPath, { ageMs: recording.ageMs, size: 200, sidecars: recording.sidecars });
}

/** Protection, keep-until and export leases live in the index: set them once the tree is indexed. */
async function holdRecordings(): Promise<void> {
  const store = Store.open(config.databasePath);
  const engine = new RetentionEngine(config, { store, log: silentLogger });
  try {
    engine.scan();
    const idsOf = (kind: Kind) =>
      planted
        .filter((r) => r.kind === kind)
        .map((r) => {
          const row = store.cameraByPath(r.cameraDir)!;
          return store.recordingByPath(row.id, r.relPath)!.id;
        });
    engine.protect(idsOf('protected'), 'crash test');
    engine.protect(idsOf('keepUntil'), 'crash test', Date.now() + 365 * DAY_MS);
    const leased = idsOf('exportLocked');
    expect(store.takeExportLock(leased, EXPORT_OWNER, Date.now() + 365 * DAY_MS, Date.now())).toEqual(leased);
  } finally {
    engine.close();
  }
}

interface ChildOutcome {
  killed: boolean;
  /** Milliseconds from "ready" to exit or kill. */
  ranMs: number;
  stderr: string;
}

/**
 * Runs one sweep in a child. With `killAfterMs`, SIGKILLs it that long after it said "ready"
 * (or, with `fromSpawn`, after it started: a kill while the index is still opening).
 */
function runChild(killAfterMs?: number, fromSpawn = false): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let readyAt = 0;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (killAfterMs !== undefined) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    };
    if (fromSpawn) {
      arm();
    }
    child.stdout.on('data', (chunk: Buffer) => {
      if (readyAt === 0 && chunk.toString().includes('ready')) {
        readyAt = Date.now();
        if (!fromSpawn) {
          arm();
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') {
        resolve({ killed: true, ranMs: readyAt === 0 ? 0 : Date.now() - readyAt, stderr });
      } else if (code === 0) {
        resolve({ killed: false, ranMs: Date.now() - readyAt, stderr });
      } else {
        reject(new Error(`the sweep child exited with ${code ?? signal}: ${stderr}`));
      }
    });
  });
}

/** The restart: a fresh engine on the same index, one clean sweep to the end. */
async function restartAndSweep(): Promise<void> {
  const engine = new RetentionEngine(config, { log: silentLogger });
  try {
    const report = await engine.sweep({ trigger: 'after crash' });
    expect({ status: report.status, failures: report.failures, unavailable: report.cameras.filter((c) => !c.available) }).toEqual({
      status: 'done',
      failures: [],
      unavailable: [],
    });
  } finally {
    engine.close();
  }
}

const expectedRecordings = () => planted.filter((r) => !DELETED_KINDS.has(r.kind));

/** Everything a user would check after the crash: the disk, the files outside, and the index. */
function checkAfterRestart(round: string): void {
  const survivors = expectedRecordings();
  for (const camera of CAMERAS) {
    const cameraDir = join(sandbox.root, camera.toLowerCase());
    const expected = survivors
      .filter((r) => r.camera === camera)
      .flatMap((r) => {
        const base = r.relPath.slice(0, r.relPath.lastIndexOf('.'));
        return [r.relPath, ...Object.keys(r.sidecars).map((suffix) => `${base}.${suffix}`)];
      });
    expect({ round, camera, files: filesBelow(cameraDir) }).toEqual({ round, camera, files: [...expected, 'alias.mp4', 'linked'].sort() });
  }
  for (const link of links) {
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  }
  for (const [file, before] of tripwires) {
    const now = { content: fs.readFileSync(file), mtimeMs: fs.lstatSync(file).mtimeMs };
    expect({ round, file, same: now.content.equals(before.content) && now.mtimeMs === before.mtimeMs }).toEqual({
      round,
      file,
      same: true,
    });
  }

  const db = new DatabaseSync(config.databasePath, { readOnly: true });
  try {
    expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
    const rows = db
      .prepare(
        `SELECT c.path AS camera, r.rel_path AS relPath, r.protected, r.keep_until AS keepUntil,
      r.export_lock_owner AS exportOwner, r.deleting FROM recordings r JOIN cameras c ON c.id = r.camera_id`,
      )
      .all() as {
      camera: string;
      relPath: string;
      protected: number;
      keepUntil: number | null;
      exportOwner: string | null;
      deleting: number;
    }[];
    const indexed = rows.map((row) => `${row.camera}/${row.relPath}`).sort();
    expect({ round, indexed }).toEqual({ round, indexed: survivors.map((r) => `${r.cameraDir}/${r.relPath}`).sort() });
    const byPath = new Map(rows.map((row) => [`${row.camera}/${row.relPath}`, row]));
    for (const r of survivors) {
      const row = byPath.get(`${r.cameraDir}/${r.relPath}`)!;
      expect(row.deleting).toBe(0);
      if (r.kind === 'protected') {
        expect(row.protected).toBe(1);
      }
      if (r.kind === 'keepUntil') {
        expect(row.keepUntil).not.toBeNull();
      }
      if (r.kind === 'exportLocked') {
        expect(row.exportOwner).toBe(EXPORT_OWNER);
      }
    }
    // The per-camera totals kept by triggers must still add up after a kill mid-transaction.
    const drift = db
      .prepare(
        `SELECT c.name, c.recording_count AS counted, (SELECT COUNT(*) FROM recordings r WHERE r.camera_id = c.id) AS actual
      FROM cameras c`,
      )
      .all() as { name: string; counted: number; actual: number }[];
    expect(drift.filter((d) => d.counted !== d.actual)).toEqual([]);
  } finally {
    db.close();
  }
}

/** Rows the killed sweep had claimed for deletion; the index as the kill left it must already be sound. */
function claimedAtKill(): number {
  const db = new DatabaseSync(config.databasePath, { readOnly: true });
  try {
    expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
    return (db.prepare('SELECT COUNT(*) AS n FROM recordings WHERE deleting = 1').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The next round's work: the old recordings are written again (their folders may have been removed). */
function replant(): void {
  for (const recording of planted) {
    if (DELETED_KINDS.has(recording.kind)) {
      writePlanted(recording);
    }
  }
}

beforeAll(async () => {
  sandbox = makeSandbox('nvr-crash');
  // A tmpfs holds the tree: a real filesystem that rewrites thousands of files per round fast enough for CI.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', sandbox.root]);
  mounted = true;
  const block = {
    platform: 'NvrRetention',
    cameras: CAMERAS.map((name) => ({ name, path: join(sandbox.root, name.toLowerCase()), retentionDays: RETENTION_DAYS })),
    databasePath: sandbox.databasePath,
  };
  configFile = join(sandbox.storage, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(block));
  config = parsePlatformConfigStrict(block, { storagePath: sandbox.storage });
  for (const camera of CAMERAS) {
    fs.mkdirSync(join(sandbox.root, camera.toLowerCase()));
  }
  plantTree(seededRandom(SEED));
  await holdRecordings();
});

afterAll(() => {
  if (mounted) {
    execFileSync('umount', [sandbox.root]);
  }
  sandbox.remove();
});

test(`SIGKILL at ${KILLS} random moments of a sweep loses nothing the rules keep (CRASH_SEED=${SEED})`, async () => {
  console.log(
    `crash test: CRASH_SEED=${SEED} CRASH_KILLS=${KILLS}, ${planted.length} recordings, ${planted.filter((r) => DELETED_KINDS.has(r.kind)).length} to delete per round`,
  );
  const random = seededRandom(SEED ^ 0x5eed);

  // Whole sweeps, uninterrupted, give the span the kills are spread over (the median of three: the machine is shared).
  const calibration: number[] = [];
  for (let run = 0; run < 3; run++) {
    calibration.push((await runChild()).ranMs);
    checkAfterRestart(`calibration ${run}`);
    replant();
  }
  let span = Math.max(calibration.sort((a, b) => a - b)[1], 50);

  let kills = 0;
  /** Kills that left claimed rows behind: the sweep was between its claim and its row deletes. */
  let killsMidDeletion = 0;
  let rounds = 0;
  const landed: number[] = [];
  while (kills < KILLS) {
    rounds++;
    if (rounds > KILLS * 3) {
      throw new Error(`only ${kills} of ${rounds} sweeps could be killed before they finished`);
    }
    // One round in ten is killed counting from spawn, so some kills hit the index being opened.
    const fromSpawn = rounds % 10 === 0;
    // Every other kill falls in the later part of the sweep, where the scan is over and the unlinks run.
    const delay = Math.round(2 + (rounds % 2 === 0 ? random() * span : span * (0.4 + 0.6 * random())));
    const outcome = await runChild(delay, fromSpawn);
    // A sweep that outran its kill shows the machine is slower now than at calibration.
    if (!outcome.killed) {
      span = Math.max(span, outcome.ranMs);
    }
    if (outcome.killed) {
      kills++;
      landed.push(outcome.ranMs);
      if (claimedAtKill() > 0) {
        killsMidDeletion++;
      }
    }
    await restartAndSweep();
    checkAfterRestart(
      `round ${rounds} (kill after ${delay} ms${fromSpawn ? ' from spawn' : ''}, ${outcome.killed ? 'killed' : 'finished first'})`,
    );
    replant();
  }
  console.log(
    `crash test: ${kills} kills in ${rounds} rounds (${killsMidDeletion} mid-deletion); a full sweep took ${span} ms; kills landed ${Math.min(...landed)}–${Math.max(...landed)} ms into the sweep`,
  );
  expect(kills).toBeGreaterThanOrEqual(KILLS);
  // Most kills must hit the deletions themselves, or the test proves little.
  expect(killsMidDeletion).toBeGreaterThanOrEqual(KILLS / 10);
}, 600_000);
