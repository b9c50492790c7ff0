import cron, { type ScheduledTask } from 'node-cron';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from 'homebridge';
import { ConfigError, formatIssue, parsePlatformConfig } from './config/schema.js';
import type { RetentionConfig } from './config/types.js';
import type { EngineSwitch } from './homekit/engine-switch.js';
import { PAUSE_SWITCH_NAME, PAUSE_UUID_SEED, pauseSwitch } from './homekit/pause-switch.js';
import { protectSwitch, protectSwitchName, protectSwitchSeed } from './homekit/protect-switch.js';
import { isUnderFloor, protectSwitchStates, storageState } from './homekit/state.js';
import { STORAGE_ACCESSORY_NAME, STORAGE_UUID_SEED, StorageAccessory } from './homekit/storage-accessory.js';
import { bytesOfGB } from './config/units.js';
import { filesystemsOf, readFolderLive, type FilesystemStatus } from './retention/disk.js';
import type { StatusReport } from './retention/engine.js';
import { EngineWorker } from './retention/engine-worker.js';
import { formatBytes, plural } from './retention/format.js';
import { LOCK_HELD_ERROR } from './retention/worker-protocol.js';
import { locationFileIn } from './store/recover.js';
import { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';

/**
 * How often the plugin measures free space itself and looks at the index's last sweep (one run by
 * the CLI or the settings UI): the sensor and battery follow the disks within this, not only at
 * sweeps (rules §6.4). An early floor sweep starts at most this often. statfs costs microseconds.
 * NVR_RETENTION_TICK_MS shortens it for tests, which cannot wait minutes.
 */
export const TICK_MS = Number(process.env.NVR_RETENTION_TICK_MS) > 0 ? Number(process.env.NVR_RETENTION_TICK_MS) : 60_000;

/** A sweep that finds another one running (the CLI, the settings UI) waits this long for it, then is skipped (rules §3.9). */
const LOCK_WAIT_MS = 60_000;
const LOCK_POLL_MS = 1_000;

/** A sweep run's identity as the index has it: it changes when a sweep starts and when it ends. */
const runKey = (run: { startedAt: string | number; finishedAt: string | number | null } | null | undefined) =>
  run ? `${new Date(run.startedAt).getTime()}-${run.finishedAt === null ? 'running' : new Date(run.finishedAt).getTime()}` : 'none';

/**
 * The Homebridge side: reads the config, runs the engine in a worker thread on a schedule and keeps
 * the accessories in step with it. The constructor only subscribes: all work starts once Homebridge
 * has restored the cached accessories (didFinishLaunching), so that they can be reused.
 */
export class NvrRetentionPlatform implements DynamicPlatformPlugin {
  private readonly cached = new Map<string, PlatformAccessory>();
  private engine?: EngineWorker;
  private task?: ScheduledTask;
  private storage?: StorageAccessory;
  /** Protect switches by camera path, their identity. */
  private switches = new Map<string, EngineSwitch>();
  private pause?: EngineSwitch;
  /** The running sweep, so that a scheduled one never queues up behind the start-up one. */
  private sweeping?: Promise<void>;
  private lastSweepError: string | null = null;
  private loggedPressure = '';
  private stopping = false;
  /** The last status from the engine, its free space replaced by the plugin's own measurements in between. */
  private status?: StatusReport;
  /** Each camera's last measured free-space level: a disk that goes missing keeps it (rules §6.5). */
  private levels = new Map<string, number>();
  private shownRun = 'none';
  private tick?: NodeJS.Timeout;
  private measuring = false;
  private checkingRuns = false;
  private lastFloorSweepAt = 0;

  constructor(
    private readonly log: Logging,
    private readonly rawConfig: PlatformConfig | undefined,
    private readonly api: API,
  ) {
    api.on('didFinishLaunching', () => {
      this.launch().catch((error: Error) => this.log.error(`Retention stands down: ${error.message}`));
    });
    api.on('shutdown', () => {
      void this.shutdown();
    });
  }

  configureAccessory(accessory: PlatformAccessory): void {
    this.cached.set(accessory.UUID, accessory);
  }

  private async launch(): Promise<void> {
    const config = this.readConfig();
    if (!config) {
      return;
    }

    this.engine = new EngineWorker(config, this.log, undefined, { locationFile: locationFileIn(this.api.user.storagePath()) });
    let status = await this.engine.status();
    if (status.paused && !config.pauseSwitch) {
      // Without its switch nobody could resume retention from the Home app: never stay paused unseen.
      await this.engine.setPaused(false);
      status = { ...status, paused: false };
      this.log.warn('Retention was paused, but the Pause switch is no longer in the config: retention resumes.');
    } else if (status.paused) {
      this.log.warn('Retention is paused (Pause switch): deletions by age, quota and cap wait; the free-space floor still applies.');
    }
    this.setUpAccessories(config);
    this.show(status, this.readMarks());
    this.schedule(config);
    this.tick = setInterval(() => {
      void this.measure(config);
      void this.checkSweepRuns();
    }, TICK_MS);
    this.tick.unref();
    this.log.info(
      `Watching ${plural(config.cameras.length, 'camera folder')}; sweeps on "${config.schedule}"${config.timezone ? ` (${config.timezone})` : ''}.`,
    );
    if (config.sweepOnStartup) {
      // Not awaited: a large backlog is deleted while Homebridge and HomeKit already run.
      void this.sweep('startup');
    }
  }

  /** The validated config, or undefined after logging why the plugin does nothing. Never throws. */
  private readConfig(): RetentionConfig | undefined {
    let parsed;
    try {
      parsed = parsePlatformConfig(this.rawConfig ?? {}, { storagePath: this.api.user.storagePath() });
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      for (const issue of error.issues) {
        this.log.error(`Config: ${formatIssue(issue)}`);
      }
      // Cached accessories stay: fixing the typo brings them back with their automations intact.
      this.log.error('Retention is off until the config is fixed; nothing is deleted.');
      return undefined;
    }
    for (const camera of parsed.disabledCameras) {
      const label = camera.name === undefined ? `cameras[${camera.index}]` : `[${camera.name}]`;
      for (const issue of camera.issues) {
        this.log.warn(`${label} disabled: ${formatIssue(issue)}`);
      }
    }
    if (parsed.config.cameras.length === 0) {
      this.log.warn('No usable cameras in the config: add a camera (name, path, retentionDays) to start retention.');
      return undefined;
    }
    return parsed.config;
  }

  /** Reuses cached accessories, creates missing ones, and unregisters those the config no longer has. */
  private setUpAccessories(config: RetentionConfig): void {
    const wanted = new Set<string>();
    const accessory = (seed: string, name: string): PlatformAccessory => {
      const uuid = this.api.hap.uuid.generate(seed);
      wanted.add(uuid);
      const known = this.cached.get(uuid);
      if (known) {
        return known;
      }
      const created = new this.api.platformAccessory(name, uuid);
      this.api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, [created]);
      this.cached.set(uuid, created);
      return created;
    };

    this.storage = new StorageAccessory(this.api, accessory(STORAGE_UUID_SEED, STORAGE_ACCESSORY_NAME), config.diskPressureSensor);
    const engine = this.engine!;
    this.switches = new Map(
      config.cameras
        .filter((camera) => camera.protectSwitch)
        .map((camera) => [
          camera.indexKey,
          protectSwitch(this.api, accessory(protectSwitchSeed(camera), protectSwitchName(camera)), camera, this.log, (name, on) =>
            engine.setProtectSwitch(name, on),
          ),
        ]),
    );
    this.pause = config.pauseSwitch
      ? pauseSwitch(this.api, accessory(PAUSE_UUID_SEED, PAUSE_SWITCH_NAME), this.log, (paused) => engine.setPaused(paused))
      : undefined;

    const stale = [...this.cached.values()].filter((known) => !wanted.has(known.UUID));
    if (stale.length > 0) {
      this.log.info(`Removing accessories no longer in the config: ${stale.map((known) => known.displayName).join(', ')}`);
      this.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
      for (const known of stale) {
        this.cached.delete(known.UUID);
      }
    }
    // Names and services of reused accessories may have changed with the config.
    const kept = [this.storage, ...this.allSwitches()];
    this.api.updatePlatformAccessories(kept.map((kept) => kept.accessory));
  }

  private schedule(config: RetentionConfig): void {
    try {
      this.task = cron.schedule(config.schedule, () => this.sweep('schedule'), {
        name: 'nvr-retention sweep',
        timezone: config.timezone,
        noOverlap: true,
        logger: {
          info: (message) => this.log.debug(`Scheduler: ${message}`),
          warn: (message) => this.log.warn(`Scheduler: ${message}`),
          error: (message, error) => this.log.error(`Scheduler: ${String(message)}${error ? `: ${error.message}` : ''}`),
          debug: (message) => this.log.debug(`Scheduler: ${String(message)}`),
        },
      });
    } catch (error) {
      // The config check is a shape check; node-cron is the judge of ranges such as minute 61.
      this.log.error(`Config: schedule: ${(error as Error).message}; only the start-up sweep runs.`);
    }
  }

  /** One sweep, then the accessories are refreshed. The engine's own log lines carry the summary. */
  private sweep(trigger: string): Promise<void> {
    if (this.sweeping) {
      this.log.debug(`A sweep is still running; the ${trigger} sweep is skipped.`);
      return this.sweeping;
    }
    this.sweeping = (async () => {
      try {
        if (await this.sweepOnceLockIsFree(trigger)) {
          this.lastSweepError = null;
        }
      } catch (error) {
        if (this.stopping) {
          return;
        }
        this.lastSweepError = (error as Error).message;
        this.log.error(`Sweep failed: ${this.lastSweepError}`);
      }
      await this.refresh();
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /**
   * rules §3.9: another sweep (the CLI, the settings UI) is not a failure of this one. It waits for
   * it, up to LOCK_WAIT_MS, and is skipped after that; either way with an info line and no fault.
   * Resolves to whether it swept.
   */
  private async sweepOnceLockIsFree(trigger: string): Promise<boolean> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let waited = false; ; waited = true) {
      try {
        await this.engine!.sweep({ trigger });
        return true;
      } catch (error) {
        if ((error as Error).name !== LOCK_HELD_ERROR || this.stopping) {
          throw error;
        }
        const holder = (error as Error).message.replace(/^a/, 'A');
        if (Date.now() >= deadline) {
          this.log.info(`${holder}: the ${trigger} sweep is skipped; HomeKit shows what that sweep did when it ends.`);
          return false;
        }
        if (!waited) {
          this.log.info(`${holder}: the ${trigger} sweep waits for it (up to ${LOCK_WAIT_MS / 1000} s).`);
        }
        await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      }
    }
  }

  /** Each switch's write count before a status read: a write after it wins over what the read returns. */
  private readMarks(): Map<EngineSwitch, number> {
    return new Map(this.allSwitches().map((engineSwitch) => [engineSwitch, engineSwitch.readMark]));
  }

  private allSwitches(): EngineSwitch[] {
    return [...this.switches.values(), ...(this.pause ? [this.pause] : [])];
  }

  private async refresh(): Promise<void> {
    if (this.stopping) {
      return;
    }
    try {
      const marks = this.readMarks();
      this.show(await this.engine!.status(), marks);
    } catch (error) {
      if (!this.stopping) {
        this.log.error(`Could not read the retention status: ${(error as Error).message}`);
      }
    }
  }

  private show(status: StatusReport, marks: Map<EngineSwitch, number>): void {
    this.status = status;
    this.shownRun = runKey(status.lastSweep);
    this.showStorage();
    const switchStates = protectSwitchStates(status);
    for (const [path, cameraSwitch] of this.switches) {
      cameraSwitch.update(switchStates.get(path) ?? false, marks.get(cameraSwitch));
    }
    if (this.pause) {
      this.pause.update(status.paused, marks.get(this.pause));
    }
  }

  private showStorage(): void {
    const state = storageState(this.status!, this.lastSweepError, this.levels);
    this.levels = state.levels;
    this.storage?.update(state);
    // Logged when the causes change, not after every hourly sweep while they last.
    const pressure = state.reasons.join('; ');
    if (pressure !== this.loggedPressure) {
      if (pressure) {
        this.log.warn(`Disk pressure: ${pressure}`);
      } else if (this.loggedPressure) {
        this.log.info('Disk pressure cleared.');
      }
      this.loggedPressure = pressure;
    }
  }

  /**
   * Every tick: free space measured here, in the main thread but through the thread pool (a worker
   * busy with a long scan answers late), shown at once; a disk under its floor starts a sweep now.
   */
  private async measure(config: RetentionConfig): Promise<void> {
    if (this.measuring || this.stopping || !this.status) {
      return;
    }
    this.measuring = true;
    try {
      const readings = await Promise.all(config.cameras.map((camera) => readFolderLive(camera)));
      if (this.stopping) {
        return;
      }
      const filesystems = filesystemsOf(readings, bytesOfGB(config.minFreeGB) ?? null);
      this.status = { ...this.status, filesystems };
      this.showStorage();
      this.sweepIfUnderFloor(filesystems);
    } catch (error) {
      this.log.error(`Could not measure free space: ${(error as Error).message}`);
    } finally {
      this.measuring = false;
    }
  }

  /** rules §3.5: a disk that fills between scheduled sweeps is not left under its floor until the next one. */
  private sweepIfUnderFloor(filesystems: FilesystemStatus[]): void {
    const available = new Set(this.status!.cameras.filter((camera) => camera.available).map((camera) => camera.name));
    const under = filesystems.filter((fs) => isUnderFloor(fs) && fs.cameras.some((camera) => available.has(camera)));
    if (under.length === 0 || this.sweeping || Date.now() - this.lastFloorSweepAt < TICK_MS) {
      return;
    }
    this.lastFloorSweepAt = Date.now();
    const disks = under.map((fs) => `${fs.cameras.join(', ')} (${formatBytes(fs.freeBytes!)} free, floor ${formatBytes(fs.floorBytes!)})`);
    this.log.info(`Free space under the floor on the disk of ${disks.join('; ')}: sweeping now, before the schedule.`);
    void this.sweep('floor');
  }

  /** A sweep run by the CLI or the settings UI shows in HomeKit once it has ended, not at the plugin's next sweep. */
  private async checkSweepRuns(): Promise<void> {
    if (this.checkingRuns || this.sweeping || this.stopping) {
      return;
    }
    this.checkingRuns = true;
    try {
      const last = await this.engine!.lastSweep();
      if (last && last.finishedAt !== null && runKey(last) !== this.shownRun && !this.sweeping) {
        await this.refresh();
      }
    } catch (error) {
      if (!this.stopping) {
        this.log.debug(`Could not read the last sweep: ${(error as Error).message}`);
      }
    } finally {
      this.checkingRuns = false;
    }
  }

  /** Homebridge waits a few seconds at most: stop the schedule, let the sweep stop at a safe point, close the index. */
  private async shutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.tick);
    try {
      await this.task?.destroy();
      await this.engine?.stop();
    } catch (error) {
      this.log.error(`Shutdown: ${(error as Error).message}`);
    }
  }
}
