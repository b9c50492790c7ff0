import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { compileNameTime } from './name-time.js';
import { describeOverlap, identityOverlaps } from './folder-identity.js';
import { PRESETS, presetMatch, RECORDER_NAMES, type Preset } from './presets.js';
import { DISK_PRESSURE_SENSORS, RECORDING_MODES, type CameraConfig, type RetentionConfig } from './types.js';

export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Field schemas. config.schema.json mirrors these; test/config.test.ts fails when they drift.
// ---------------------------------------------------------------------------------------------

/**
 * Relative paths would depend on the directory Homebridge happens to start in. A NUL character
 * makes every file call throw, which would surface far from the field that caused it.
 */
const absolutePath = () =>
  z
    .string()
    .refine((p) => !p.includes('\0'), 'must not contain a NUL character (\\u0000)')
    .refine((p) => path.isAbsolute(p), 'must be an absolute path')
    .overwrite((p) => path.resolve(p));

const CRON_FIELD = /^[0-9A-Za-z*,\-/?]+$/;

/** A shape check only: the scheduler reports what it cannot run, this catches typos at load time. */
function isCronExpression(expression: string): boolean {
  const fields = expression.trim().split(/\s+/);
  return (fields.length === 5 || fields.length === 6) && fields.every((field) => CRON_FIELD.test(field));
}

/** Intl's own spelling ("europe/paris" → "Europe/Paris"), or undefined when Intl does not know the zone. */
function canonicalTimeZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const extension = z
  .string()
  .trim()
  .toLowerCase()
  .overwrite((e) => e.replace(/^\./, ''))
  .min(1);

/** A companion pattern names a file relative to its recording's folder, never one above it or elsewhere. */
const companionPattern = z
  .string()
  .trim()
  .min(1)
  .refine((p) => p.includes('{base}'), 'must contain {base} (the recording\'s name without its extension), e.g. "{base}@2.jpeg"')
  .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === '.' || part === ''), {
    message: 'must be a path below the recording\'s folder, e.g. "thumbs/{base}.jpg" (no "/" at the start, no "..")',
  })
  .refine((p) => !p.includes('/') || !/[*?]/.test(p), "must not use * or ? when it names a folder below the recording's");

const glob = z
  .string()
  .trim()
  .min(1)
  .refine((p) => !p.startsWith('/'), 'must be relative to the camera folder (no "/" at the start)');

/**
 * extensions, eventPatterns, recordingMode, companions, recordingFolders, nameTime and match have
 * no default here: the camera's recorder preset fills in what is left out (src/config/presets.ts).
 */
export const cameraSchema = z.object({
  name: z.string().trim().min(1),
  path: absolutePath(),
  retentionDays: z.number().positive(),
  eventRetentionDays: z.number().positive().optional(),
  storageQuotaGB: z.number().positive().optional(),
  recorder: z.enum(RECORDER_NAMES).default('generic'),
  match: z.array(glob).min(1).optional(),
  recordingMode: z.enum(RECORDING_MODES).optional(),
  eventPatterns: z.array(z.string().min(1)).optional(),
  extensions: z.array(extension).optional(),
  companions: z.array(companionPattern).optional(),
  recordingFolders: z.array(glob).optional(),
  nameTime: z
    .string()
    .min(1)
    .superRefine((pattern, ctx) => {
      const problem = compileNameTime(pattern).problem;
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
      }
    })
    .optional(),
  nameTimeZone: z
    .string()
    .refine((tz) => canonicalTimeZone(tz) !== undefined, 'must be a time zone name such as "Europe/Berlin" or "UTC"')
    .overwrite((tz) => canonicalTimeZone(tz) ?? tz)
    .optional(),
  protectSwitch: z.boolean().default(true),
});

/**
 * The fields of the platform block. Unknown keys (`platform`, `_bridge`, ...) are stripped, not
 * refused. Parsing this alone skips the folder safety checks: use parsePlatformConfig(Strict).
 */
export const platformSchema = z.object({
  name: z.string().trim().min(1).default('NVR Retention'),
  cameras: z.array(cameraSchema).optional(),
  maxTotalGB: z.number().positive().optional(),
  minFreeGB: z.number().positive().optional(),
  minAgeSeconds: z.number().int().min(0).default(120),
  protectHours: z.number().positive().default(24),
  schedule: z
    .string()
    .trim()
    .refine(isCronExpression, 'must be a cron expression of 5 or 6 fields, e.g. "0 * * * *" for every hour')
    .default('0 * * * *'),
  timezone: z
    .string()
    .refine((tz) => canonicalTimeZone(tz) !== undefined, 'must be a time zone name such as "Europe/Berlin" or "UTC"')
    .overwrite((tz) => canonicalTimeZone(tz) ?? tz)
    .optional(),
  sweepOnStartup: z.boolean().default(true),
  databasePath: absolutePath().optional(),
  exportPath: absolutePath().optional(),
  diskPressureSensor: z.enum(DISK_PRESSURE_SENSORS).default('contact'),
  pauseSwitch: z.boolean().default(false),
});

/**
 * The block is parsed without its cameras, and each camera on its own, so that one bad entry
 * disables that camera only.
 */
const settingsSchema = platformSchema.omit({ cameras: true });
const cameraListSchema = z.array(z.unknown()).optional();

// ---------------------------------------------------------------------------------------------
// Messages. Zod's defaults ("Invalid input: expected number, received string") are for developers.
// ---------------------------------------------------------------------------------------------

const EXPECTED_WORDS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/** Zod issues in a user's words; the settings UI's request parser words its refusals the same way. */
export function plainMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) {
        return 'is required';
      }
      return `must be ${EXPECTED_WORDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string' || issue.origin === 'array') {
        return 'must not be empty';
      }
      if (!issue.inclusive) {
        return `must be greater than ${issue.minimum}`;
      }
      return issue.minimum === 0 ? 'must be 0 or more' : `must be at least ${issue.minimum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_big':
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    default:
      return 'is not valid';
  }
}

function safeParse<T extends z.ZodType>(schema: T, value: unknown, at: PropertyKey[]) {
  const result = schema.safeParse(value, { error: plainMessage });
  const issues: ConfigIssue[] = result.success
    ? []
    : result.error.issues.map((i) => ({ path: formatPath([...at, ...i.path]), message: i.message }));
  return { data: result.data as z.output<T> | undefined, issues };
}

// ---------------------------------------------------------------------------------------------
// Folder relations: pure string checks on resolved paths, so a missing or unmounted folder cannot
// make a dangerous config look safe.
// ---------------------------------------------------------------------------------------------

/** macOS and Windows volumes are case-insensitive by default: there /Cams and /cams are one folder. */
const FOLD_CASE = process.platform === 'darwin' || process.platform === 'win32';
const comparable = (p: string) => (FOLD_CASE ? p.toLowerCase() : p);

function isSameOrInside(child: string, parent: string): boolean {
  const c = comparable(child);
  const p = comparable(parent);
  return c === p || c.startsWith(p.endsWith(path.sep) ? p : p + path.sep);
}

/** Homebridge's own state in its storage folder: a camera folder must neither be, contain nor lie inside any of it (rules §1). */
const HOMEBRIDGE_STATE = ['config.json', 'accessories', 'persist', 'backups', 'node_modules'];

/**
 * A camera folder may lie inside the storage folder (camera.ui records into `<storage>/camera.ui/recordings`),
 * but never where Homebridge keeps its own state, nor in this plugin's index and journal folder.
 */
function storageConflict(folder: string, storagePath: string, indexFolder: string): string | undefined {
  if (folder === path.parse(folder).root) {
    return 'must not be the root folder of the disk';
  }
  if (comparable(folder) === comparable(storagePath)) {
    return `must not be the Homebridge storage folder (${storagePath}): it holds Homebridge's own state (config.json, accessories/, persist/)`;
  }
  if (isSameOrInside(storagePath, folder)) {
    return `must not contain the Homebridge storage folder (${storagePath})`;
  }
  const state = [
    ...HOMEBRIDGE_STATE.map((name) => ({
      at: path.join(storagePath, name),
      what: `Homebridge's own ${name}${name.includes('.') ? '' : '/'}`,
    })),
    // The index's own folder in the storage folder (the default <storage>/nvr-retention); one kept right in the storage
    // folder has no folder of its own, and one elsewhere is kept out of camera folders by refuseInsideCameras.
    ...(isSameOrInside(indexFolder, storagePath) && comparable(indexFolder) !== comparable(storagePath)
      ? [{ at: indexFolder, what: "this plugin's index and journal folder" }]
      : []),
  ];
  for (const { at, what } of state) {
    if (comparable(folder) === comparable(at)) {
      return `must not be ${what} (${at})`;
    }
    if (isSameOrInside(folder, at)) {
      return `must not be inside ${what} (${at})`;
    }
    if (isSameOrInside(at, folder)) {
      return `must not contain ${what} (${at})`;
    }
  }
  return undefined;
}

/**
 * A path through a symbolic link is refused rather than resolved: links are never followed (rules §1), and
 * a link can be pointed elsewhere later (at the storage folder, at another camera) without any
 * config change. Only the parts that exist now are checked; a missing folder cannot be a link.
 */
function linkConflict(folder: string): string | undefined {
  for (let at = folder; at !== path.dirname(at); at = path.dirname(at)) {
    let isLink = false;
    try {
      isLink = lstatSync(at).isSymbolicLink();
    } catch {
      // Not there (an unmounted disk, a folder the recorder creates later): nothing to follow.
    }
    if (isLink) {
      const real = realPathOf(folder);
      return `must not go through the symbolic link ${at} (links are never followed)${real === undefined ? '' : `; use the real folder ${real}`}`;
    }
  }
  return undefined;
}

/** Where a path really leads, links resolved as far as it exists; undefined when a link dangles. */
function realPathOf(target: string): string | undefined {
  const rest: string[] = [];
  for (let at = target; ; at = path.dirname(at)) {
    try {
      return path.join(realpathSync(at), ...rest);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || at === path.dirname(at)) {
        return undefined;
      }
      rest.unshift(path.basename(at));
    }
  }
}

/** The storage folder as written and, when links lead to it, as it really is: a camera must clear both. */
function storageFolders(storagePath: string): string[] {
  const real = realPathOf(storagePath);
  return real === undefined || real === storagePath ? [storagePath] : [storagePath, real];
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

interface CameraCheck {
  index: number;
  /** Valid name, when the name field alone is valid: duplicates are found even in broken entries. */
  name?: string;
  /** Resolved folder, when the path field is valid and clear of the storage folder. */
  folder?: string;
  /** The camera selects its files by `match` (its own or its preset's), so it may share its folder. */
  hasMatch?: boolean;
  camera?: CameraConfig;
  issues: ConfigIssue[];
}

interface Analysis {
  /** Issues that concern the whole block: the plugin cannot run with any of them. */
  blockIssues: ConfigIssue[];
  settings?: Omit<RetentionConfig, 'cameras'>;
  cameras: CameraCheck[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A null left by hand editing or by a form means "not set": the field's default or absence applies. */
const withoutNulls = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null));

function checkCamera(raw: unknown, index: number, storagePaths: string[], indexFolder: string): CameraCheck {
  const at = ['cameras', index];
  const entry = isRecord(raw) ? withoutNulls(raw) : raw;
  const { data, issues } = safeParse(cameraSchema, entry, at);
  const fields = isRecord(entry) ? entry : {};
  const check: CameraCheck = {
    index,
    issues,
    name: cameraSchema.shape.name.safeParse(fields.name).data,
  };

  const folder = cameraSchema.shape.path.safeParse(fields.path).data;
  const conflict =
    folder === undefined
      ? undefined
      : (storagePaths.map((storagePath) => storageConflict(folder, storagePath, indexFolder)).find(Boolean) ?? linkConflict(folder));
  if (conflict) {
    issues.push({ path: formatPath([...at, 'path']), message: conflict });
  } else {
    check.folder = folder;
  }

  if (data) {
    check.camera = withPreset(data);
    check.hasMatch = check.camera.match !== undefined;
  }
  return check;
}

/** The camera as the user wrote it, with its recorder preset filling in what was left out: what the user sets wins. */
function withPreset(data: z.output<typeof cameraSchema>): CameraConfig {
  const preset: Preset = PRESETS[data.recorder];
  const match = data.match ?? presetMatch(data.recorder, data.name);
  const nameTime = data.nameTime ?? preset.nameTime;
  const nameTimeZone = data.nameTimeZone ?? preset.nameTimeZone;
  return {
    name: data.name,
    path: data.path,
    retentionDays: data.retentionDays,
    eventRetentionDays: data.eventRetentionDays ?? 3 * data.retentionDays,
    ...(data.storageQuotaGB !== undefined && { storageQuotaGB: data.storageQuotaGB }),
    eventPatterns: data.eventPatterns ?? [...preset.eventPatterns],
    extensions: data.extensions ?? [...preset.extensions],
    protectSwitch: data.protectSwitch,
    recorder: data.recorder,
    ...(match !== undefined && { match }),
    recordingMode: data.recordingMode ?? preset.recordingMode,
    companions: data.companions ?? [...preset.companions],
    recordingFolders: data.recordingFolders ?? [...preset.recordingFolders],
    ...(nameTime !== undefined && { nameTime }),
    ...(nameTimeZone !== undefined && { nameTimeZone }),
    indexKey: match === undefined ? data.path : `${data.path}#${data.name}`,
  };
}

/**
 * Both cameras of an overlapping pair are refused: either one would index, and then delete, the
 * other's files. Cameras may share a folder when both select their files by `match`, and one may lie
 * inside another's when the outer one does (a file both still match is kept and reported at scan
 * time: camera_overlap). Entries that are broken for other reasons still take part, so that fixing a
 * typo never silently enables an overlap.
 */
function refuseOverlaps(cameras: CameraCheck[]): void {
  for (const a of cameras) {
    for (const b of cameras) {
      if (a === b || a.folder === undefined || b.folder === undefined) {
        continue;
      }
      const other = `cameras[${b.index}] (${b.folder})`;
      const needsMatch = 'give both cameras "match" (or a recorder preset that sets it) to share a folder';
      let message: string | undefined;
      if (comparable(a.folder) === comparable(b.folder)) {
        message = a.hasMatch && b.hasMatch ? undefined : `must not be the same folder as ${other}; ${needsMatch}`;
      } else if (isSameOrInside(a.folder, b.folder)) {
        message = b.hasMatch ? undefined : `must not be inside the folder of ${other}, unless that camera selects its files by "match"`;
      } else if (isSameOrInside(b.folder, a.folder)) {
        message = a.hasMatch ? undefined : `must not contain the folder of ${other}, unless this camera selects its files by "match"`;
      }
      if (message) {
        a.issues.push({ path: `cameras[${a.index}].path`, message });
      }
    }
  }
  // Names can differ while the folders are one (a bind mount): the folders that exist are compared by identity too.
  // A pair whose paths already say how they meet was judged above (cameras with "match" may share a folder,
  // and their files are told apart by path); one that meets only by identity is refused whatever its match:
  // the same files under two unrelated paths cannot be told apart.
  for (const { a, b, overlap } of identityOverlaps(cameras.map((camera) => camera.folder))) {
    const camera = cameras[a]!;
    const other = cameras[b]!;
    const field = `cameras[${camera.index}].path`;
    if (pathsMeet(camera.folder!, other.folder!)) {
      continue;
    }
    if (!camera.issues.some((issue) => issue.path === field)) {
      camera.issues.push({ path: field, message: `must not ${describeOverlap(overlap, `cameras[${other.index}] (${other.folder})`)}` });
    }
  }
}

/** Whether two folders are the same or one lies inside the other, by their paths alone. */
export function pathsMeet(a: string, b: string): boolean {
  return isSameOrInside(a, b) || isSameOrInside(b, a);
}

/** Names identify HomeKit switches and CLI arguments; "Front" and "front" are too easily confused. */
function refuseDuplicateNames(cameras: CameraCheck[]): void {
  for (const a of cameras) {
    for (const b of cameras) {
      if (a === b || a.name === undefined || b.name === undefined) {
        continue;
      }
      if (a.name.toLowerCase() !== b.name.toLowerCase()) {
        continue;
      }
      a.issues.push({ path: `cameras[${a.index}].name`, message: `must be unique: cameras[${b.index}] is also named "${b.name}"` });
    }
  }
}

/** A folder of ours (index, exports) inside a camera folder would be scanned, and exports deleted, as recordings. */
function refuseInsideCameras(field: string, target: string, why: string, cameras: CameraCheck[], issues: ConfigIssue[]): void {
  // Camera folders have no links on their way (refused otherwise), so the target's real path is what counts besides its own.
  const real = realPathOf(target) ?? target;
  for (const camera of cameras) {
    if (camera.folder !== undefined && (isSameOrInside(target, camera.folder) || isSameOrInside(real, camera.folder))) {
      issues.push({ path: field, message: `must not be inside the folder of cameras[${camera.index}] (${camera.folder}): ${why}` });
    }
  }
}

/**
 * The camera folder that `target` is (or is inside), as written or with links resolved; undefined
 * when none. The export folder given on the command line or in the settings UI is held to the same
 * rule as `exportPath`.
 */
export function cameraFolderHolding(target: string, cameraFolders: string[]): string | undefined {
  const real = realPathOf(target) ?? target;
  return cameraFolders.find((folder) => isSameOrInside(target, folder) || isSameOrInside(real, folder));
}

function analyse(raw: unknown, options: { storagePath: string }): Analysis {
  if (!isRecord(raw)) {
    return { blockIssues: [{ path: '', message: 'must be an object' }], cameras: [] };
  }

  const storagePath = path.resolve(options.storagePath);
  const block = withoutNulls(raw);
  const { data: settings, issues: blockIssues } = safeParse(settingsSchema, block, []);
  const { data: entries = [], issues: listIssues } = safeParse(cameraListSchema, block.cameras, ['cameras']);
  blockIssues.push(...listIssues);

  // Checked from the field alone, so the answer does not depend on unrelated mistakes in the block.
  const databasePath =
    settingsSchema.shape.databasePath.safeParse(block.databasePath).data ?? path.join(storagePath, 'nvr-retention', 'index.db');
  const storagePaths = storageFolders(storagePath);
  const cameras = entries.map((entry, index) => checkCamera(entry, index, storagePaths, path.dirname(databasePath)));
  refuseOverlaps(cameras);
  refuseDuplicateNames(cameras);

  refuseInsideCameras('databasePath', databasePath, 'the index must not live among the recordings', cameras, blockIssues);
  const exportPath = settingsSchema.shape.exportPath.safeParse(block.exportPath).data;
  if (exportPath !== undefined) {
    refuseInsideCameras('exportPath', exportPath, 'exported copies would be treated as recordings and deleted', cameras, blockIssues);
  }

  if (!settings || blockIssues.length > 0) {
    return { blockIssues, cameras };
  }
  return { blockIssues, cameras, settings: { ...settings, databasePath } };
}

const everyIssue = (a: Analysis) => [...a.blockIssues, ...a.cameras.flatMap((c) => c.issues)];

export interface ParsedConfig {
  config: RetentionConfig;
  disabledCameras: { index: number; name?: string; issues: ConfigIssue[] }[];
}

/** Plugin semantics: a bad camera entry disables that camera only (reported in disabledCameras); a bad top-level field or a non-object block throws ConfigError. */
export function parsePlatformConfig(raw: unknown, options: { storagePath: string }): ParsedConfig {
  const analysis = analyse(raw, options);
  // The error lists camera issues too, so the user can fix everything in one go.
  if (!analysis.settings) {
    throw new ConfigError(everyIssue(analysis));
  }
  return {
    config: {
      ...analysis.settings,
      cameras: analysis.cameras.flatMap((c) => (c.camera && c.issues.length === 0 ? [c.camera] : [])),
    },
    disabledCameras: analysis.cameras
      .filter((c) => c.issues.length > 0)
      .map((c) => ({ index: c.index, ...(c.name !== undefined && { name: c.name }), issues: c.issues })),
  };
}

/** CLI semantics: any issue at all, camera-level included, throws ConfigError listing every issue. */
export function parsePlatformConfigStrict(raw: unknown, options: { storagePath: string }): RetentionConfig {
  const analysis = analyse(raw, options);
  const issues = everyIssue(analysis);
  if (issues.length > 0 || !analysis.settings) {
    throw new ConfigError(issues);
  }
  return { ...analysis.settings, cameras: analysis.cameras.map((c) => c.camera as CameraConfig) };
}
