import cron, { type ScheduledTask } from 'node-cron';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from 'homebridge';
import { ConfigError, formatIssue, parsePlatformConfig } from './config/schema.js';
import type { RetentionConfig } from './config/types.js';
import type { EngineSwitch } from './homekit/engine-switch.js';
import { PAUSE_SWITCH_NAME, PAUSE_UUID_SEED, pauseSwitch } from './homekit/pause-switch.js';
import { protectSwitch, protectSwitchName, protectSwitchSeed } from './homekit/protect-switch.js';
import { protectSwitchStates, storageState } from './homekit/state.js';
import { STORAGE_ACCESSORY_NAME, STORAGE_UUID_SEED, StorageAccessory } from './homekit/storage-accessory.js';
import type { StatusReport } from './retention/engine.js';
import { EngineWorker } from './retention/engine-worker.js';
import { locationFileIn } from './store/recover.js';
import { PLATFORM_NAME, PLUGIN_NAME } from './settings.js';

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
    this.show(status);
    this.schedule(config);
    this.log.info(
      `Watching ${config.cameras.length} camera folder(s); sweeps on "${config.schedule}"${config.timezone ? ` (${config.timezone})` : ''}.`,
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
    const kept = [this.storage, ...this.switches.values(), ...(this.pause ? [this.pause] : [])];
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
        await this.engine!.sweep({ trigger });
        this.lastSweepError = null;
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

  private async refresh(): Promise<void> {
    if (this.stopping) {
      return;
    }
    try {
      this.show(await this.engine!.status());
    } catch (error) {
      if (!this.stopping) {
        this.log.error(`Could not read the retention status: ${(error as Error).message}`);
      }
    }
  }

  private show(status: StatusReport): void {
    const state = storageState(status, this.lastSweepError);
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
    const switchStates = protectSwitchStates(status);
    for (const [path, cameraSwitch] of this.switches) {
      cameraSwitch.update(switchStates.get(path) ?? false);
    }
    this.pause?.update(status.paused);
  }

  /** Homebridge waits a few seconds at most: stop the schedule, let the sweep stop at a safe point, close the index. */
  private async shutdown(): Promise<void> {
    this.stopping = true;
    try {
      await this.task?.destroy();
      await this.engine?.stop();
    } catch (error) {
      this.log.error(`Shutdown: ${(error as Error).message}`);
    }
  }
}
