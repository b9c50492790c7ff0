/**
 * The settings UI's request bodies. The browser is not trusted: every body is parsed here before a
 * handler sees it, recordings are named by id only (never by path), and lists are bounded.
 */
import { z } from 'zod';
import { plainMessage } from '../config/schema.js';

/** One selection: enough for "select all on many pages", small enough for one transaction. */
export const MAX_SELECTION = 5000;
export const MAX_PAGE = 200;

const recordingId = z.number().int().positive();
/** The last instant a JavaScript Date can show: later ones would make every date printed from the index throw. */
const LAST_DATE_MS = 8.64e15;
const time = z.number().int().nonnegative().max(LAST_DATE_MS, 'must be a real date');

export const idsRequest = z
  .object({
    ids: z
      .array(recordingId, 'must be a list of recording ids')
      .min(1, 'is empty: choose at least one recording')
      .max(MAX_SELECTION, `at most ${MAX_SELECTION} recordings at once`),
  })
  .strict();

export const SORTS = ['newest', 'oldest', 'largest', 'smallest'] as const;

/** Which recordings: the browser's filter, as "select all N matches" sends it. */
const filterFields = {
  cameras: z.array(z.string().min(1).max(200)).max(100).optional(),
  cls: z.enum(['continuous', 'event']).optional(),
  protection: z.enum(['only', 'none']).optional(),
  since: time.optional(),
  until: time.optional(),
};

const startBeforeEnd = {
  check: (body: { since?: number; until?: number }) => body.since === undefined || body.until === undefined || body.since < body.until,
  message: { message: 'the start must be before the end', path: ['since'] },
};

/** Only a plain object is a filter: a Date or an array has no own fields and would read as "everything". */
export const filterSchema = z.preprocess(
  (value) => (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype ? value : null),
  z.object(filterFields, 'must be a filter of the list').strict().refine(startBeforeEnd.check, startBeforeEnd.message),
);

/** An action's recordings: chosen one by one (ids), or every match of a filter, resolved on the server. */
const selectionFields = {
  ids: idsRequest.shape.ids.optional(),
  filter: filterSchema.optional(),
};

const oneSelection = {
  check: (body: { ids?: unknown; filter?: unknown }) => (body.ids === undefined) !== (body.filter === undefined),
  message: { message: 'choose the recordings, one by one or every match of the filter', path: ['ids'] },
};

export const selectionRequest = z.object(selectionFields).strict().refine(oneSelection.check, oneSelection.message);

export const keepUntilRequest = z
  .object({
    ...selectionFields,
    until: time.refine((until) => until > Date.now(), 'the date to keep them until has to be in the future'),
  })
  .strict()
  .refine(oneSelection.check, oneSelection.message);

export const browseRequest = z
  .object({
    ...filterFields,
    sort: z.enum(SORTS).default('newest'),
    /** Jump to a date: by time, the page starts at the first recording at (or, newest first, before) it. */
    startAt: time.optional(),
    limit: z.number().int().min(1).max(MAX_PAGE).default(50),
    /** The key of the last row of the previous page, as the previous answer gave it. */
    after: z
      .object({
        value: z.number(),
        cls: z.union([z.literal(0), z.literal(1)]),
        relPath: z.string().max(4096),
        id: recordingId,
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine(startBeforeEnd.check, startBeforeEnd.message);

export const previewRequest = z
  .object({
    camera: z.string().min(1).max(200).optional(),
    reason: z.enum(['age', 'quota', 'cap', 'floor']).optional(),
  })
  .strict();

/** Bounded: the base64 of one chunk is one IPC message from the UI server to the page. */
export const MEDIA_CHUNK_BYTES = 512 * 1024;

export const mediaRequest = z
  .object({
    id: recordingId,
    /** The recording itself, or its thumbnail (its first image sidecar). */
    part: z.enum(['recording', 'thumbnail']).default('recording'),
    offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  })
  .strict();

export const acceptMissingRequest = z
  .object({
    camera: z.string().min(1).max(200),
  })
  .strict();

export const eventsRequest = z
  .object({
    limit: z.number().int().min(1).max(500).default(100),
  })
  .strict();

export const emptyRequest = z.object({}).strict();

export class InvalidRequestError extends Error {}

/** Field names come from the browser: a refusal names a few, shortened, never a page of text. */
const MAX_NAMED_FIELDS = 3;
const MAX_FIELD_NAME = 40;

function quoteField(name: string): string {
  const shown = name.length > MAX_FIELD_NAME ? `${name.slice(0, MAX_FIELD_NAME)}…` : name;
  return JSON.stringify(shown);
}

function requestMessage(issue: z.core.$ZodRawIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const named = issue.keys.slice(0, MAX_NAMED_FIELDS).map(quoteField).join(', ');
    const more = issue.keys.length > MAX_NAMED_FIELDS ? ` and ${issue.keys.length - MAX_NAMED_FIELDS} more` : '';
    return `the request has fields this page never sends: ${named}${more}`;
  }
  return plainMessage(issue);
}

/**
 * What each field is to a person, so that a refusal never shows a field name: the page only sends
 * what its own controls made, and "until: must be…" means nothing to the one who chose a date.
 */
const FIELD_WORDS: Record<string, string> = {
  ids: 'the selection',
  filter: 'the filter',
  cameras: 'the camera',
  camera: 'the camera',
  cls: 'the kind of recording',
  protection: 'the protection filter',
  since: 'the start date',
  until: 'the end date',
  startAt: 'the date to jump to',
  sort: 'the sort order',
  limit: 'the page size',
  after: 'the place in the list',
  reason: 'the reason',
  id: 'the recording',
  part: 'the part of the recording',
  offset: 'the place in the file',
  expect: 'the expected count',
};

function fieldWords(path: readonly PropertyKey[]): string {
  const named = [...path].reverse().find((segment): segment is string => typeof segment === 'string');
  if (named === undefined) {
    return 'the request';
  }
  const words = FIELD_WORDS[named] ?? 'a part of the request';
  return typeof path[path.length - 1] === 'number' ? `an entry of ${words}` : words;
}

/** Parses a body or throws a message a person can read: "the selection must not be empty". */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body ?? {}, { error: requestMessage });
  if (!result.success) {
    const [issue] = result.error.issues;
    // A rule's own message (a refine) is a whole phrase already; a type check gets its field in words.
    const text =
      issue?.code === 'custom' || issue?.code === 'unrecognized_keys'
        ? (issue.message ?? 'is not valid')
        : `${fieldWords(issue?.path ?? [])} ${issue?.message ?? 'is not valid'}`;
    throw new InvalidRequestError(`The request was not accepted: ${text}`);
  }
  return result.data;
}
