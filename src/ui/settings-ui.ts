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
import {
  acceptMissingRequest,
  browseRequest,
  emptyRequest,
  eventsRequest,
  idsRequest,
  InvalidRequestError,
  keepUntilRequest,
  parseRequest,
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

export type Push = (event: string, data: unknown) => void;
export type Handler = (body: unknown) => Promise<unknown>;

export interface SettingsUiOptions {
  /** Homebridge's config.json, whose NvrRetention block is read as saved. */
  configPath: string;
  storagePath: string;
  /** Streams an event to the open page (pushEvent of the plugin-ui-utils server). */
  push: Push;
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
  private loaded: { mtimeMs: number; disabledCameras: { index: number; name?: string; issues: string[] }[] } | undefined;
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
    };
    return this.engine;
  }

  /** The handlers by request path, each validating its body and answering errors as RequestError. */
  handlers(): Record<string, Handler> {
    const routes: Record<string, (body: unknown) => unknown> = {
      '/dashboard': (body) => this.dashboard(parseRequest(emptyRequest, body)),
      '/recordings': (body) => this.recordings(parseRequest(browseRequest, body)),
      '/protect': (body) => ({ changed: this.current().protect(parseRequest(idsRequest, body).ids, SETTINGS_UI) }),
      '/unprotect': (body) => ({ changed: this.current().unprotect(parseRequest(idsRequest, body).ids) }),
      '/keep-until': (body) => {
        const { ids, until } = parseRequest(keepUntilRequest, body);
        return { changed: this.current().protect(ids, SETTINGS_UI, until) };
      },
      '/delete/preview': (body) => {
        const preview = this.current().deletionPreview(parseRequest(idsRequest, body).ids);
        return { ...preview, message: deletionMessage(preview) };
      },
      '/delete': (body) => this.deleteSelected(parseRequest(idsRequest, body).ids),
      '/preview': (body) => this.preview(parseRequest(emptyRequest, body)),
      '/sweep': (body) => this.sweepNow(parseRequest(emptyRequest, body)),
      '/export': (body) => this.exportSelected(parseRequest(idsRequest, body).ids),
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
    const holder = engine.store.lock.holder();
    return {
      status: engine.status(),
      sweepRunning: holder ? { purpose: holder.purpose, since: new Date(holder.acquiredAt).toISOString() } : null,
      nextSweep: nextScheduledSweep(engine.config),
      schedule: engine.config.schedule,
      warnings: engine.store
        .recentEvents(100)
        .filter((event) => event.severity !== 'info')
        .slice(0, 10),
      history: engine.storageHistory(HISTORY_DAYS),
      forecast: engine.forecast(),
      disabledCameras: this.loaded?.disabledCameras ?? [],
      exportPath: engine.config.exportPath ?? null,
    };
  }

  private recordings(request: ReturnType<typeof browseRequest.parse>) {
    const by = request.sort === 'largest' || request.sort === 'smallest' ? 'size' : 'time';
    const descending = request.sort === 'newest' || request.sort === 'largest';
    const page = this.current().browse(
      { cameraNames: request.cameras, cls: request.cls, protection: request.protection, since: request.since, until: request.until },
      { by, descending, after: request.after },
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

  private async preview(_body: object) {
    const report = await this.current().sweep({ dryRun: true, trigger: SETTINGS_UI });
    return {
      message: previewMessage(report),
      deleted: report.deleted,
      byReason: report.byReason,
      byCamera: report.byCamera,
      byClass: report.byClass,
      spared: report.spared,
      events: report.events,
      deletions: (report.deletions ?? []).slice(0, PREVIEW_LIST),
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
        (report) =>
          this.options.push('sweep-done', {
            ok: report.status === 'done',
            message: summaryLine(report),
            deleted: report.deleted,
            failures: report.failures.length,
            planned: total,
          }),
        (error: unknown) => this.options.push('sweep-done', { ok: false, message: toRequestError(error).message, planned: total }),
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
