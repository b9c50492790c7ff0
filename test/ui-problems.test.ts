/**
 * The settings screen's banner and the HomeKit sensor read one list of current problems
 * (src/retention/problems.ts): this checks the banner's words, and that the sensor's reasons are the same list.
 */
import { describe, expect, test } from '@jest/globals';
import type { CameraStatus, StatusReport } from '../src/retention/engine.js';
import { storageProblems } from '../src/retention/problems.js';
import { storageState } from '../src/homekit/state.js';

function camera(name: string, overrides: Partial<CameraStatus> = {}): CameraStatus {
  return {
    name,
    path: `/mnt/nas/${name}`,
    key: `/mnt/nas/${name}`,
    available: true,
    unavailableReason: null,
    missingBelow: null,
    recordings: 1,
    bytes: 1,
    eventRecordings: 0,
    protectedRecordings: 0,
    protectedBytes: 0,
    quotaBytes: null,
    oldest: null,
    newest: null,
    protectSwitchOn: false,
    ...overrides,
  };
}

const missing = { available: false, unavailableReason: 'the folder is missing', missingBelow: '/mnt/nas' };

function status(cameras: CameraStatus[], freeBytes = 500e9): StatusReport {
  return {
    paused: false,
    cameras,
    filesystems: [{ cameras: cameras.map((c) => c.name), freeBytes, totalBytes: 1000e9, floorBytes: 50e9 }],
    lastSweep: null,
  };
}

describe('the banner of current problems', () => {
  test('several cameras missing under one folder are one "is it mounted?" message naming it, not one per camera', () => {
    const state = status([camera('front', missing), camera('back', missing), camera('garage', missing), camera('porch')]);
    const problems = storageProblems(state);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(
      '3 cameras under /mnt/nas are unavailable (front, back and garage): is the NAS or disk at /mnt/nas mounted? Nothing of theirs is deleted until their files are back.',
    );
    // HomeKit's log keeps one reason per camera, from the same list.
    expect(storageState(state).reasons).toEqual(problems[0]!.reasons);
    expect(storageState(state).reasons).toHaveLength(3);
  });

  test('one missing camera and a disk under its floor are two messages in plain words', () => {
    const problems = storageProblems(status([camera('front', { ...missing, missingBelow: '/srv' }), camera('back')], 20e9));
    expect(problems.map((p) => p.message)).toEqual([
      'The disk of front and back has 20.0 GB free, less than the 50.0 GB it must keep free. Sweeps delete the oldest recordings that may go until there is room again.',
      'front is unavailable: the folder is missing. Nothing of it is deleted until its files are back.',
    ]);
  });
});
