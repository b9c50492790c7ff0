import type { API, Logging, PlatformAccessory, Service } from 'homebridge';
import type { CameraConfig } from '../config/types.js';

/** The camera path, not its name, identifies the switch: a renamed camera keeps its switch and its state. */
export const protectSwitchSeed = (camera: CameraConfig) => `homebridge-nvr-retention:protect:${camera.path}`;
export const protectSwitchName = (camera: CameraConfig) => `Protect ${camera.name}`;

/**
 * A "Protect <camera>" switch (SPEC §5). The engine's store holds its state; this keeps a copy so
 * that reads are answered at once, and turns a HomeKit write into `setProtectSwitch` on the engine.
 */
export class ProtectSwitch {
  private on = false;
  private readonly service: Service;

  constructor(
    private readonly api: API,
    readonly accessory: PlatformAccessory,
    private readonly camera: CameraConfig,
    private readonly log: Logging,
    private readonly setProtectSwitch: (camera: string, on: boolean) => Promise<number>,
  ) {
    const { Service: S, Characteristic: C } = api.hap;
    accessory.getService(S.AccessoryInformation)!
      .setCharacteristic(C.Manufacturer, 'homebridge-nvr-retention')
      .setCharacteristic(C.Model, 'Protect switch');
    this.service = accessory.getService(S.Switch) ?? accessory.addService(S.Switch, protectSwitchName(camera));
    this.applyName();
    this.service.getCharacteristic(C.On)
      .onGet(() => this.on)
      .onSet((value) => this.set(value === true));
  }

  get cameraPath(): string {
    return this.camera.path;
  }

  /** A cached accessory keeps the name it was created with; the camera may have been renamed since. */
  private applyName(): void {
    const name = protectSwitchName(this.camera);
    this.accessory.displayName = name;
    this.service.setCharacteristic(this.api.hap.Characteristic.Name, name);
  }

  /** The state from the store, after start-up and after every sweep. */
  update(on: boolean): void {
    this.on = on;
    this.service.updateCharacteristic(this.api.hap.Characteristic.On, on);
  }

  /**
   * Not awaited by HomeKit: the engine answers requests in order, so behind a long sweep the answer
   * could take longer than HomeKit waits. The switch shows the new state at once and goes back if
   * the engine refuses.
   */
  private set(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    const name = this.camera.name;
    this.setProtectSwitch(name, on).then(
      (count) => this.log.info(on ? `[${name}] Protect switch on: ${count} recordings protected` : `[${name}] Protect switch off: ${count} holds released`),
      (error: Error) => {
        this.log.error(`[${name}] Protect switch could not be turned ${on ? 'on' : 'off'}: ${error.message}`);
        this.update(!on);
      },
    );
  }
}
