import { describe, expect, test } from '@jest/globals';
import type { CameraStatus, FilesystemStatus, StatusReport } from '../src/retention/engine.js';
import { protectSwitchStates, storageState } from '../src/homekit/state.js';

const GB = 1e9;

function camera(name: string, overrides: Partial<CameraStatus> = {}): CameraStatus {
  return {
    name,
    path: `/mnt/nvr/${name}`,
    key: `/mnt/nvr/${name}`,
    available: true,
    unavailableReason: null,
    missingBelow: null,
    recordings: 10,
    bytes: 10 * GB,
    eventRecordings: 2,
    protectedRecordings: 0,
    protectedBytes: 0,
    quotaBytes: null,
    oldest: null,
    newest: null,
    protectSwitchOn: false,
    ...overrides,
  };
}

/** A filesystem of 1000 GB with `freeGB` free and a floor of `floorGB` (null: no minFreeGB). */
function disk(freeGB: number | null, floorGB: number | null = 50, cameras = ['front']): FilesystemStatus {
  return {
    cameras,
    freeBytes: freeGB === null ? null : freeGB * GB,
    totalBytes: freeGB === null ? null : 1000 * GB,
    floorBytes: floorGB === null ? null : floorGB * GB,
  };
}

function status(
  overrides: Partial<StatusReport> & { events?: { kind: string; camera: string | null; message: string }[]; lastStatus?: string } = {},
): StatusReport {
  const { events = [], lastStatus = 'done', ...rest } = overrides;
  return {
    paused: false,
    cameras: [camera('front')],
    filesystems: [disk(500)],
    lastSweep: {
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
      status: lastStatus,
      report: { events: events.map((e) => ({ severity: 'warning', ...e })) },
    },
    ...rest,
  };
}

describe('disk-pressure sensor', () => {
  test('off when every disk is well above its floor, nothing is unsatisfiable and every camera is available', () => {
    expect(storageState(status())).toMatchObject({ pressure: false, reasons: [] });
  });

  test('on when a disk is under its floor', () => {
    const state = storageState(status({ filesystems: [disk(500, 50, ['back']), disk(40)] }));
    expect(state.pressure).toBe(true);
    expect(state.reasons).toEqual(['free space under the floor on the disk of front']);
  });

  test('on under the floor only: off at the floor and within 10 % above it, where a floor sweep leaves the disk', () => {
    expect(storageState(status({ filesystems: [disk(49.999999999)] })).pressure).toBe(true);
    expect(storageState(status({ filesystems: [disk(50)] })).pressure).toBe(false);
    expect(storageState(status({ filesystems: [disk(54.9)] })).pressure).toBe(false);
  });

  test('a camera folder found missing by a measurement counts as unavailable before the next scan', () => {
    const missing = { ...disk(null, 50, ['back']), error: 'ENOENT', folderMissing: true };
    const state = storageState(status({ cameras: [camera('front'), camera('back')], filesystems: [disk(500), missing] }));
    expect(state).toMatchObject({ pressure: true, active: false, reasons: ['camera back unavailable (its folder is missing)'] });
  });

  test('a disk without a floor never causes pressure, however full', () => {
    expect(storageState(status({ filesystems: [disk(1, null)] })).pressure).toBe(false);
  });

  test('on when the last sweep found a quota or the cap unsatisfiable; other events do not count', () => {
    const quota = storageState(status({ events: [{ kind: 'quota_unsatisfiable', camera: 'front', message: 'quota cannot be met' }] }));
    expect(quota.reasons).toEqual(['[front] quota cannot be met']);
    const cap = storageState(status({ events: [{ kind: 'cap_unsatisfiable', camera: null, message: 'cap cannot be met' }] }));
    expect(cap.reasons).toEqual(['cap cannot be met']);
    expect(storageState(status({ events: [{ kind: 'delete_failed', camera: 'front', message: 'EBUSY' }] })).pressure).toBe(false);
  });

  test('on, and StatusActive false, while a camera is unavailable', () => {
    const state = storageState(
      status({ cameras: [camera('front'), camera('back', { available: false, unavailableReason: 'folder missing' })] }),
    );
    expect(state).toMatchObject({ pressure: true, active: false, reasons: ['camera back unavailable (folder missing)'] });
    expect(storageState(status()).active).toBe(true);
  });

  test('no sweep yet: only the current disks and cameras count', () => {
    expect(storageState(status({ lastSweep: null }))).toMatchObject({ pressure: false, fault: false });
  });
});

describe('free-space battery', () => {
  test('the level is the lowest free percentage among the disks, rounded', () => {
    expect(storageState(status({ filesystems: [disk(800), disk(123.4), disk(600)] })).batteryLevel).toBe(12);
  });

  test('unmeasurable disks are left out; with none measurable the level is unknown', () => {
    expect(storageState(status({ filesystems: [disk(null), disk(700)] })).batteryLevel).toBe(70);
    expect(storageState(status({ filesystems: [disk(null)] })).batteryLevel).toBeNull();
  });

  test('low battery under the floor plus 10 % (the margin a floor sweep leaves), not from there on, and never without a floor', () => {
    expect(storageState(status({ filesystems: [disk(54.999999999)] })).lowBattery).toBe(true);
    expect(storageState(status({ filesystems: [disk(50)] })).lowBattery).toBe(true);
    expect(storageState(status({ filesystems: [disk(55)] })).lowBattery).toBe(false);
    expect(storageState(status({ filesystems: [disk(1, null)] })).lowBattery).toBe(false);
  });

  test('a disk that can no longer be measured keeps its last level in the minimum', () => {
    const cameras = [camera('front'), camera('back')];
    const before = storageState(status({ cameras, filesystems: [disk(800, 50, ['front']), disk(300, 50, ['back'])] }));
    expect(before.batteryLevel).toBe(30);
    const gone = { ...disk(null, 50, ['back']), error: 'ENOENT', folderMissing: true };
    const after = storageState(status({ cameras, filesystems: [disk(800, 50, ['front']), gone] }), null, before.levels);
    expect(after.batteryLevel).toBe(30);
    // Measured again, its new level counts.
    expect(
      storageState(status({ cameras, filesystems: [disk(800, 50, ['front']), disk(600, 50, ['back'])] }), null, after.levels).batteryLevel,
    ).toBe(60);
  });
});

describe('fault', () => {
  test('set while the last sweep failed, clear after a good or stopped one', () => {
    expect(storageState(status({ lastStatus: 'failed' })).fault).toBe(true);
    expect(storageState(status({ lastStatus: 'done' })).fault).toBe(false);
    expect(storageState(status({ lastStatus: 'stopped' })).fault).toBe(false);
  });

  test('set when the engine could not run the sweep at all', () => {
    expect(storageState(status(), 'the retention engine is not running').fault).toBe(true);
  });
});

test('protect switch states are keyed by camera path, so a renamed camera keeps its state', () => {
  const states = protectSwitchStates(status({ cameras: [camera('front', { protectSwitchOn: true }), camera('back')] }));
  expect(states).toEqual(
    new Map([
      ['/mnt/nvr/front', true],
      ['/mnt/nvr/back', false],
    ]),
  );
});

test('cameras that share a folder by match have a switch each, keyed by folder and name', () => {
  const shared = (name: string, on: boolean) => camera(name, { path: '/rec', key: `/rec#${name}`, protectSwitchOn: on });
  const states = protectSwitchStates(status({ cameras: [shared('Front', true), shared('Back', false)] }));
  expect(states).toEqual(
    new Map([
      ['/rec#Front', true],
      ['/rec#Back', false],
    ]),
  );
});
