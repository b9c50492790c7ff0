/**
 * Issue 6, hostile input to the settings UI's server: fast-check throws at least 1,000 random and
 * well-formed-but-hostile request bodies at every handler, then 500 batches of 2-4 requests sent at
 * once. The handlers are the plain functions homebridge-ui/server.js registers, over a real engine,
 * a real index (node:sqlite) and a real generated recordings tree; nothing is mocked (`push`, the
 * IPC channel to the page, is a no-op: the handlers' answers are what is checked).
 *
 * After every request: a failure is a RequestError with a short message a person can read; no file
 * outside the camera folders changed (content and mtime), the export folder only gained copies; a
 * recording file went only when a delete named its id and it was deletable then (never a
 * protected, kept-until or exporting one); protect/unprotect counts match the index. After each
 * handler's runs the index passes integrity_check and matches the disk. The rules on disk delete
 * nothing (long retention, no quota), so a sweep started by a valid body may delete nothing either.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { join, sep } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RequestError } from '@homebridge/plugin-ui-utils';
import fc from 'fast-check';
import { MAX_SELECTION } from '../src/ui/requests.js';
import { SettingsUi, type Handler } from '../src/ui/settings-ui.js';
import { DAY_MS, HOUR_MS, makeSandbox, type Sandbox, writeRecording } from './helpers/tree.js';

const RUNS = 1000;
const SEED = 20261122;

let sandbox: Sandbox;
let ui: SettingsUi;
let call: Record<string, Handler>;
let front: string;
let back: string;
let outside: string;
let exportPath: string;
let configPath: string;
let databasePath: string;
let index: DatabaseSync;
/** Every recording written (absolute path), with its sidecars (absolute paths). */
let written: { recording: string; sidecars: string[]; write: () => void }[];
/** Ids the first scan gave, and a bound a little past the last. */
let maxId: number;

/** What was tried per handler, printed at the end. */
const tried: Record<string, { runs: number; accepted: number; refused: number; filesDeleted: number; filesExported: number }> = {};

interface Entry {
  kind: 'file' | 'link' | 'other';
  size: number;
  mtimeMs: number;
  hash?: string;
}

/** Every non-folder entry below `dir`, by absolute path; links are not followed. `hash` for files outside the camera folders. */
function snapshot(dir: string, hashed: (path: string) => boolean, out = new Map<string, Entry>()): Map<string, Entry> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      snapshot(path, hashed, out);
      continue;
    }
    const stat = fs.lstatSync(path);
    const kind = entry.isFile() ? 'file' : entry.isSymbolicLink() ? 'link' : 'other';
    out.set(path, {
      kind,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      hash:
        kind === 'file' && hashed(path)
          ? createHash('sha256').update(fs.readFileSync(path)).digest('hex')
          : kind === 'link'
            ? fs.readlinkSync(path)
            : undefined,
    });
  }
  return out;
}

const inside = (folder: string, path: string) => path.startsWith(folder + sep);
const inCameras = (path: string) => inside(front, path) || inside(back, path);
/** The index's own files (database, WAL, holds journal) change on every write; everything else in storage must not. */
const isIndexFile = (path: string) => inside(join(sandbox.storage, 'nvr-retention'), path);

function everything(): Map<string, Entry> {
  const hashed = (path: string) => !inCameras(path) && !isIndexFile(path);
  return snapshot(sandbox.storage, hashed, snapshot(sandbox.root, hashed));
}

interface IndexedRecording {
  id: number;
  camera: string;
  cls: 'continuous' | 'event';
  endTime: number;
  files: string[];
  deletable: boolean;
  held: boolean;
  lasting: boolean;
}

/** The index as it is now, read beside the engine (WAL: a reader sees what was committed). */
function indexedRecordings(now = Date.now()): Map<number, IndexedRecording> {
  const rows = index
    .prepare(
      `SELECT r.id, c.name AS camera, r.class, r.end_time, c.path AS folder, r.rel_path, r.sidecars, r.protected, r.keep_until,
        r.export_lock_until
    FROM recordings r JOIN cameras c ON c.id = r.camera_id`,
    )
    .all() as {
    id: number;
    camera: string;
    class: number;
    end_time: number;
    folder: string;
    rel_path: string;
    sidecars: string | null;
    protected: number;
    keep_until: number | null;
    export_lock_until: number | null;
  }[];
  return new Map(
    rows.map((row) => {
      const absolute = join(row.folder, row.rel_path);
      const dir = absolute.slice(0, absolute.lastIndexOf(sep));
      const sidecars = (JSON.parse(row.sidecars ?? '[]') as string[]).map((name) => join(dir, name));
      const held = row.protected === 1 || (row.keep_until !== null && row.keep_until > now);
      const exporting = row.export_lock_until !== null && row.export_lock_until > now;
      return [
        row.id,
        {
          id: row.id,
          camera: row.camera,
          cls: row.class === 1 ? 'event' : 'continuous',
          endTime: row.end_time,
          files: [absolute, ...sidecars],
          held,
          lasting: row.protected === 1,
          deletable: !held && !exporting,
        },
      ];
    }),
  );
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/**
 * Ids a body names, read the way a valid request would be: `ids` as an array of ids, or every
 * recording matching `filter` ("select all N matches"), matched here the way the filter reads.
 */
function namedIds(body: unknown, recordings: Map<number, IndexedRecording>): Set<number> {
  const own = (key: string) =>
    body !== null && typeof body === 'object' && !Array.isArray(body) && Object.prototype.hasOwnProperty.call(body, key)
      ? (body as Record<string, unknown>)[key]
      : undefined;
  const ids = own('ids');
  const filter = own('filter');
  const named = new Set(Array.isArray(ids) ? ids.filter((id): id is number => Number.isSafeInteger(id) && id > 0) : []);
  if (isPlain(filter)) {
    const { cameras, cls, protection, since, until } = filter as {
      cameras?: unknown[];
      cls?: unknown;
      protection?: unknown;
      since?: unknown;
      until?: unknown;
    };
    for (const recording of recordings.values()) {
      const held = recording.held || recording.lasting;
      const matches =
        (!Array.isArray(cameras) || cameras.length === 0 || cameras.includes(recording.camera)) &&
        (cls === undefined || cls === recording.cls) &&
        (protection === undefined || (protection === 'only' ? held : !held)) &&
        (typeof since !== 'number' || recording.endTime >= since) &&
        (typeof until !== 'number' || recording.endTime < until);
      if (matches) {
        named.add(recording.id);
      }
    }
  }
  return named;
}

function describeBody(body: unknown): string {
  try {
    const text = JSON.stringify(body);
    return text === undefined ? String(body) : text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
  } catch {
    return String(body);
  }
}

/** One request, and every promise checked around it. Fails the property with what broke. */
function request(path: string, body: unknown): Promise<void> {
  return requests([{ path, body }], '');
}

/** Whether a refusal is what the page may show: a RequestError with a short message for a person. */
function checkRefusal(path: string, body: unknown, error: unknown): void {
  if (!(error instanceof RequestError)) {
    throw new Error(
      `${path} ${describeBody(body)} threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.stack ?? String(error)}`,
      { cause: error },
    );
  }
  const { message } = error;
  const code = (error.requestError as { code?: string } | undefined)?.code;
  // Quoted text is the browser's own field names, shown back as sent (a field may be named "undefined").
  const unquoted = typeof message === 'string' ? message.replace(/"[^"]*"/g, '""') : message;
  const unreadable =
    typeof message !== 'string' ||
    message.length === 0 ||
    message.length > 600 ||
    /undefined|\n\s+at |\[object /.test(unquoted) ||
    code === 'internal';
  if (unreadable) {
    throw new Error(`${path} ${describeBody(body)} answered an unreadable error (${code}): ${message.slice(0, 1000)}`, { cause: error });
  }
}

/**
 * Requests sent at once (the UI server answers them interleaved), then the checks over what they
 * did together: a recording may go only when a delete among them named it and it was deletable,
 * or held and released by an unprotect among them.
 */
async function requests(batch: { path: string; body: unknown }[], tallyPrefix: string): Promise<void> {
  const tallyOf = (path: string) =>
    (tried[`${tallyPrefix}${path}`] ??= { runs: 0, accepted: 0, refused: 0, filesDeleted: 0, filesExported: 0 });
  const before = everything();
  const recordings = indexedRecordings();
  const outcomes = await Promise.allSettled(batch.map(({ path, body }) => call[path](body)));
  const problems: string[] = [];
  const failures: unknown[] = [];
  for (const [k, { path, body }] of batch.entries()) {
    const tally = tallyOf(path);
    tally.runs++;
    const outcome = outcomes[k];
    if (outcome.status === 'rejected') {
      tally.refused++;
      try {
        checkRefusal(path, body, outcome.reason);
      } catch (error) {
        failures.push(error);
      }
      continue;
    }
    tally.accepted++;
    // What the page says ("Protected 3 recordings.", "Released 2 holds.") counts recordings that exist.
    if (batch.length === 1 && ['/protect', '/keep-until', '/unprotect'].includes(path)) {
      const existing = [...namedIds(body, recordings)].map((named) => recordings.get(named)).filter((recording) => recording !== undefined);
      const { changed } = outcome.value as { changed: number };
      const expected =
        path === '/protect'
          ? existing.filter((recording) => !recording.lasting).length
          : path === '/unprotect'
            ? existing.filter((recording) => recording.held).length
            : undefined;
      if (expected === undefined ? changed > existing.length : changed !== expected) {
        problems.push(
          `${path} answered changed: ${changed} for ${existing.length} existing recordings named${expected === undefined ? '' : ` (expected ${expected})`}`,
        );
      }
    }
  }
  if (failures.length) {
    throw failures[0];
  }
  // A sweep started by "Sweep now" runs on after the answer: its effects count for these requests.
  await ui.running;
  const after = everything();
  const namedBy = (path: string) =>
    new Set(batch.filter((sent) => sent.path === path).flatMap((sent) => [...namedIds(sent.body, recordings)]));
  const deleted = namedBy('/delete');
  const released = namedBy('/unprotect');
  const mayGo = new Set<string>();
  const mustStay = new Set<string>();
  for (const recording of recordings.values()) {
    const free = recording.deletable || (recording.held && released.has(recording.id));
    for (const file of recording.files) {
      if (recording.held && !released.has(recording.id)) {
        mustStay.add(file);
      }
      if (free && deleted.has(recording.id)) {
        mayGo.add(file);
      }
    }
  }
  for (const [file, entry] of before) {
    const now = after.get(file);
    if (!now) {
      if (!inCameras(file) && !isIndexFile(file)) {
        problems.push(`${file} outside the camera folders was removed`);
      } else if (mustStay.has(file)) {
        problems.push(`protected ${file} was deleted`);
      } else if (inCameras(file) && !mayGo.has(file)) {
        problems.push(`${file} was deleted though no valid request named it`);
      } else if (inCameras(file)) {
        tallyOf('/delete').filesDeleted++;
      }
      continue;
    }
    if (isIndexFile(file)) {
      continue;
    }
    if (now.kind !== entry.kind || now.size !== entry.size || now.mtimeMs !== entry.mtimeMs || now.hash !== entry.hash) {
      problems.push(`${file} changed (${JSON.stringify(entry)} → ${JSON.stringify(now)})`);
    }
  }
  const exporting = batch.some((sent) => sent.path === '/export');
  for (const file of after.keys()) {
    if (before.has(file) || isIndexFile(file)) {
      continue;
    }
    if (exporting && (inside(join(exportPath, 'Front Door'), file) || inside(join(exportPath, 'Back Yard'), file))) {
      tallyOf('/export').filesExported++;
      continue;
    }
    problems.push(`${file} appeared`);
  }
  if (problems.length) {
    throw new Error(`${batch.map(({ path, body }) => `${path} ${describeBody(body)}`).join(' + ')}: ${problems.join('; ')}`);
  }
}

/** integrity_check, and the index and the disk agree: no row without its file, no recording on disk without its row. */
function expectIndexMatchesDisk(): void {
  expect(index.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
  // Every date the index holds can be shown (the CLI's list prints keep-until dates as ISO text).
  const { latest } = index.prepare('SELECT MAX(keep_until) AS latest FROM recordings').get() as { latest: number | null };
  expect(Number.isNaN(new Date(latest ?? 0).getTime())).toBe(false);
  const rows = indexedRecordings();
  const indexedFiles = new Set([...rows.values()].map((recording) => recording.files[0]));
  for (const file of indexedFiles) {
    expect([file, fs.existsSync(file)]).toEqual([file, true]);
  }
  for (const { recording } of written) {
    expect([recording, indexedFiles.has(recording)]).toEqual([recording, fs.existsSync(recording)]);
  }
}

beforeAll(async () => {
  sandbox = makeSandbox('ui-fuzz');
  front = join(sandbox.root, 'front-door');
  back = join(sandbox.root, 'back-yard');
  outside = join(sandbox.root, 'outside');
  exportPath = join(sandbox.storage, 'exports');
  configPath = join(sandbox.storage, 'config.json');
  written = [];
  const add = (folder: string, relPath: string, ageMs: number, event: boolean) => {
    const write = () =>
      writeRecording(folder, relPath, { ageMs, size: 1500, sidecars: event ? { json: { trigger: 'motion' }, 'thumb.jpg': 300 } : {} });
    const recording = write();
    written.push({
      recording,
      write,
      sidecars: event ? [recording.replace(/\.mp4$/, '.json'), recording.replace(/\.mp4$/, '.thumb.jpg')] : [],
    });
  };
  for (let i = 0; i < 30; i++) {
    add(front, `continuous/2026-11/seg-${String(i).padStart(2, '0')}.mp4`, (i + 1) * 5 * HOUR_MS, false);
    add(back, `seg ${i} ünïcode.mp4`, (i + 1) * 7 * HOUR_MS, false);
  }
  for (let d = 0; d < 10; d++) {
    add(front, `events/motion-${d}.mp4`, d * DAY_MS + 3 * HOUR_MS, true);
  }
  // Tripwires: what a `../` or an absolute path where an id belongs would reach.
  writeRecording(outside, 'old-evidence.mp4', { ageMs: 400 * DAY_MS, size: 2000 });
  writeRecording(outside, 'nested/older.mp4', { ageMs: 800 * DAY_MS, size: 2000 });
  fs.writeFileSync(join(sandbox.root, 'secret.txt'), 'not a recording');
  fs.symlinkSync(outside, join(front, 'link-to-outside'));
  fs.mkdirSync(exportPath);
  fs.writeFileSync(join(exportPath, 'earlier-export.mp4'), Buffer.alloc(1000, 7));
  fs.writeFileSync(join(sandbox.storage, 'other-plugin.json'), '{"keep":true}');
  const platform = {
    platform: 'NvrRetention',
    name: 'NVR Retention',
    exportPath,
    sweepOnStartup: false,
    // Rules that delete nothing: whatever is deleted was asked for by id.
    cameras: [
      { name: 'Front Door', path: front, retentionDays: 3650, eventRetentionDays: 3650 },
      { name: 'Back Yard', path: back, retentionDays: 3650 },
    ],
  };
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      {
        bridge: { name: 'NVR Fuzz', username: '0E:AA:BB:CC:DD:09', port: 51998, pin: '031-45-154' },
        accessories: [],
        platforms: [platform],
      },
      null,
      2,
    ),
  );
  databasePath = join(sandbox.storage, 'nvr-retention', 'index.db');
  ui = new SettingsUi({ configPath, storagePath: sandbox.storage, push: () => {} });
  call = ui.handlers();
  await call['/preview']({});
  index = new DatabaseSync(databasePath, { readOnly: true });
  maxId = Math.max(...indexedRecordings().keys());
  expect(indexedRecordings().size).toBe(written.length);
});

afterAll(async () => {
  await ui?.shutdown();
  index?.close();
  sandbox?.remove();
  const lines = Object.entries(tried).map(
    ([path, t]) =>
      `${path.padEnd(27)} ${String(t.runs).padStart(5)} tried, ${String(t.accepted).padStart(4)} accepted, ${String(t.refused).padStart(4)} refused (RequestError); files deleted ${t.filesDeleted}, exported ${t.filesExported}`,
  );
  console.log(`UI server fuzz (seed ${SEED}):\n${lines.join('\n')}`);
});

/** Holds placed before a handler's runs, so that every handler meets protected and kept recordings. */
async function placeHolds(): Promise<void> {
  const ids = [...indexedRecordings().keys()].sort((a, b) => a - b);
  await call['/protect']({ ids: ids.filter((id) => id % 3 === 0) });
  await call['/keep-until']({ ids: ids.filter((id) => id % 3 === 1 && id % 2 === 0), until: Date.now() + 30 * DAY_MS });
}

// ---- generators ---------------------------------------------------------------------------------

const LONG = 'x'.repeat(100_000);
const hostileStrings = () => [
  '../outside/old-evidence.mp4',
  '../../../../etc/passwd',
  '/etc/passwd',
  join(outside, 'old-evidence.mp4'),
  join(front, 'events/motion-1.mp4'),
  'link-to-outside/old-evidence.mp4',
  '..',
  '.',
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\n',
  LONG,
  '😀'.repeat(300),
  '__proto__',
  'constructor',
  'prototype',
  'undefined',
  'null',
  'NaN',
  '1',
  '-1',
  '1e999',
  'Front Door',
  'front door',
  'Front Door/../Back Yard',
  '%2e%2e%2f',
  "'; DROP TABLE recordings; --",
  '<img src=x onerror=alert(1)>',
  'toString',
  'hasOwnProperty',
];
const hostileNumbers = [
  0,
  -0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  8.64e15,
  8.64e15 + 1,
  -8.64e15,
  1e21,
  2 ** 31,
  2 ** 63,
];

function hostileScalar(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...hostileStrings(), ...hostileNumbers, null, undefined, true, false),
    fc.string({ maxLength: 50 }),
    fc.double(),
    fc.integer(),
    fc.bigInt(),
    fc.date({ noInvalidDate: false }),
  );
}

function hostile(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: hostileScalar() },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        JSON.parse('{"__proto__":{"ids":[1],"until":99999999999999}}'),
        JSON.parse('{"constructor":{"prototype":{"ids":[1]}}}'),
        Object.create(null),
        [],
        [{}],
        [[1]],
        { length: 1, 0: 1 },
        new Map([['ids', [1]]]),
        Buffer.from('ids'),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.anything({
        maxDepth: 2,
        maxKeys: 4,
        withNullPrototype: true,
        withObjectString: true,
        withBoxedValues: true,
        withSparseArray: true,
      }),
    },
  );
}

/** Adds fields a schema does not know, prototype-looking ones included, as own properties. */
function withExtras(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      base,
      fc.array(
        fc.tuple(
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'path', 'relPath', 'camera', LONG.slice(0, 1000)),
          hostileScalar(),
        ),
        { maxLength: 2 },
      ),
    )
    .map(([body, extras]) => {
      const out = { ...body };
      for (const [key, value] of extras) {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return out;
    });
}

/** A body: mostly the right shape with hostile parts, sometimes extra fields, sometimes anything at all. */
function body(shape: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: shape }, { weight: 2, arbitrary: withExtras(shape) }, { weight: 2, arbitrary: hostile() });
}

const id = () =>
  fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: maxId + 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000_000, max: 2 ** 31 }) },
    { weight: 2, arbitrary: hostileScalar() },
  );
const ids = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: maxId + 5 }), { minLength: 1, maxLength: 8 }) },
    { weight: 4, arbitrary: fc.array(id(), { maxLength: 8 }) },
    // Huge selections of ids that do not exist: the largest allowed, and one too many.
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Array.from({ length: MAX_SELECTION }, (_, i) => 10_000_000 + i),
        Array.from({ length: MAX_SELECTION + 1 }, (_, i) => 10_000_000 + i),
        Array.from({ length: 200_000 }, () => 0),
      ),
    },
    { weight: 1, arbitrary: hostile() },
  );
/** Mostly what the page sends, sometimes something hostile in its place. */
const mostly = (valid: fc.Arbitrary<unknown>, other: fc.Arbitrary<unknown> = hostileScalar()) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: other });
const future = () =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 400 }).map((days) => Date.now() + days * DAY_MS) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((days) => Date.now() - days * DAY_MS) },
    // Out of a Date's range, and at its edge.
    { weight: 1, arbitrary: fc.constantFrom(...hostileNumbers, 8.64e15 - 1, 9e15, Number.MAX_SAFE_INTEGER) },
    { weight: 1, arbitrary: hostileScalar() },
  );
const optional = (arbitrary: fc.Arbitrary<unknown>) => fc.option(arbitrary, { nil: undefined });
const cameraName = () => mostly(fc.constantFrom('Front Door', 'Back Yard'));

function strip(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** The browser's filter, as "select all N matches" sends it. */
const filter = () =>
  fc
    .record({
      cameras: optional(mostly(fc.array(cameraName(), { maxLength: 3 }))),
      cls: optional(mostly(fc.constantFrom('continuous', 'event'))),
      protection: optional(mostly(fc.constantFrom('only', 'none'))),
      since: optional(future()),
      until: optional(future()),
    })
    .map(strip);

/** An action's recordings: ids one by one, or every match of a filter. */
const selection = (): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof({ weight: 4, arbitrary: fc.record({ ids: ids() }) }, { weight: 1, arbitrary: fc.record({ filter: mostly(filter()) }) });

const bodies: Record<string, () => fc.Arbitrary<unknown>> = {
  '/dashboard': () => body(fc.constant({})),
  '/preview': () =>
    body(
      fc.record({ camera: optional(cameraName()), reason: optional(mostly(fc.constantFrom('age', 'quota', 'cap', 'floor'))) }).map(strip),
    ),
  '/sweep': () => body(fc.constant({})),
  '/command': () => body(fc.constant({})),
  '/events': () => body(fc.record({ limit: optional(fc.oneof(fc.integer({ min: 1, max: 500 }), hostileScalar())) }).map(strip)),
  '/recordings': () =>
    body(
      fc
        .record({
          cameras: optional(
            mostly(
              fc.array(cameraName(), { maxLength: 3 }),
              fc.oneof(fc.constant(Array.from({ length: 1000 }, () => 'Front Door')), hostile()),
            ),
          ),
          cls: optional(mostly(fc.constantFrom('continuous', 'event'))),
          protection: optional(mostly(fc.constantFrom('only', 'none'))),
          since: optional(future()),
          until: optional(future()),
          sort: optional(mostly(fc.constantFrom('newest', 'oldest', 'largest', 'smallest'))),
          limit: optional(mostly(fc.integer({ min: 1, max: 200 }))),
          after: optional(
            mostly(
              fc.record({
                value: mostly(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))),
                cls: mostly(fc.constantFrom(0, 1)),
                relPath: fc.oneof(fc.constantFrom(...hostileStrings()), fc.string()),
                id: id(),
              }),
              hostile(),
            ),
          ),
        })
        .map(strip),
    ),
  '/protect': () => body(selection()),
  '/unprotect': () => body(selection()),
  '/keep-until': () => body(fc.tuple(selection(), future()).map(([chosen, until]) => ({ ...chosen, until }))),
  '/delete/preview': () => body(selection()),
  '/delete': () => body(selection()),
  '/export': () => body(selection()),
  '/poll': () => body(fc.constant({})),
  '/media': () =>
    body(
      fc
        .record({
          id: id(),
          part: optional(mostly(fc.constantFrom('recording', 'thumbnail'))),
          offset: optional(mostly(fc.integer({ min: 0, max: 2_000_000 }))),
        })
        .map(strip),
    ),
  '/accept-missing': () => body(fc.record({ camera: cameraName() })),
};

describe('every handler of the settings UI server, 1,000 random bodies each', () => {
  test('the fuzz covers every handler the server registers', () => {
    expect(Object.keys(bodies).sort()).toEqual(Object.keys(call).sort());
  });

  // Deleting handlers last, so that the others meet a full tree; holds are placed again before each.
  for (const path of [
    '/dashboard',
    '/command',
    '/events',
    '/recordings',
    '/delete/preview',
    '/preview',
    '/accept-missing',
    '/protect',
    '/keep-until',
    '/unprotect',
    '/export',
    '/sweep',
    '/delete',
  ]) {
    test(`${path}: only RequestErrors with readable messages, nothing outside the camera folders touched, only deletable recordings named by a delete go`, async () => {
      await placeHolds();
      await fc.assert(
        fc.asyncProperty(bodies[path](), (generated) => request(path, generated)),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      expect(tried[path].runs).toBeGreaterThanOrEqual(RUNS);
      // Hostile is not all: a fair share of the bodies were valid and did their work.
      expect(tried[path].accepted).toBeGreaterThan(0);
      expect(tried[path].refused).toBeGreaterThan(0);
      expectIndexMatchesDisk();
    }, 600_000);
  }

  test('requests sent at once (deletes, sweeps, exports and holds interleaved): the same promises hold', async () => {
    // The deletes above emptied the tree of deletable recordings: the recorder writes them again.
    for (const recording of written) {
      if (!fs.existsSync(recording.recording)) {
        recording.write();
      }
    }
    await call['/dashboard']({});
    maxId = Math.max(...indexedRecordings().keys());
    await placeHolds();
    const sent = fc.oneof(
      ...Object.entries(bodies).map(([path, arbitrary]) => arbitrary().map((generated) => ({ path, body: generated }))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(sent, { minLength: 2, maxLength: 4 }), (batch) => requests(batch, 'together: ')),
      { numRuns: RUNS / 2, seed: SEED, endOnFailure: true },
    );
    const together = Object.entries(tried)
      .filter(([key]) => key.startsWith('together: '))
      .map(([, tally]) => tally);
    expect(together.reduce((sum, tally) => sum + tally.runs, 0)).toBeGreaterThanOrEqual(RUNS);
    expect(together.reduce((sum, tally) => sum + tally.filesDeleted, 0)).toBeGreaterThan(0);
    expectIndexMatchesDisk();
  }, 600_000);

  test('protected recordings are all still there after the fuzz', () => {
    const held = [...indexedRecordings().values()].filter((recording) => recording.held);
    expect(held.length).toBeGreaterThan(0);
    for (const recording of held) {
      for (const file of recording.files) {
        expect([file, fs.existsSync(file)]).toEqual([file, true]);
      }
    }
  });
});
