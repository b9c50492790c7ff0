import type { API, Logging, PlatformAccessory, Service } from 'homebridge';
import { describeAccessory } from './accessory-information.js';

export interface SwitchSpec {
  name: string;
  model: string;
  /** Applies the new state in the engine; resolves to the line to log. */
  apply(on: boolean): Promise<string>;
}

/**
 * A HomeKit switch whose state lives in the engine's store (the Protect and Pause switches). Reads
 * are answered from memory at once. A write is not awaited by HomeKit: the engine answers between a
 * sweep's batches, which on a slow NAS can still be longer than HomeKit waits, so the switch shows
 * the new state at once and goes back if the engine refuses.
 *
 * Every write is counted. A state read from the engine is shown only when no write came after the
 * read began (`update(on, readStartedAt)`): a status read just before a write would otherwise put
 * back the old state and leave HomeKit showing what the engine no longer has (issue 13, item 1).
 */
export class EngineSwitch {
  private on = false;
  private writes = 0;
  private readonly service: Service;

  constructor(
    private readonly api: API,
    readonly accessory: PlatformAccessory,
    private readonly log: Logging,
    private readonly spec: SwitchSpec,
  ) {
    const { Service: S, Characteristic: C } = api.hap;
    describeAccessory(api, accessory, spec.model);
    this.service = accessory.getService(S.Switch) ?? accessory.addService(S.Switch, spec.name);
    // A cached accessory keeps the name it was created with; a camera may have been renamed since.
    accessory.displayName = spec.name;
    this.service.setCharacteristic(C.Name, spec.name);
    this.service
      .getCharacteristic(C.On)
      .onGet(() => this.on)
      .onSet((value) => this.set(value === true));
  }

  /** Pass to `update` with the state read from the engine: mark it before the read starts. */
  get readMark(): number {
    return this.writes;
  }

  /**
   * The state from the store, after start-up and after every sweep. Ignored when a write came after
   * `readStartedAt` (a `readMark`): the engine applies writes in order, so the newer write wins.
   */
  update(on: boolean, readStartedAt?: number): void {
    if (readStartedAt !== undefined && readStartedAt !== this.writes) {
      return;
    }
    this.show(on);
  }

  private show(on: boolean): void {
    this.on = on;
    this.service.updateCharacteristic(this.api.hap.Characteristic.On, on);
  }

  /** Applied even when it equals the state shown: what is shown may be older than the engine's own (a CLI, a lost index). */
  private set(on: boolean): void {
    const before = this.on;
    const write = ++this.writes;
    this.on = on;
    this.spec.apply(on).then(
      (line) => this.log.info(line),
      (error: Error) => {
        this.log.error(`${this.spec.name} could not be turned ${on ? 'on' : 'off'}: ${error.message}`);
        if (write === this.writes) {
          this.show(before);
        }
      },
    );
  }
}
