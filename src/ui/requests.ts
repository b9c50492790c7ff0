/**
 * The settings UI's request bodies. The browser is not trusted: every body is parsed here before a
 * handler sees it, recordings are named by id only (never by path), and lists are bounded.
 */
import { z } from 'zod';
import { formatPath } from '../config/errors.js';
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
      .min(1, 'choose at least one recording')
      .max(MAX_SELECTION, `at most ${MAX_SELECTION} recordings at once`),
  })
  .strict();

export const keepUntilRequest = idsRequest
  .extend({
    until: time.refine((until) => until > Date.now(), 'must be a date in the future'),
  })
  .strict();

export const SORTS = ['newest', 'oldest', 'largest', 'smallest'] as const;

export const browseRequest = z
  .object({
    cameras: z.array(z.string().min(1).max(200)).max(100).optional(),
    cls: z.enum(['continuous', 'event']).optional(),
    protection: z.enum(['only', 'none']).optional(),
    since: time.optional(),
    until: time.optional(),
    sort: z.enum(SORTS).default('newest'),
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
  .refine((body) => body.since === undefined || body.until === undefined || body.since < body.until, {
    message: 'the start must be before the end',
    path: ['since'],
  });

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
    return `has fields this page never sends: ${named}${more}`;
  }
  return plainMessage(issue);
}

/** Parses a body or throws a message a person can read: `ids: choose at least one recording`. */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body ?? {}, { error: requestMessage });
  if (!result.success) {
    const [issue] = result.error.issues;
    const where = formatPath(issue?.path ?? []);
    throw new InvalidRequestError(
      `The request was not accepted: ${where ? `${where}: ` : 'the request '}${issue?.message ?? 'is not valid'}`,
    );
  }
  return result.data;
}
