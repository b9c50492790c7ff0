import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import {
  cameraSchema,
  ConfigError,
  formatIssue,
  parsePlatformConfig,
  parsePlatformConfigStrict,
  platformSchema,
  type ConfigIssue,
} from '../src/config/schema.js';
import { DEFAULT_EVENT_PATTERNS, DEFAULT_EXTENSIONS } from '../src/config/types.js';

const STORAGE = '/var/lib/homebridge';
const options = { storagePath: STORAGE };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const homebridgeSchemaText = readFileSync(new URL('../config.schema.json', import.meta.url), 'utf8');
const homebridgeSchema = JSON.parse(homebridgeSchemaText) as JsonObject;

/** A valid camera; each index gets its own name and folder so that only the overrides matter. */
function camera(index: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: `Camera ${index}`, path: `/mnt/nvr/cam${index}`, retentionDays: 7, ...overrides };
}

function block(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { platform: 'NvrRetention', cameras: [camera(0)], ...overrides };
}

/** The ConfigError thrown by `parse`, as formatted lines. */
function errorLines(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map(formatIssue);
  }
  throw new Error('expected a ConfigError');
}

const strictErrors = (raw: unknown) => errorLines(() => parsePlatformConfigStrict(raw, options));
const disabledIssues = (raw: unknown) => parsePlatformConfig(raw, options).disabledCameras.flatMap((c) => c.issues.map(formatIssue));

// -----------------------------------------------------------------------------------------------

describe('config.schema.json agrees with the zod schema', () => {
  interface FieldSummary {
    type: Json;
    required: boolean;
    default?: Json;
    minimum?: Json;
    exclusiveMinimum?: Json;
    minLength?: Json;
    itemType?: Json;
  }

  /** What both schemas must agree on, per field; titles, descriptions and upper bounds are free. */
  function summarise(objectSchema: JsonObject): Record<string, FieldSummary> {
    const properties = objectSchema.properties as Record<string, JsonObject>;
    const required = (objectSchema.required ?? []) as string[];
    return Object.fromEntries(
      Object.entries(properties).map(([key, field]) => {
        const items = field.items as JsonObject | undefined;
        const summary: FieldSummary = { type: field.type, required: required.includes(key) };
        for (const k of ['default', 'minimum', 'exclusiveMinimum', 'minLength'] as const) {
          if (field[k] !== undefined) {
            summary[k] = field[k];
          }
        }
        if (items) {
          summary.itemType = items.minLength === undefined ? items.type : `${String(items.type)} (non-empty)`;
        }
        return [key, summary];
      }),
    );
  }

  const fromZod = z.toJSONSchema(platformSchema, { io: 'input', target: 'draft-7' }) as unknown as JsonObject;
  const zodCameraItems = (fromZod.properties as JsonObject).cameras as JsonObject;
  const jsonSchema = homebridgeSchema.schema as JsonObject;
  const jsonCameraItems = (jsonSchema.properties as JsonObject).cameras as JsonObject;

  test('top-level fields: names, types, required-ness, defaults and bounds', () => {
    expect(Object.keys(jsonSchema.properties as JsonObject).sort()).toEqual(Object.keys(platformSchema.shape).sort());
    expect(summarise(jsonSchema)).toEqual(summarise(fromZod));
  });

  test('camera fields: names, types, required-ness, defaults and bounds', () => {
    const jsonItems = jsonCameraItems.items as JsonObject;
    expect(Object.keys(jsonItems.properties as JsonObject).sort()).toEqual(Object.keys(cameraSchema.shape).sort());
    expect(summarise(jsonItems)).toEqual(summarise(zodCameraItems.items as JsonObject));
    expect(jsonItems.required).toEqual(['name', 'path', 'retentionDays']);
  });

  test('the plugin header fields', () => {
    expect(homebridgeSchema).toMatchObject({ pluginAlias: 'NvrRetention', pluginType: 'platform', singular: true });
    expect(typeof homebridgeSchema.headerDisplay).toBe('string');
    expect(typeof homebridgeSchema.footerDisplay).toBe('string');
  });

  test('no "required": true anywhere, only required arrays', () => {
    expect(homebridgeSchemaText).not.toMatch(/"required"\s*:\s*(true|false)/);
    const walk = (node: Json): void => {
      if (Array.isArray(node)) {
        return node.forEach(walk);
      }
      if (node === null || typeof node !== 'object') {
        return;
      }
      if ('required' in node) {
        expect(Array.isArray(node.required)).toBe(true);
      }
      Object.values(node).forEach(walk);
    };
    walk(homebridgeSchema);
  });

  test('every field has a title and a description', () => {
    const fields = [
      ...Object.values(jsonSchema.properties as JsonObject),
      ...Object.values((jsonCameraItems.items as JsonObject).properties as JsonObject),
    ] as JsonObject[];
    for (const field of fields) {
      expect(field.title).toEqual(expect.any(String));
      expect(field.description).toEqual(expect.any(String));
    }
  });

  test('every layout key names a real field, and every field is in the layout', () => {
    const layoutKeys: string[] = [];
    const walk = (node: Json): void => {
      if (typeof node === 'string') {
        layoutKeys.push(node);
      } else if (Array.isArray(node)) {
        node.forEach(walk);
      } else if (node !== null && typeof node === 'object') {
        if (typeof node.key === 'string') {
          layoutKeys.push(node.key);
        }
        if (node.items !== undefined) {
          walk(node.items);
        }
      }
    };
    walk(homebridgeSchema.layout);

    const fields = [...Object.keys(platformSchema.shape), ...Object.keys(cameraSchema.shape).map((key) => `cameras[].${key}`)];
    expect([...layoutKeys].sort()).toEqual([...fields].sort());
  });
});

// -----------------------------------------------------------------------------------------------

describe('defaults and normalisation', () => {
  test('an almost empty block gets every default', () => {
    const { config, disabledCameras } = parsePlatformConfig(block(), options);
    expect(disabledCameras).toEqual([]);
    expect(config).toEqual({
      name: 'NVR Retention',
      cameras: [
        {
          name: 'Camera 0',
          path: '/mnt/nvr/cam0',
          retentionDays: 7,
          eventRetentionDays: 21,
          eventPatterns: DEFAULT_EVENT_PATTERNS,
          extensions: DEFAULT_EXTENSIONS,
          protectSwitch: true,
          recorder: 'generic',
          recordingMode: 'mixed',
          companions: [],
          recordingFolders: [],
          indexKey: '/mnt/nvr/cam0',
        },
      ],
      minAgeSeconds: 120,
      protectHours: 24,
      schedule: '0 * * * *',
      sweepOnStartup: true,
      databasePath: '/var/lib/homebridge/nvr-retention/index.db',
      diskPressureSensor: 'contact',
      pauseSwitch: false,
    });
  });

  test('eventRetentionDays defaults to 3 × retentionDays, decimals included; an explicit value wins', () => {
    const { config } = parsePlatformConfig(
      block({ cameras: [camera(0, { retentionDays: 0.5 }), camera(1, { retentionDays: 2, eventRetentionDays: 1.5 })] }),
      options,
    );
    expect(config.cameras.map((c) => c.eventRetentionDays)).toEqual([1.5, 1.5]);
  });

  test('extensions are lower-cased and lose a leading dot; patterns and sizes are kept as written', () => {
    const { config } = parsePlatformConfig(
      block({ cameras: [camera(0, { extensions: ['.MP4', ' Mkv ', 'ts'], eventPatterns: ['**/Motion/**'], storageQuotaGB: 2.5 })] }),
      options,
    );
    expect(config.cameras[0]).toMatchObject({ extensions: ['mp4', 'mkv', 'ts'], eventPatterns: ['**/Motion/**'], storageQuotaGB: 2.5 });
  });

  test('camera paths and databasePath are resolved, without a trailing slash', () => {
    const { config } = parsePlatformConfig(
      block({ cameras: [camera(0, { path: '/mnt/nvr/./x/../front/' })], databasePath: '/srv/nvr//index.db', exportPath: '/srv/exports/' }),
      options,
    );
    expect(config.cameras[0].path).toBe('/mnt/nvr/front');
    expect(config.databasePath).toBe('/srv/nvr/index.db');
    expect(config.exportPath).toBe('/srv/exports');
  });

  test('the default databasePath follows the storage folder', () => {
    const { config } = parsePlatformConfig(block(), { storagePath: '/home/pi/.homebridge/' });
    expect(config.databasePath).toBe('/home/pi/.homebridge/nvr-retention/index.db');
  });

  test('unknown keys, such as the ones Homebridge adds, are ignored', () => {
    const { config } = parsePlatformConfig(
      block({ _bridge: { username: 'AA:BB' }, somethingNew: 1, cameras: [camera(0, { color: 'red' })] }),
      options,
    );
    expect(config).not.toHaveProperty('platform');
    expect(config).not.toHaveProperty('_bridge');
    expect(config.cameras[0]).not.toHaveProperty('color');
  });

  test('null means "not set"', () => {
    const { config } = parsePlatformConfig(
      block({ minFreeGB: null, minAgeSeconds: null, cameras: [camera(0, { storageQuotaGB: null, eventRetentionDays: null })] }),
      options,
    );
    expect(config.minFreeGB).toBeUndefined();
    expect(config.minAgeSeconds).toBe(120);
    expect(config.cameras[0]).not.toHaveProperty('storageQuotaGB');
    expect(config.cameras[0].eventRetentionDays).toBe(21);
  });

  test('every optional limit is passed through', () => {
    const config = parsePlatformConfigStrict(
      block({ maxTotalGB: 1500.5, minFreeGB: 0.25, minAgeSeconds: 0, protectHours: 0.5, sweepOnStartup: false, name: 'NVR' }),
      options,
    );
    expect(config).toMatchObject({
      maxTotalGB: 1500.5,
      minFreeGB: 0.25,
      minAgeSeconds: 0,
      protectHours: 0.5,
      sweepOnStartup: false,
      name: 'NVR',
    });
  });

  test('default lists are copies: changing one camera does not change the defaults', () => {
    const { config } = parsePlatformConfig(block({ cameras: [camera(0), camera(1)] }), options);
    config.cameras[0].extensions.push('xyz');
    expect(config.cameras[1].extensions).toEqual(DEFAULT_EXTENSIONS);
    expect(DEFAULT_EXTENSIONS).not.toContain('xyz');
  });

  test.each(['0 * * * *', '*/15 * * * *', '0 30 3 * * *', '0 3 * * MON-FRI', '0 0 1 JAN,JUL ?', '  5 4 * * sun  '])(
    'schedule %j is accepted',
    (schedule) => {
      expect(parsePlatformConfigStrict(block({ schedule }), options).schedule).toBe(schedule.trim());
    },
  );

  test('a time zone is accepted in any case and kept in its canonical spelling', () => {
    expect(parsePlatformConfigStrict(block({ timezone: 'europe/berlin' }), options).timezone).toBe('Europe/Berlin');
    expect(parsePlatformConfigStrict(block({ timezone: 'UTC' }), options).timezone).toBe('UTC');
  });
});

// -----------------------------------------------------------------------------------------------

describe('every error names its field in plain words', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['negative retention', block({ cameras: [camera(0, { retentionDays: -1 })] }), 'cameras[0].retentionDays: must be greater than 0'],
    [
      'zero retention',
      block({ cameras: [camera(0), camera(1, { retentionDays: 0 })] }),
      'cameras[1].retentionDays: must be greater than 0',
    ],
    ['retention as text', block({ cameras: [camera(0, { retentionDays: '7' })] }), 'cameras[0].retentionDays: must be a number'],
    ['missing retention', block({ cameras: [camera(0, { retentionDays: undefined })] }), 'cameras[0].retentionDays: is required'],
    ['missing name', block({ cameras: [camera(0), camera(1), camera(2, { name: undefined })] }), 'cameras[2].name: is required'],
    ['blank name', block({ cameras: [camera(0, { name: '  ' })] }), 'cameras[0].name: must not be empty'],
    ['missing path', block({ cameras: [camera(0, { path: undefined })] }), 'cameras[0].path: is required'],
    ['relative path', block({ cameras: [camera(0, { path: 'recordings/front' })] }), 'cameras[0].path: must be an absolute path'],
    [
      'zero event retention',
      block({ cameras: [camera(0, { eventRetentionDays: 0 })] }),
      'cameras[0].eventRetentionDays: must be greater than 0',
    ],
    ['negative quota', block({ cameras: [camera(0, { storageQuotaGB: -5 })] }), 'cameras[0].storageQuotaGB: must be greater than 0'],
    ['switch as text', block({ cameras: [camera(0, { protectSwitch: 'yes' })] }), 'cameras[0].protectSwitch: must be true or false'],
    ['extensions as text', block({ cameras: [camera(0, { extensions: 'mp4' })] }), 'cameras[0].extensions: must be a list'],
    ['a lone dot extension', block({ cameras: [camera(0, { extensions: ['mp4', '.'] })] }), 'cameras[0].extensions[1]: must not be empty'],
    ['an empty pattern', block({ cameras: [camera(0, { eventPatterns: [''] })] }), 'cameras[0].eventPatterns[0]: must not be empty'],
    ['a camera that is not an object', block({ cameras: [camera(0), 'front'] }), 'cameras[1]: must be an object'],
    ['cameras not a list', block({ cameras: { name: 'x' } }), 'cameras: must be a list'],
    ['minFreeGB as text', block({ minFreeGB: '10' }), 'minFreeGB: must be a number'],
    ['zero maxTotalGB', block({ maxTotalGB: 0 }), 'maxTotalGB: must be greater than 0'],
    ['fractional minAgeSeconds', block({ minAgeSeconds: 1.5 }), 'minAgeSeconds: must be a whole number'],
    ['negative minAgeSeconds', block({ minAgeSeconds: -1 }), 'minAgeSeconds: must be 0 or more'],
    ['zero protectHours', block({ protectHours: 0 }), 'protectHours: must be greater than 0'],
    ['sweepOnStartup as text', block({ sweepOnStartup: 'true' }), 'sweepOnStartup: must be true or false'],
    ['blank name of the platform', block({ name: '' }), 'name: must not be empty'],
    ['relative databasePath', block({ databasePath: 'index.db' }), 'databasePath: must be an absolute path'],
    ['relative exportPath', block({ exportPath: './exports' }), 'exportPath: must be an absolute path'],
    ['unknown time zone', block({ timezone: 'Mars/Olympus' }), 'timezone: must be a time zone name such as "Europe/Berlin" or "UTC"'],
    ['time zone as a number', block({ timezone: 2 }), 'timezone: must be text'],
    [
      'unknown sensor type',
      block({ diskPressureSensor: 'smoke' }),
      'diskPressureSensor: must be one of "contact", "occupancy", "leak", "none"',
    ],
  ])('%s', (_label, raw, expected) => {
    expect(strictErrors(raw)).toEqual([expected]);
  });

  const CRON_MESSAGE = 'schedule: must be a cron expression of 5 or 6 fields, e.g. "0 * * * *" for every hour';
  test.each(['', 'hourly', '* * * *', '* * * * * * *', '0 * * * * ;rm', '0 0 * * 1#2', '@daily'])('bad schedule %j', (schedule) => {
    expect(strictErrors(block({ schedule }))).toEqual([CRON_MESSAGE]);
  });

  test("zod's own wording never leaks", () => {
    const lines = strictErrors({
      name: 5,
      cameras: [
        {
          name: 1,
          path: 2,
          retentionDays: 'x',
          eventRetentionDays: [],
          storageQuotaGB: {},
          eventPatterns: [3],
          extensions: [true],
          protectSwitch: 0,
        },
      ],
      maxTotalGB: 'x',
      minFreeGB: -1,
      minAgeSeconds: 'x',
      protectHours: false,
      schedule: 5,
      timezone: null,
      sweepOnStartup: 1,
      databasePath: 3,
      exportPath: {},
    });
    expect(lines.length).toBeGreaterThanOrEqual(16);
    for (const line of lines) {
      expect(line).toMatch(/^[A-Za-z[\]0-9.]+: (must|is) /);
      expect(line).not.toMatch(/Invalid|expected|received|Too small/);
    }
  });

  test('formatIssue and the ConfigError message', () => {
    expect(formatIssue({ path: 'cameras[1].retentionDays', message: 'must be greater than 0' })).toBe(
      'cameras[1].retentionDays: must be greater than 0',
    );
    const issues: ConfigIssue[] = [
      { path: 'minFreeGB', message: 'must be a number' },
      { path: 'cameras[0].path', message: 'must be an absolute path' },
    ];
    const error = new ConfigError(issues);
    expect(error).toBeInstanceOf(Error);
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe('minFreeGB: must be a number\ncameras[0].path: must be an absolute path');
  });
});

// -----------------------------------------------------------------------------------------------

const HOMEBRIDGE_STATE = "it holds Homebridge's own state (config.json, accessories/, persist/)";

describe('dangerous folders are refused', () => {
  test.each<[string, string, string]>([
    ['the root folder', '/', 'must not be the root folder of the disk'],
    ['the storage folder', STORAGE, `must not be the Homebridge storage folder (${STORAGE}): ${HOMEBRIDGE_STATE}`],
    [
      'the storage folder with a trailing slash',
      `${STORAGE}/`,
      `must not be the Homebridge storage folder (${STORAGE}): ${HOMEBRIDGE_STATE}`,
    ],
    ['a parent of the storage folder', '/var/lib', `must not contain the Homebridge storage folder (${STORAGE})`],
    ['a grandparent of the storage folder', '/var', `must not contain the Homebridge storage folder (${STORAGE})`],
    ['a folder inside persist/', `${STORAGE}/persist/recordings`, `must not be inside Homebridge's own persist/ (${STORAGE}/persist)`],
    ['accessories/ itself', `${STORAGE}/accessories`, `must not be Homebridge's own accessories/ (${STORAGE}/accessories)`],
    ['a folder holding backups/', `${STORAGE}/backups/..`, `must not be the Homebridge storage folder (${STORAGE}): ${HOMEBRIDGE_STATE}`],
    ['inside node_modules/', `${STORAGE}/node_modules/x`, `must not be inside Homebridge's own node_modules/ (${STORAGE}/node_modules)`],
    [
      'the index folder',
      `${STORAGE}/nvr-retention/clips`,
      `must not be inside this plugin's index and journal folder (${STORAGE}/nvr-retention)`,
    ],
    [
      'a path that climbs back into storage',
      `/mnt/../var/lib/homebridge/persist`,
      `must not be Homebridge's own persist/ (${STORAGE}/persist)`,
    ],
  ])('%s', (_label, folder, message) => {
    const { config, disabledCameras } = parsePlatformConfig(block({ cameras: [camera(0), camera(1, { path: folder })] }), options);
    expect(config.cameras.map((c) => c.name)).toEqual(['Camera 0']);
    expect(disabledCameras).toEqual([{ index: 1, name: 'Camera 1', issues: [{ path: 'cameras[1].path', message }] }]);
  });

  test('a folder inside the storage folder but clear of its state is fine (camera.ui records there)', () => {
    const config = parsePlatformConfigStrict(block({ cameras: [camera(0, { path: `${STORAGE}/camera.ui/recordings` })] }), options);
    expect(config.cameras[0].path).toBe(`${STORAGE}/camera.ui/recordings`);
  });

  test('a sibling that only shares a name prefix with the storage folder is fine', () => {
    const config = parsePlatformConfigStrict(block({ cameras: [camera(0, { path: `${STORAGE}-recordings` })] }), options);
    expect(config.cameras[0].path).toBe('/var/lib/homebridge-recordings');
  });

  test('two cameras on the same folder are both refused', () => {
    expect(disabledIssues(block({ cameras: [camera(0, { path: '/mnt/nvr/a' }), camera(1, { path: '/mnt/nvr/a/' }), camera(2)] }))).toEqual([
      'cameras[0].path: must not be the same folder as cameras[1] (/mnt/nvr/a); give both cameras "match" (or a recorder preset that sets it) to share a folder',
      'cameras[1].path: must not be the same folder as cameras[0] (/mnt/nvr/a); give both cameras "match" (or a recorder preset that sets it) to share a folder',
    ]);
  });

  test('nested cameras are both refused, the others kept', () => {
    const { config, disabledCameras } = parsePlatformConfig(
      block({ cameras: [camera(0, { path: '/mnt/nvr' }), camera(1), camera(2, { path: '/mnt/other' })] }),
      options,
    );
    expect(config.cameras.map((c) => c.name)).toEqual(['Camera 2']);
    expect(disabledCameras.flatMap((c) => c.issues.map(formatIssue))).toEqual([
      'cameras[0].path: must not contain the folder of cameras[1] (/mnt/nvr/cam1), unless this camera selects its files by "match"',
      'cameras[1].path: must not be inside the folder of cameras[0] (/mnt/nvr), unless that camera selects its files by "match"',
    ]);
  });

  test('a nested camera is refused even when its partner is broken for another reason', () => {
    const lines = disabledIssues(block({ cameras: [camera(0, { path: '/mnt/nvr', retentionDays: 0 }), camera(1)] }));
    expect(lines).toContain(
      'cameras[1].path: must not be inside the folder of cameras[0] (/mnt/nvr), unless that camera selects its files by "match"',
    );
  });

  test('folders that only share a name prefix are not nested', () => {
    const config = parsePlatformConfigStrict(
      block({ cameras: [camera(0, { path: '/mnt/nvr/a' }), camera(1, { path: '/mnt/nvr/ab' })] }),
      options,
    );
    expect(config.cameras).toHaveLength(2);
  });

  test('a camera refused for its own folder does not take the others down with it', () => {
    const { config } = parsePlatformConfig(block({ cameras: [camera(0, { path: '/' }), camera(1)] }), options);
    expect(config.cameras.map((c) => c.name)).toEqual(['Camera 1']);
  });

  test('duplicate names are both refused, ignoring case', () => {
    expect(disabledIssues(block({ cameras: [camera(0, { name: 'Front' }), camera(1), camera(2, { name: 'front ' })] }))).toEqual([
      'cameras[0].name: must be unique: cameras[2] is also named "front"',
      'cameras[2].name: must be unique: cameras[0] is also named "Front"',
    ]);
  });

  test('a databasePath inside a camera folder stops the plugin', () => {
    const raw = block({ databasePath: '/mnt/nvr/cam0/index.db' });
    const expected =
      'databasePath: must not be inside the folder of cameras[0] (/mnt/nvr/cam0): the index must not live among the recordings';
    expect(errorLines(() => parsePlatformConfig(raw, options))).toEqual([expected]);
    expect(strictErrors(raw)).toEqual([expected]);
  });

  test('an exportPath inside a camera folder stops the plugin', () => {
    expect(errorLines(() => parsePlatformConfig(block({ exportPath: '/mnt/nvr/cam0/exports' }), options))).toEqual([
      'exportPath: must not be inside the folder of cameras[0] (/mnt/nvr/cam0): exported copies would be treated as recordings and deleted',
    ]);
  });

  test('a databasePath and exportPath beside the camera folders are fine', () => {
    const config = parsePlatformConfigStrict(block({ databasePath: '/mnt/nvr/index.db', exportPath: '/mnt/nvr/cam0-exports' }), options);
    expect(config.databasePath).toBe('/mnt/nvr/index.db');
  });
});

// -----------------------------------------------------------------------------------------------

describe('plugin semantics versus strict semantics', () => {
  const mixed = block({
    cameras: [camera(0), camera(1, { retentionDays: 0, path: 'relative' }), camera(2), { path: '/mnt/nvr/x', retentionDays: 1 }],
  });

  test('the plugin disables bad cameras and keeps the others', () => {
    const { config, disabledCameras } = parsePlatformConfig(mixed, options);
    expect(config.cameras.map((c) => c.name)).toEqual(['Camera 0', 'Camera 2']);
    expect(disabledCameras).toEqual([
      {
        index: 1,
        name: 'Camera 1',
        issues: [
          { path: 'cameras[1].path', message: 'must be an absolute path' },
          { path: 'cameras[1].retentionDays', message: 'must be greater than 0' },
        ],
      },
      { index: 3, issues: [{ path: 'cameras[3].name', message: 'is required' }] },
    ]);
  });

  test('strict parsing refuses the same config, listing every issue', () => {
    expect(strictErrors(mixed)).toEqual([
      'cameras[1].path: must be an absolute path',
      'cameras[1].retentionDays: must be greater than 0',
      'cameras[3].name: is required',
    ]);
  });

  test.each([null, undefined, [], 'NvrRetention', 42, true])('a non-object block (%j) throws in both modes', (raw) => {
    const expected = ['NvrRetention platform config: must be an object'];
    expect(errorLines(() => parsePlatformConfig(raw, options))).toEqual(expected);
    expect(strictErrors(raw)).toEqual(expected);
  });

  test('a bad top-level field throws in plugin mode too, listing the camera issues as well', () => {
    expect(
      errorLines(() => parsePlatformConfig(block({ minFreeGB: 'lots', cameras: [camera(0, { retentionDays: -2 })] }), options)),
    ).toEqual(['minFreeGB: must be a number', 'cameras[0].retentionDays: must be greater than 0']);
  });

  test('strict mode lists top-level and camera issues together', () => {
    expect(strictErrors(block({ schedule: 'often', cameras: [camera(0, { name: '' }), camera(1, { storageQuotaGB: 0 })] }))).toEqual([
      'schedule: must be a cron expression of 5 or 6 fields, e.g. "0 * * * *" for every hour',
      'cameras[0].name: must not be empty',
      'cameras[1].storageQuotaGB: must be greater than 0',
    ]);
  });

  test.each([{}, { cameras: [] }])('no cameras (%j) is a valid config in both modes', (raw) => {
    expect(parsePlatformConfig(raw, options)).toEqual({ config: expect.objectContaining({ cameras: [] }), disabledCameras: [] });
    expect(parsePlatformConfigStrict(raw, options).cameras).toEqual([]);
  });

  test('a valid config reads the same in both modes', () => {
    const raw = block({ cameras: [camera(0), camera(1, { storageQuotaGB: 100 })], minFreeGB: 50, timezone: 'Europe/London' });
    expect(parsePlatformConfigStrict(raw, options)).toEqual(parsePlatformConfig(raw, options).config);
  });
});
