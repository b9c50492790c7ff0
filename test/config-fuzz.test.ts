/**
 * Issue 6, hostile config: fast-check throws random and malformed platform blocks at the config
 * parser and at the platform as Homebridge starts it. Real parts: the parser, the built plugin
 * (dist/platform.js, as Homebridge loads it) with Homebridge's own HomebridgeAPI class and its
 * PlatformAccessory, real folders, links and worker threads. The only stand-in is the logger,
 * which captures lines instead of printing them (Homebridge's Logger writes to the console).
 *
 * Paths through symbolic links are refused, not resolved: links are never followed (rules §1), and a
 * link can later be pointed elsewhere, so the folder a camera names must be the folder it is.
 */
import { fork, type Serializable } from 'node:child_process';
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  cameraSchema,
  ConfigError,
  formatIssue,
  parsePlatformConfig,
  parsePlatformConfigStrict,
  platformSchema,
  type ConfigIssue,
} from '../src/config/schema.js';
import type { RetentionConfig } from '../src/config/types.js';
import { makeSandbox, type Sandbox } from './helpers/tree.js';

const HOST = fileURLToPath(new URL('./helpers/platform-host.js', import.meta.url));
const RUNS = 1000;

let sandbox: Sandbox;
/** Folders a camera may safely use (some exist, one does not). */
let safeFolders: string[];
/** Paths that must never be accepted as a camera folder, whatever else the block says. */
let dangerousPaths: string[];
/** Paths that only become dangerous beside another camera: same folder, inside, containing. */
let overlappingPaths: string[];

beforeAll(() => {
  sandbox = makeSandbox('nvr-config-fuzz');
  const cams = join(sandbox.root, 'cams');
  for (const name of ['a', 'b', 'c', 'a/inner']) {
    fs.mkdirSync(join(cams, name), { recursive: true });
  }
  fs.mkdirSync(join(sandbox.storage, 'sub'));
  fs.symlinkSync(cams, join(sandbox.root, 'link-to-cams'));
  fs.symlinkSync(sandbox.storage, join(sandbox.root, 'link-to-storage'));
  fs.symlinkSync(join(cams, 'b'), join(cams, 'link-to-b'));
  safeFolders = ['a', 'b', 'c', 'not-yet-there'].map((name) => join(cams, name));
  dangerousPaths = [
    '/',
    '//',
    '/..',
    sandbox.storage,
    `${sandbox.storage}/`,
    `${sandbox.storage}/sub`,
    `${sandbox.storage}/sub/..`,
    dirname(sandbox.storage),
    dirname(dirname(sandbox.storage)),
    join(sandbox.root, 'link-to-storage'),
    `${join(sandbox.root, 'link-to-storage')}/sub`,
    join(sandbox.root, 'link-to-cams', 'a'),
    join(cams, 'link-to-b'),
    'cams/a',
    './cams',
    '../cams',
    '~/cams',
    '',
    ' ',
    'C:\\cams',
    `${join(cams, 'a')}\u0000`,
    `${join(cams, 'nul')}\u0000/x`,
  ];
  overlappingPaths = [cams, `${join(cams, 'a')}/`, join(cams, 'a', 'inner'), join(cams, 'b', '..', 'a'), `${cams}//c`];
});

afterAll(() => {
  sandbox.remove();
});

// ---- generators ---------------------------------------------------------------------------------

const junk = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, Number.NaN, Number.POSITIVE_INFINITY, '', ' ', '0', '7', 'yes', [], {}, [1], { a: 1 }),
  // What JSON.parse can hand over, prototype-looking keys included.
  fc.constantFrom(JSON.parse('{"__proto__":{"retentionDays":7}}') as unknown, { constructor: 1, toString: 'x', hasOwnProperty: null }),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.jsonValue({ maxDepth: 3 }),
);
/** Mostly valid, sometimes not: a block with one bad field among good ones tests more than pure noise. */
const mostly = <T>(valid: fc.Arbitrary<T>, ...wrong: unknown[]) =>
  fc.oneof({ weight: 16, arbitrary: valid }, { weight: 1, arbitrary: wrong.length > 0 ? fc.oneof(fc.constantFrom(...wrong), junk) : junk });
const days = mostly(fc.oneof(fc.double({ min: 0.01, max: 400, noNaN: true }), fc.integer({ min: 1, max: 400 })));

/** Random text may be an absolute path anywhere: the platform, which really creates and deletes, gets none. */
const notOutsideSandbox = (v: unknown) =>
  typeof v !== 'string' || !v.trim().startsWith('/') || v.startsWith(sandbox.root) || v.startsWith(sandbox.storage);

/** `forPlatform` keeps every absolute path inside the sandbox or among the known dangerous ones: the platform really runs. */
function cameraPath(forPlatform: boolean) {
  const known = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...safeFolders) },
    { weight: 3, arbitrary: fc.constantFrom(...dangerousPaths) },
    { weight: 2, arbitrary: fc.constantFrom(...overlappingPaths) },
    { weight: 1, arbitrary: junk.filter(notOutsideSandbox) },
  );
  return forPlatform ? known : fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: fc.string().map((s) => `/${s}`) });
}

function cameraEntry(forPlatform: boolean) {
  const fields = fc.record(
    {
      name: mostly(fc.oneof(fc.constantFrom('Front', 'Back', 'front', 'Garage', 'Porch'), fc.string()), ' ', ''),
      path: cameraPath(forPlatform),
      retentionDays: days,
      eventRetentionDays: days,
      storageQuotaGB: days,
      eventPatterns: mostly(fc.array(fc.string())),
      extensions: mostly(fc.array(fc.constantFrom('mp4', '.MKV', ' jpg ')), [''], ['.']),
      protectSwitch: mostly(fc.boolean()),
    },
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 12, arbitrary: fields }, { weight: 1, arbitrary: junk });
}

function platformBlock(forPlatform: boolean) {
  const inSandbox = (name: string) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(join(sandbox.storage, name)) },
      { weight: 2, arbitrary: fc.constant(join(sandbox.root, 'cams', 'a', name)) },
      { weight: 1, arbitrary: fc.constant(join(sandbox.storage, `nul\u0000${name}`)) },
    );
  const fields = fc.record(
    {
      platform: fc.constant('NvrRetention'),
      name: mostly(fc.constant('NVR Retention')),
      cameras: mostly(fc.array(cameraEntry(forPlatform), { maxLength: 4 })),
      maxTotalGB: days,
      minFreeGB: days,
      minAgeSeconds: mostly(fc.integer({ min: 0, max: 1000 })),
      protectHours: days,
      schedule: mostly(fc.constantFrom('0 * * * *', '*/5 * * * *', '0 0 * * * *', '61 * * * *'), 'hourly', '* * *'),
      timezone: mostly(fc.constantFrom('UTC', 'europe/berlin'), 'Mars/Base'),
      // Off mostly: each start-up sweep costs a worker thread's whole run.
      sweepOnStartup: mostly(fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) })),
      databasePath: mostly(inSandbox('index.db')).filter(notOutsideSandbox),
      exportPath: mostly(inSandbox('exports')).filter(notOutsideSandbox),
      diskPressureSensor: mostly(fc.constantFrom('contact', 'occupancy', 'leak', 'none'), 'smoke'),
      pauseSwitch: mostly(fc.boolean()),
    },
    { requiredKeys: ['platform'] },
  );
  return fc.oneof({ weight: 20, arbitrary: fields }, { weight: 1, arbitrary: junk });
}

// ---- what must hold ----------------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const PLATFORM_FIELDS = Object.keys(platformSchema.shape).join('|');
const CAMERA_FIELDS = Object.keys(cameraSchema.shape).join('|');
/** A field path as users see it in config.json: `minFreeGB`, `cameras[1].path`, `cameras[0].extensions[2]`. */
const FIELD_PATH = new RegExp(`^(?:(?:${PLATFORM_FIELDS})|cameras\\[\\d+\\](?:\\.(?:${CAMERA_FIELDS})(?:\\[\\d+\\])?)?)$`);

function expectFieldPaths(raw: unknown, issues: ConfigIssue[]): void {
  for (const issue of issues) {
    if (issue.path === '') {
      expect(isRecord(raw)).toBe(false);
    } else {
      expect(issue.path).toMatch(FIELD_PATH);
    }
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

/** The folder a path really is: links resolved as far as the path exists. Independent of the parser. */
function realFolder(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    rest.unshift(existing.slice(existing.lastIndexOf('/') + 1));
    existing = dirname(existing);
  }
  return join(fs.realpathSync(existing), ...rest);
}

const sameOrInside = (child: string, parent: string) => child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);

function hasLinkOnTheWay(path: string): boolean {
  for (let at = path; at !== dirname(at); at = dirname(at)) {
    try {
      if (fs.lstatSync(at).isSymbolicLink()) {
        return true;
      }
    } catch {
      // Not there (yet): nothing to follow.
    }
  }
  return false;
}

/** Every camera the parser let through is safe, judged on the real folders the paths lead to. */
function expectSafeCameras(config: RetentionConfig): void {
  const storage = fs.realpathSync(sandbox.storage);
  const folders = config.cameras.map((camera) => {
    expect(camera.path.startsWith('/')).toBe(true);
    expect(camera.path).not.toContain('\u0000');
    expect(hasLinkOnTheWay(camera.path)).toBe(false);
    const real = realFolder(camera.path);
    expect(real).not.toBe('/');
    // Inside the storage folder is allowed (camera.ui), but never meeting Homebridge's own state or the index folder.
    expect(sameOrInside(storage, real)).toBe(false);
    const state = ['config.json', 'accessories', 'persist', 'backups', 'node_modules'].map((name) => join(storage, name));
    const indexFolder = dirname(config.databasePath);
    if (sameOrInside(indexFolder, storage) && indexFolder !== storage) {
      state.push(fs.existsSync(indexFolder) ? fs.realpathSync(indexFolder) : indexFolder);
    }
    for (const at of state) {
      expect(sameOrInside(real, at) || sameOrInside(at, real)).toBe(false);
    }
    expect(sameOrInside(config.databasePath, real)).toBe(false);
    return real;
  });
  // Folders meet only through match: the same folder when both have it, one inside another when the outer one has it.
  for (const [i, a] of folders.entries()) {
    for (const [j, b] of folders.entries()) {
      if (i !== j && sameOrInside(a, b)) {
        expect(config.cameras[j]!.match).toBeDefined();
      }
    }
  }
}

describe('the config parser', () => {
  test(`${RUNS} random blocks: only ConfigErrors, every issue names its field, no dangerous camera gets through`, () => {
    const options = { storagePath: '' };
    let accepted = 0;
    let camerasRefused = 0;
    fc.assert(
      fc.property(platformBlock(false), (raw) => {
        options.storagePath = sandbox.storage;
        let parsed;
        try {
          parsed = parsePlatformConfig(raw, options);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).issues.length).toBeGreaterThan(0);
          expectFieldPaths(raw, (error as ConfigError).issues);
          return;
        }
        accepted++;
        camerasRefused += parsed.disabledCameras.length;
        expectFieldPaths(
          raw,
          parsed.disabledCameras.flatMap((camera) => camera.issues),
        );
        expectSafeCameras(parsed.config);

        // The CLI's strict parse refuses the same things and more, never something else.
        try {
          const strict = parsePlatformConfigStrict(raw, options);
          expect(parsed.disabledCameras).toEqual([]);
          expectSafeCameras(strict);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expectFieldPaths(raw, (error as ConfigError).issues);
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`config fuzz (parser): ${RUNS} blocks, ${accepted} accepted, ${camerasRefused} camera entries refused in accepted blocks`);
  });

  test.each([
    ['the root folder', () => '/'],
    ['the storage folder', () => sandbox.storage],
    ['a parent of the storage folder', () => dirname(sandbox.storage)],
    ["a folder inside the storage folder's persist/", () => join(sandbox.storage, 'persist', 'sub')],
    ['a relative path', () => 'cams/a'],
    ['a path through a link to the storage folder', () => join(sandbox.root, 'link-to-storage')],
    ['a path through a link to a camera folder', () => join(sandbox.root, 'link-to-cams', 'c')],
    ['a camera folder that is itself a link', () => join(sandbox.root, 'cams', 'link-to-b')],
  ])('%s is refused, naming cameras[1].path', (_label, path) => {
    const raw = {
      cameras: [
        { name: 'Safe', path: safeFolders[0], retentionDays: 7 },
        { name: 'Bad', path: path(), retentionDays: 7 },
      ],
    };
    const parsed = parsePlatformConfig(raw, { storagePath: sandbox.storage });
    expect(parsed.config.cameras.map((camera) => camera.name)).toEqual(['Safe']);
    expect(parsed.disabledCameras.flatMap((camera) => camera.issues.map((issue) => issue.path))).toContain('cameras[1].path');
  });

  test("a camera inside the storage folder's state is refused when the storage folder is given through a link", () => {
    const raw = { cameras: [{ name: 'Sneaky', path: join(sandbox.storage, 'persist', 'sub'), retentionDays: 7 }] };
    const parsed = parsePlatformConfig(raw, { storagePath: join(sandbox.root, 'link-to-storage') });
    expect(parsed.config.cameras).toEqual([]);
    expect(parsed.disabledCameras[0].issues.map(formatIssue)).toEqual([
      expect.stringMatching(/^cameras\[0\]\.path: must not be inside Homebridge's own persist\//),
    ]);
  });

  test('an index reached through a link into a camera folder is refused', () => {
    const raw = {
      cameras: [{ name: 'B', path: safeFolders[1], retentionDays: 7 }],
      databasePath: join(sandbox.root, 'link-to-cams', 'b', 'index.db'),
    };
    expect(() => parsePlatformConfig(raw, { storagePath: sandbox.storage })).toThrow(
      /^databasePath: must not be inside the folder of cameras\[0\]/,
    );
  });

  test.each([
    ['the same folder', () => join(sandbox.root, 'cams', 'a')],
    ['a folder inside it', () => join(sandbox.root, 'cams', 'a', 'inner')],
    ['a folder containing it', () => join(sandbox.root, 'cams')],
  ])('a camera on %s as another is refused, and so is the other', (_label, path) => {
    const raw = {
      cameras: [
        { name: 'One', path: safeFolders[0], retentionDays: 7 },
        { name: 'Two', path: path(), retentionDays: 7 },
      ],
    };
    const parsed = parsePlatformConfig(raw, { storagePath: sandbox.storage });
    expect(parsed.config.cameras).toEqual([]);
    expect(parsed.disabledCameras.map((camera) => camera.issues.map(formatIssue)[0])).toEqual([
      expect.stringMatching(/^cameras\[0\]\.path: must not/),
      expect.stringMatching(/^cameras\[1\]\.path: must not/),
    ]);
  });
});

// ---- the platform, as Homebridge starts it ------------------------------------------------------

interface StartReply {
  lines: { level: string; message: string }[];
  /** An exception out of the plugin's constructor or the host's wait for it. */
  thrown?: string;
  /** Unhandled rejections and uncaught exceptions during the start. */
  escaped: string[];
}

/** The host process (test/helpers/platform-host.js), asked for one platform start per block. */
function startHost(): { start(raw: unknown): Promise<StartReply>; stop(): void } {
  const host = fork(HOST, [sandbox.storage], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  host.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let waiting: ((reply: StartReply) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    host.once('message', () => resolve());
    host.once('exit', (code) => reject(new Error(`the Homebridge host exited (${code}): ${stderr}`)));
  });
  host.on('message', (reply) => waiting?.(reply as StartReply));
  return {
    async start(raw) {
      await ready;
      return new Promise((resolve) => {
        waiting = resolve;
        host.send(raw as Serializable);
      });
    },
    stop: () => host.kill(),
  };
}

describe('the platform start', () => {
  test(`${RUNS} random platform blocks: the plugin never throws, logs each refusal with its field, runs only safe cameras`, async () => {
    const host = startHost();
    const tally = { running: 0, standingDown: 0, noCameras: 0, refusals: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(platformBlock(true), async (raw) => {
          const reply = await host.start(raw);
          expect({ thrown: reply.thrown, escaped: reply.escaped }).toEqual({ thrown: undefined, escaped: [] });
          // The plugin's own catch-alls: each means something unexpected was thrown inside it.
          expect(reply.lines.filter((line) => /stands down|Sweep failed|Could not read/.test(line.message))).toEqual([]);
          const refusals = reply.lines.filter((line) => line.message.startsWith('Config: ') || / disabled: /.test(line.message));
          tally.refusals += refusals.length;
          for (const line of refusals) {
            const field = line.message
              .replace(/^Config: /, '')
              .replace(/^.* disabled: /, '')
              .split(': ')[0];
            if (field === 'NvrRetention platform config') {
              expect(isRecord(raw)).toBe(false);
            } else {
              expect(field).toMatch(FIELD_PATH);
            }
          }
          if (reply.lines.some((line) => /^Watching \d+ camera folder/.test(line.message))) {
            tally.running++;
            expectSafeCameras(parsePlatformConfig(raw, { storagePath: sandbox.storage }).config);
          } else if (reply.lines.some((line) => /^No usable cameras/.test(line.message))) {
            tally.noCameras++;
          } else {
            tally.standingDown++;
          }
        }),
        { numRuns: RUNS },
      );
    } finally {
      host.stop();
    }
    console.log(
      `config fuzz (platform): ${RUNS} starts: ${tally.running} ran, ${tally.noCameras} without usable cameras, ${tally.standingDown} refused the block; ${tally.refusals} refusal lines logged`,
    );
  }, 600_000);
});
