import type { API, Logging, PlatformAccessory, Service } from 'homebridge';

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
 */
export class EngineSwitch {
  private on = false;
  private readonly service: Service;

  constructor(
    private readonly api: API,
    readonly accessory: PlatformAccessory,
    private readonly log: Logging,
    private readonly spec: SwitchSpec,
  ) {
    const { Service: S, Characteristic: C } = api.hap;
    accessory
      .getService(S.AccessoryInformation)!
      .setCharacteristic(C.Manufacturer, 'homebridge-nvr-retention')
      .setCharacteristic(C.Model, spec.model);
    this.service = accessory.getService(S.Switch) ?? accessory.addService(S.Switch, spec.name);
    // A cached accessory keeps the name it was created with; a camera may have been renamed since.
    accessory.displayName = spec.name;
    this.service.setCharacteristic(C.Name, spec.name);
    this.service
      .getCharacteristic(C.On)
      .onGet(() => this.on)
      .onSet((value) => this.set(value === true));
  }

  /** The state from the store, after start-up and after every sweep. */
  update(on: boolean): void {
    this.on = on;
    this.service.updateCharacteristic(this.api.hap.Characteristic.On, on);
  }

  private set(on: boolean): void {
    if (on === this.on) {
      return;
    }
    this.on = on;
    this.spec.apply(on).then(
      (line) => this.log.info(line),
      (error: Error) => {
        this.log.error(`${this.spec.name} could not be turned ${on ? 'on' : 'off'}: ${error.message}`);
        this.update(!on);
      },
    );
  }
}
