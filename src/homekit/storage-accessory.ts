import type { API, CharacteristicValue, HAP, PlatformAccessory, Service } from 'homebridge';
import type { DiskPressureSensor } from '../config/types.js';
import { describeAccessory } from './accessory-information.js';
import type { StorageState } from './state.js';

export const STORAGE_ACCESSORY_NAME = 'Recordings Storage';
/** Fixed: there is one storage accessory per bridge, whatever the platform is called. */
export const STORAGE_UUID_SEED = 'homebridge-nvr-retention:storage';

type SensorType = HAP['Service']['ContactSensor' | 'OccupancySensor' | 'LeakSensor'];

/**
 * The "Recordings Storage" accessory: a disk-pressure sensor of the configured type and a Battery
 * service whose level is the free space. Handlers answer from `state`, never from the engine, so
 * HomeKit gets an answer at once even while a long sweep holds the engine.
 */
export class StorageAccessory {
  private state: StorageState = {
    pressure: false,
    reasons: [],
    batteryLevel: null,
    lowBattery: false,
    fault: false,
    active: true,
    levels: new Map(),
  };
  /** HAP needs a number; until the first measurement the level reads full rather than empty. */
  private batteryLevel = 100;
  private readonly sensor?: Service;
  private readonly battery: Service;

  constructor(
    private readonly api: API,
    readonly accessory: PlatformAccessory,
    sensorKind: DiskPressureSensor,
  ) {
    const { Service: S, Characteristic: C } = api.hap;
    describeAccessory(api, accessory, 'Recordings Storage');

    // A cached accessory may carry the sensor type of an earlier config: drop the ones not wanted.
    const sensorTypes: Record<Exclude<DiskPressureSensor, 'none'>, SensorType> = {
      contact: S.ContactSensor,
      occupancy: S.OccupancySensor,
      leak: S.LeakSensor,
    };
    for (const [kind, type] of Object.entries(sensorTypes)) {
      const existing = accessory.getService(type);
      if (existing && kind !== sensorKind) {
        accessory.removeService(existing);
      }
    }
    if (sensorKind !== 'none') {
      const type = sensorTypes[sensorKind];
      this.sensor = accessory.getService(type) ?? accessory.addService(type, 'Disk Pressure');
      this.sensor.getCharacteristic(this.sensorCharacteristic()).onGet(() => this.sensorValue());
      this.sensor.getCharacteristic(C.StatusFault).onGet(() => this.faultValue());
      this.sensor.getCharacteristic(C.StatusActive).onGet(() => this.state.active);
    }

    this.battery = accessory.getService(S.Battery) ?? accessory.addService(S.Battery, 'Free Space');
    this.battery.setCharacteristic(C.ChargingState, C.ChargingState.NOT_CHARGEABLE);
    this.battery.getCharacteristic(C.BatteryLevel).onGet(() => this.batteryLevel);
    this.battery.getCharacteristic(C.StatusLowBattery).onGet(() => this.lowBatteryValue());
  }

  /** Stores the new state and pushes every value to HomeKit. */
  update(state: StorageState): void {
    this.state = state;
    // An unmeasurable disk (NAS not mounted) keeps the last known level; the sensor reports the cause.
    if (state.batteryLevel !== null) {
      this.batteryLevel = state.batteryLevel;
    }
    const C = this.api.hap.Characteristic;
    if (this.sensor) {
      this.sensor.updateCharacteristic(this.sensorCharacteristic(), this.sensorValue());
      this.sensor.updateCharacteristic(C.StatusFault, this.faultValue());
      this.sensor.updateCharacteristic(C.StatusActive, state.active);
    }
    this.battery.updateCharacteristic(C.BatteryLevel, this.batteryLevel);
    this.battery.updateCharacteristic(C.StatusLowBattery, this.lowBatteryValue());
  }

  private sensorCharacteristic() {
    const { Service: S, Characteristic: C } = this.api.hap;
    if (this.sensor?.UUID === S.OccupancySensor.UUID) {
      return C.OccupancyDetected;
    }
    if (this.sensor?.UUID === S.LeakSensor.UUID) {
      return C.LeakDetected;
    }
    return C.ContactSensorState;
  }

  /** For all three sensor types HAP's 1 is the alarming value: contact open, occupied, leak. */
  private sensorValue(): CharacteristicValue {
    return this.state.pressure ? 1 : 0;
  }

  private faultValue(): CharacteristicValue {
    const C = this.api.hap.Characteristic;
    return this.state.fault ? C.StatusFault.GENERAL_FAULT : C.StatusFault.NO_FAULT;
  }

  private lowBatteryValue(): CharacteristicValue {
    const C = this.api.hap.Characteristic;
    return this.state.lowBattery ? C.StatusLowBattery.BATTERY_LEVEL_LOW : C.StatusLowBattery.BATTERY_LEVEL_NORMAL;
  }
}
