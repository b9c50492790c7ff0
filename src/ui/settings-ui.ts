/**
 * The settings UI's server side as plain functions over a RetentionEngine: homebridge-ui/server.js
 * registers them with the Homebridge UI, and the tests call them directly. Everything a person sees
 * comes from the engine and its index, never from a copy of its logic.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RequestError } from '@homebridge/plugin-ui-utils';
import cron from 'node-cron';
import { ConfigError, formatIssue, parsePlatformConfig } from '../config/schema.js';
import type { RecordingClass, RetentionConfig } from '../config/types.js';
import { RecordingNotFoundError, RetentionEngine } from '../retention/engine.js';
import { formatBytes, plural } from '../retention/format.js';
import { REASONS } from '../retention/reasons.js';
import { summaryLine, type SweepReport } from '../retention/report.js';
import { SweepLockHeldError } from '../store/lock.js';
import { PLATFORM_NAME } from '../settings.js';
import { storageProblems } from '../retention/problems.js';
import { readChunk } from './media.js';
import {
  acceptMissingRequest,
  browseRequest,
  emptyRequest,
  eventsRequest,
  filterSchema,
  InvalidRequestError,
  keepUntilRequest,
  mediaRequest,
  parseRequest,
  previewRequest,
  selectionRequest,
} from './requests.js';
import { locationFileIn } from '../store/recover.js';
import { dryRunCommand } from './cli-command.js';

/** Who the event log and the holds name for everything done here. */
export const SETTINGS_UI = 'settings UI';
/** Days of storage history the dashboard's chart shows. */
const HISTORY_DAYS = 14;
/** The package's folder (this file is dist/ui/settings-ui.js in it). */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A preview lists this many of the recordings it would delete; the counts cover all of them. */
const PREVIEW_LIST = 200;
/** The preview's filters by camera and reason pick from this many planned deletions. */
const PREVIEW_PLANNED = 200_000;
/** "Select all N matches" acts on at most this many recordings in one go. */
export const MAX_FILTER_SELECTION = 100_000;
/** The warnings list reaches back this far in the event log. */
const WARNINGS_SINCE_MS = 7 * 24 * 3_600_000;
const WARNINGS_SHOWN = 20;

export type Push = (event: string, data: unknown) => void;
export type Handler = (body: unknown) => Promise<unknown>;

export interface SettingsUiOptions {
  /** Homebridge's config.json, whose NvrRetention block is read as saved. */
  configPath: string;
  storagePath: string;
  /** Streams an event to the open page (pushEvent of the plugin-ui-utils server). */
  push: Push;
  /**
   * A line for the Homebridge log. The Homebridge UI pipes this process's stdout into its own log
   * (prefixed with the plugin's name), which hb-service writes to homebridge.log.
   */
  log?: (line: string) => void;
}

type Filter = ReturnType<typeof filterSchema.parse>;

function browseFilter(filter: Filter) {
  return { cameraNames: filter.cameras, cls: filter.cls, protection: filter.protection, since: filter.since, until: filter.until };
}

/** "Delete 45 recordings (3.2 GB): 30 continuous, 15 event; 4 protected recordings are excluded" */
export function deletionMessage(preview: ReturnType<RetentionEngine['deletionPreview']>): string {
  const classes = (['continuous', 'event'] as RecordingClass[])
    .filter((cls) => preview.byClass[cls] > 0)
    .map((cls) => `${preview.byClass[cls]} ${cls}`);
  const text = `Delete ${plural(preview.count, 'recording')} (${formatBytes(preview.bytes)})${classes.length ? `: ${classes.join(', ')}` : ''}`;
  const excluded = [
    preview.excluded.protected &&
      `${plural(preview.excluded.protected, 'protected recording')} ${preview.excluded.protected === 1 ? 'is' : 'are'} excluded`,
    preview.excluded.exporting &&
      `${plural(preview.excluded.exporting, 'recording')} being exported ${preview.excluded.exporting === 1 ? 'is' : 'are'} excluded`,
    preview.excluded.inProgress &&
      `${plural(preview.excluded.inProgress, 'recording')} still being written ${preview.excluded.inProgress === 1 ? 'is' : 'are'} excluded`,
    preview.excluded.missing && `${plural(preview.excluded.missing, 'recording')} no longer indexed`,
  ].filter(Boolean);
  return excluded.length ? `${text}; ${excluded.join('; ')}` : text;
}

/** "The next sweep would delete N recordings (X GB): a by age, b by quota, c by cap, d by floor; p protected recordings spared" */
export function previewMessage(report: SweepReport): string {
  const reasons = REASONS.map((reason) => `${report.byReason[reason].count} by ${reason}`).join(', ');
  return `The next sweep would delete ${plural(report.deleted.count, 'recording')} (${formatBytes(report.deleted.bytes)}): ${reasons}; ${plural(report.spared.protected, 'protected recording')} spared`;
}

/** "; 2 recordings not exported: another export holds it" (the first reason; the answer lists them all). */
function skippedMessage(skipped: { reason: string }[]): string {
  const [first] = skipped;
  return first ? `; ${plural(skipped.length, 'recording')} not exported: ${first.reason}` : '';
}

/** Turns any failure into the RequestError the Homebridge UI shows, with words a person understands. */
export function toRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) {
    return error;
  }
  if (error instanceof SweepLockHeldError) {
    return new RequestError(
      `A sweep is running right now (${error.holder.purpose}, started ${new Date(error.holder.acquiredAt).toLocaleTimeString('en-GB')}). Please try again when it has finished.`,
      { code: 'busy' },
    );
  }
  if (error instanceof ConfigError) {
    return new RequestError(`The saved settings have a mistake: ${error.issues.map(formatIssue).join('; ')}`, { code: 'config' });
  }
  if (error instanceof InvalidRequestError || error instanceof RecordingNotFoundError) {
    return new RequestError(error.message, { code: 'invalid' });
  }
  return new RequestError(`Something went wrong: ${(error as Error)?.message ?? String(error)}`, { code: 'internal' });
}

/** The saved NvrRetention block of config.json, or undefined when the plugin is not configured yet. */
function readPlatformBlock(configPath: string): unknown {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { platforms?: { platform?: unknown }[] };
  return config.platforms?.find((platform) => platform?.platform === PLATFORM_NAME);
}

/** When the schedule fires next, or null when node-cron cannot run it. */
export function nextScheduledSweep(config: RetentionConfig): string | null {
  try {
    const task = cron.createTask(config.schedule, () => {}, { timezone: config.timezone });
    const [next] = task.getNextRuns(1);
    void task.destroy();
    return next ? next.toISOString() : null;
  } catch {
    return null;
  }
}

export class SettingsUi {
  private engine: RetentionEngine | undefined;
  private loaded:
    | {
        mtimeMs: number;
        disabledCameras: { index: number; name?: string; issues: string[] }[];
        /** Cameras whose events' retention was left to its default (3 × the continuous days). */
        eventDefault: Set<string>;
      }
    | undefined;
  /** A sweep or export started here and not finished: the engine is not swapped under it. */
  private busy = 0;
  /** The sweep started by "Sweep now", for tests and for a second click. */
  running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly options: SettingsUiOptions) {}

  close(): void {
    this.engine?.close();
    this.engine = undefined;
  }

  /** The settings were closed: a sweep started here stops at its next safe point, then the index closes. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.close();
  }

  /** The engine for the config as saved now; re-opened when the settings were saved since. */
  private current(): RetentionEngine {
    const mtimeMs = statSync(this.options.configPath).mtimeMs;
    if (this.engine && (this.loaded?.mtimeMs === mtimeMs || this.busy > 0)) {
      return this.engine;
    }
    this.close();
    const block = readPlatformBlock(this.options.configPath);
    if (block === undefined) {
      throw new RequestError('NVR Retention is not set up yet: add a camera below and save.', { code: 'unconfigured' });
    }
    const parsed = parsePlatformConfig(block, { storagePath: this.options.storagePath });
    // The same location file as the Homebridge process: a databasePath changed in the settings moves
    // the index and its holds here too, instead of opening an empty one at the new path.
    this.engine = new RetentionEngine(parsed.config, { locationFile: locationFileIn(this.options.storagePath) });
    this.loaded = {
      mtimeMs,
      disabledCameras: parsed.disabledCameras.map((camera) => ({
        index: camera.index,
        name: camera.name,
        issues: camera.issues.map(formatIssue),
      })),
      eventDefault: new Set(
        ((block as { cameras?: { name?: unknown; eventRetentionDays?: unknown }[] }).cameras ?? [])
          .filter((camera) => camera?.eventRetentionDays === undefined && typeof camera?.name === 'string')
          .map((camera) => camera.name as string),
      ),
    };
    return this.engine;
  }

  /** The handlers by request path, each validating its body and answering errors as RequestError. */
  handlers(): Record<string, Handler> {
    const routes: Record<string, (body: unknown) => unknown> = {
      '/dashboard': (body) => this.dashboard(parseRequest(emptyRequest, body)),
      '/recordings': (body) => this.recordings(parseRequest(browseRequest, body)),
      '/protect': (body) => ({ changed: this.current().protect(this.selected(parseRequest(selectionRequest, body)), SETTINGS_UI) }),
      '/unprotect': (body) => ({ changed: this.current().unprotect(this.selected(parseRequest(selectionRequest, body))) }),
      '/keep-until': (body) => {
        const request = parseRequest(keepUntilRequest, body);
        return { changed: this.current().protect(this.selected(request), SETTINGS_UI, request.until) };
      },
      '/delete/preview': (body) => {
        const ids = this.selected(parseRequest(selectionRequest, body));
        // Asked before the confirmation, not after it: a sweep running elsewhere (the CLI) refuses now.
        this.refuseWhileSweeping();
        const preview = this.current().deletionPreview(ids);
        return { ...preview, message: deletionMessage(preview) };
      },
      '/delete': (body) => this.deleteSelected(this.selected(parseRequest(selectionRequest, body))),
      '/preview': (body) => this.preview(parseRequest(previewRequest, body)),
      '/sweep': (body) => this.sweepNow(parseRequest(emptyRequest, body)),
      '/poll': (body) => this.poll(parseRequest(emptyRequest, body)),
      '/media': (body) => this.media(parseRequest(mediaRequest, body)),
      '/export': (body) => this.exportSelected(this.selected(parseRequest(selectionRequest, body))),
      '/accept-missing': (body) => this.acceptMissing(parseRequest(acceptMissingRequest, body).camera),
      '/events': (body) => ({ events: this.current().store.recentEvents(parseRequest(eventsRequest, body).limit) }),
      // Needs no engine: the page shows it even while the config is broken.
      '/command': (body) => (parseRequest(emptyRequest, body), { dryRun: dryRunCommand(PACKAGE_ROOT, this.options.configPath) }),
    };
    return Object.fromEntries(
      Object.entries(routes).map(([path, route]) => [
        path,
        async (body: unknown) => {
          try {
            return await route(body);
          } catch (error) {
            throw toRequestError(error);
          }
        },
      ]),
    );
  }

  private dashboard(_body: object) {
    const engine = this.current();
    // Fresh figures: a scan reads only folders whose listing changed, and is skipped while a sweep runs.
    try {
      engine.scan();
    } catch (error) {
      if (!(error instanceof SweepLockHeldError)) {
        throw error;
      }
    }
    const status = engine.status();
    const since = Date.now() - WARNINGS_SINCE_MS;
    return {
      status,
      // The banner: the same list the HomeKit sensor's reasons come from.
      problems: storageProblems(status),
      rules: engine.config.cameras.map((camera) => ({
        name: camera.name,
        continuousDays: camera.retentionDays,
        eventDays: camera.eventRetentionDays,
        eventDefault: this.loaded?.eventDefault.has(camera.name) ?? false,
        quotaBytes: status.cameras.find((c) => c.name === camera.name)?.quotaBytes ?? null,
      })),
      sweepRunning: this.sweepRunning(),
      nextSweep: nextScheduledSweep(engine.config),
      schedule: engine.config.schedule,
      warnings: engine.store
        .recentEvents(500)
        .filter((event) => event.severity !== 'info' && event.time >= since)
        .slice(0, WARNINGS_SHOWN),
      history: engine.storageHistory(HISTORY_DAYS),
      forecast: engine.forecast(),
      disabledCameras: this.loaded?.disabledCameras ?? [],
      exportPath: engine.config.exportPath ?? null,
    };
  }

  private sweepRunning(): { purpose: string; since: string } | null {
    const holder = this.current().store.lock.holder();
    return holder ? { purpose: holder.purpose, since: new Date(holder.acquiredAt).toISOString() } : null;
  }

  private refuseWhileSweeping(): void {
    const holder = this.current().store.lock.holder();
    if (holder) {
      throw new SweepLockHeldError(holder);
    }
  }

  /** What the page polls every 30 s: cheap (no scan), enough to see that a sweep started or ended elsewhere. */
  private poll(_body: object) {
    const last = this.current().store.lastSweepRun();
    return { sweepRunning: this.sweepRunning(), lastSweep: last ? { startedAt: last.startedAt, status: last.status } : null };
  }

  /** The recordings an action names: its ids, or every match of its filter (bounded). */
  private selected(request: { ids?: number[]; filter?: Filter }): number[] {
    if (request.ids) {
      return request.ids;
    }
    const ids = this.current().matchingIds(browseFilter(request.filter!), MAX_FILTER_SELECTION + 1);
    if (ids.length > MAX_FILTER_SELECTION) {
      throw new RequestError(
        `That filter matches more than ${MAX_FILTER_SELECTION.toLocaleString('en-US')} recordings, more than one action can take. Narrow it to a camera or a date range and try again.`,
        { code: 'invalid' },
      );
    }
    if (ids.length === 0) {
      throw new RequestError('No recordings match the filter any more: nothing was changed.', { code: 'invalid' });
    }
    return ids;
  }

  private media(request: ReturnType<typeof mediaRequest.parse>) {
    const file = this.current().recordingFile(request.id, request.part);
    return readChunk(file.path, file.name, request.offset);
  }

  private recordings(request: ReturnType<typeof browseRequest.parse>) {
    const by = request.sort === 'largest' || request.sort === 'smallest' ? 'size' : 'time';
    const descending = request.sort === 'newest' || request.sort === 'largest';
    // Jump to a date: the first page starts there (newest first: before it), as if the page before had ended there.
    const after =
      request.after ??
      (request.startAt !== undefined && by === 'time'
        ? descending
          ? { value: request.startAt, cls: 0 as const, relPath: '', id: 1 }
          : { value: request.startAt - 1, cls: 1 as const, relPath: '\u{10FFFF}', id: Number.MAX_SAFE_INTEGER }
        : undefined);
    const page = this.current().browse(
      browseFilter(request),
      { by, descending, after },
      // One more than asked tells whether there is a next page without counting.
      request.limit + 1,
      request.after === undefined,
    );
    const more = page.recordings.length > request.limit;
    const recordings = page.recordings.slice(0, request.limit);
    const last = recordings[recordings.length - 1];
    return {
      recordings,
      total: page.total,
      next:
        more && last
          ? { value: by === 'size' ? last.size : last.endTime, cls: last.cls === 'event' ? 1 : 0, relPath: last.path, id: last.id }
          : null,
    };
  }

  /**
   * rules §3.1: a person confirms that a camera's missing recordings are really gone (not an unmounted
   * disk); their rows go and the camera is available again. Logged with who confirmed it.
   */
  private acceptMissing(name: string) {
    const engine = this.current();
    const camera = engine.cameraByName(name);
    if (!camera) {
      throw new RecordingNotFoundError(`no camera named "${name}"`);
    }
    const scan = engine.scan({ acceptMissing: [name] }).find((result) => result.camera.path === camera.indexKey)!;
    engine.store.addEvent({
      time: Date.now(),
      camera: name,
      kind: 'missing_accepted',
      severity: 'info',
      message: `${SETTINGS_UI} confirmed the missing recordings gone; ${plural(scan.removed, 'row')} dropped`,
      who: SETTINGS_UI,
      removed: scan.removed,
    });
    return { available: scan.available, removed: scan.removed, reason: scan.reason ?? null };
  }

  private async deleteSelected(ids: number[]) {
    const result = await this.current().deleteByHand(ids, SETTINGS_UI);
    return {
      ...result,
      message: `Deleted ${plural(result.deleted.count, 'recording')} (${formatBytes(result.deleted.bytes)})${result.kept.length ? `; ${result.kept.length} kept` : ''}${result.failures.length ? `; ${plural(result.failures.length, 'failure')}` : ''}`,
    };
  }

  /** What the next sweep would delete, with totals by camera and reason; the list can be narrowed to one of each. */
  private async preview(request: ReturnType<typeof previewRequest.parse>) {
    const report = await this.current().sweep({ dryRun: true, trigger: SETTINGS_UI, deletionListLimit: PREVIEW_PLANNED });
    const matching = (report.deletions ?? []).filter(
      (d) => (request.camera === undefined || d.camera === request.camera) && (request.reason === undefined || d.reason === request.reason),
    );
    return {
      message: previewMessage(report),
      deleted: report.deleted,
      byReason: report.byReason,
      byCamera: report.byCamera,
      byClass: report.byClass,
      spared: report.spared,
      events: report.events,
      matching: { count: matching.length, bytes: matching.reduce((sum, d) => sum + d.size, 0) },
      deletions: matching.slice(0, PREVIEW_LIST),
    };
  }

  /**
   * Starts a sweep and answers at once; progress and the end come as pushed events. A dry run first
   * gives the progress bar its total (and refuses at once, politely, while another sweep runs).
   */
  private async sweepNow(_body: object) {
    if (this.running) {
      throw new RequestError('A sweep started from this page is still running; its progress is shown above.', { code: 'busy' });
    }
    const engine = this.current();
    this.busy++;
    let planned: SweepReport;
    try {
      planned = await engine.sweep({ dryRun: true, trigger: SETTINGS_UI });
    } catch (error) {
      this.busy--;
      throw error;
    }
    const total = { count: planned.deleted.count, bytes: planned.deleted.bytes };
    this.options.push('sweep-progress', { deletedCount: 0, deletedBytes: 0, failures: 0, planned: total });
    this.running = engine
      .sweep({
        trigger: SETTINGS_UI,
        shouldStop: () => this.stopping,
        onProgress: (progress) => this.options.push('sweep-progress', { ...progress, planned: total }),
      })
      .then(
        (report) => {
          // Like the sweeps of the schedule and the CLI, this one ends with its summary line in the log.
          this.options.log?.(`${summaryLine(report)} (started from the settings screen)`);
          this.options.push('sweep-done', {
            ok: report.status === 'done',
            message: summaryLine(report),
            deleted: report.deleted,
            failures: report.failures.length,
            planned: total,
          });
        },
        (error: unknown) => {
          this.options.log?.(`The sweep started from the settings screen failed: ${toRequestError(error).message}`);
          this.options.push('sweep-done', { ok: false, message: toRequestError(error).message, planned: total });
        },
      )
      .finally(() => {
        this.busy--;
        this.running = undefined;
      });
    return { started: true, planned: total };
  }

  private async exportSelected(ids: number[]) {
    const engine = this.current();
    if (!engine.config.exportPath) {
      throw new RequestError('No export folder is set: enter one under Advanced → Export folder, save, and try again.', { code: 'config' });
    }
    this.busy++;
    try {
      this.options.push('export-progress', { done: 0, total: ids.length });
      const result = await engine.export(ids, engine.config.exportPath, `${SETTINGS_UI} ${process.pid}`, (done, total) =>
        this.options.push('export-progress', { done, total }),
      );
      return {
        folder: engine.config.exportPath,
        files: result.exported.length,
        skipped: result.skipped,
        message: `Exported ${plural(ids.length - result.skipped.length, 'recording')} (${plural(result.exported.length, 'file')}) to ${engine.config.exportPath}${skippedMessage(result.skipped)}`,
      };
    } finally {
      this.busy--;
    }
  }
}
