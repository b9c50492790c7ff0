/**
 * Recorder presets on replicas of each recorder's own layout (test/helpers/recorder-replicas.ts, each
 * citing the recorder's source): per camera, which files are recordings, their class, companions and
 * end time; then real sweeps (age; age, a quota and the free-space floor on a small tmpfs) leave no
 * split pair, nothing expired, and delete nothing early. Real files, real index, real mounts.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { PRESETS } from '../src/config/presets.js';
import type { RetentionConfig } from '../src/config/types.js';
import { RetentionEngine, silentLogger } from '../src/retention/engine.js';
import { freeBytes, mountTest, mountTmpfs, unmountAll } from './helpers/mounts.js';
import { type ExpectedRecording, REPLICAS, type Replica } from './helpers/recorder-replicas.js';
import { buildConfig, DAY_MS, makeSandbox, type Sandbox } from './helpers/tree.js';

let sandbox: Sandbox;
const engines: RetentionEngine[] = [];

beforeEach(() => {
  sandbox = makeSandbox('nvr-recorders');
});

afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.close();
  }
  unmountAll();
  sandbox.remove();
});

function engineFor(config: RetentionConfig): RetentionEngine {
  const engine = new RetentionEngine(config, { log: silentLogger });
  engines.push(engine);
  return engine;
}

/** What the index holds for one camera, in the shape of the replica's expectations. */
function indexedOf(engine: RetentionEngine, camera: string): ExpectedRecording[] {
  return engine
    .list({ cameraNames: [camera] }, { limit: 100_000, offset: 0 })
    .map((r) => ({ relPath: r.relPath, cls: r.cls, companions: [...r.sidecars].sort(), endTime: r.endTime, size: r.size }))
    .sort((a, b) => a.relPath.localeCompare(b.relPath));
}

const byPath = (list: ExpectedRecording[]) => [...list].sort((a, b) => a.relPath.localeCompare(b.relPath));

/** The absolute paths of a recording and its companions. */
function filesOf(replica: Replica, camera: string, recording: ExpectedRecording): string[] {
  const folder = replica.cameras.find((c) => c.name === camera)!.path;
  const dir = join(folder, recording.relPath, '..');
  return [join(folder, recording.relPath), ...recording.companions.map((companion) => join(dir, companion))];
}

function isExpired(replica: Replica, camera: string, recording: ExpectedRecording, now: number): boolean {
  const config = replica.cameras.find((c) => c.name === camera)!;
  const days = recording.cls === 'event' ? (config.eventRetentionDays as number) : (config.retentionDays as number);
  return now - recording.endTime > days * DAY_MS;
}

/** Every recording is there whole or gone whole: a companion never outlives, nor goes before, its recording. */
function expectNoSplitPair(replica: Replica): { present: [string, ExpectedRecording][]; gone: [string, ExpectedRecording][] } {
  const present: [string, ExpectedRecording][] = [];
  const gone: [string, ExpectedRecording][] = [];
  for (const [camera, recordings] of replica.expected) {
    for (const recording of recordings) {
      const states = filesOf(replica, camera, recording).map((file) => fs.existsSync(file));
      expect({ camera, recording: recording.relPath, states }).toEqual({
        camera,
        recording: recording.relPath,
        states: states.map(() => states[0]),
      });
      (states[0] ? present : gone).push([camera, recording]);
    }
  }
  return { present, gone };
}

describe.each(Object.keys(PRESETS))('recorder %s', (recorder) => {
  test('each camera indexes its own recordings: class, companions and end time', () => {
    const replica = REPLICAS[recorder]!(sandbox.root, sandbox.storage);
    const engine = engineFor(buildConfig(sandbox, replica.cameras));
    const scans = engine.scan();
    expect(scans.every((scan) => scan.available)).toBe(true);
    expect(replica.cameras.length).toBeGreaterThanOrEqual(2);
    for (const [camera, expected] of replica.expected) {
      expect({ camera, recordings: indexedOf(engine, camera) }).toEqual({ camera, recordings: byPath(expected) });
    }
    // Nothing two cameras match, nothing a name could not date.
    expect(scans.map((scan) => [scan.overlaps.count, scan.nameTimeMisses.count])).toEqual(scans.map(() => [0, 0]));
  });

  test('a sweep deletes what expired, whole, and nothing else', async () => {
    const replica = REPLICAS[recorder]!(sandbox.root, sandbox.storage);
    const engine = engineFor(buildConfig(sandbox, replica.cameras));
    const now = Date.now();
    const report = await engine.sweep();
    expect(report.status).toBe('done');
    expect(report.failures).toEqual([]);
    const { present, gone } = expectNoSplitPair(replica);
    expect(gone.length).toBeGreaterThan(0);
    expect(present.filter(([camera, r]) => isExpired(replica, camera, r, now)).map(([, r]) => r.relPath)).toEqual([]);
    expect(gone.filter(([camera, r]) => !isExpired(replica, camera, r, now)).map(([, r]) => r.relPath)).toEqual([]);
    expect(report.byReason.age.count).toBe(gone.length);
    for (const file of [...replica.untouchable, ...replica.ignored]) {
      expect(fs.existsSync(file)).toBe(true);
    }
    // No camera folder is removed, even one a deletion emptied.
    for (const camera of replica.cameras) {
      expect(fs.existsSync(camera.path)).toBe(true);
    }
  });
});

describe('camera.ui at its default place', () => {
  test('three cameras in one flat folder inside the Homebridge storage folder each keep their own retention, from the preset and their names alone', async () => {
    const replica = REPLICAS['camera.ui']!(sandbox.root, sandbox.storage);
    const folder = join(sandbox.storage, 'camera.ui', 'recordings');
    const config = buildConfig(sandbox, [
      { name: 'Front Door', path: folder, recorder: 'camera.ui', retentionDays: 1, eventRetentionDays: 1 },
      { name: 'Garage', path: folder, recorder: 'camera.ui', retentionDays: 3, eventRetentionDays: 3 },
      { name: 'Back Yard', path: folder, recorder: 'camera.ui', retentionDays: 7, eventRetentionDays: 7 },
    ]);
    expect(config.cameras.map((c) => c.match)).toEqual([['Front_Door-*'], ['Garage-*'], ['Back_Yard-*']]);
    const engine = engineFor(config);
    const report = await engine.sweep();
    expect(report.byCamera).toMatchObject({ 'Front Door': { count: 5 }, Garage: { count: 3 } });
    expect(report.byCamera['Back Yard']?.count ?? 0).toBe(0);
    const left = fs.readdirSync(folder).filter((name) => name.endsWith('_CUI.mp4') || name.endsWith('_CUI.jpeg'));
    expect(left.filter((name) => name.startsWith('Front_Door-'))).toHaveLength(1);
    expect(left.filter((name) => name.startsWith('Garage-'))).toHaveLength(3);
    expect(left.filter((name) => name.startsWith('Back_Yard-'))).toHaveLength(6);
    expectNoSplitPair(replica);
    // Every recording is an event: camera.ui records only when triggered.
    expect(engine.status().cameras.map((c) => c.recordings - c.eventRecordings)).toEqual([0, 0, 0]);
  });
});

describe('age, a quota and the free-space floor together, on a real tmpfs', () => {
  const SIZE = 100 * 1024;

  mountTest(
    'camera.ui, Agent DVR and ZoneMinder: no split pair, nothing expired, nothing deleted beyond what each rule needs',
    async () => {
      const disk = join(sandbox.root, 'disk');
      mountTmpfs(disk, '8m');
      const replicas = ['camera.ui', 'agentdvr', 'zoneminder'].map((recorder) => REPLICAS[recorder]!(disk, disk, SIZE));
      const quotaCamera = 'Agent QWERTY';
      const quotaBytes = 250_000;
      const floor = 6_500_000;
      const cameras = replicas.flatMap((replica) => replica.cameras);
      const config = buildConfig(
        sandbox,
        cameras.map((camera) => (camera.name === quotaCamera ? { ...camera, storageQuotaGB: quotaBytes / 1e9 } : camera)),
        { minFreeGB: floor / 1e9 },
      );
      const engine = engineFor(config);
      const now = Date.now();
      const report = await engine.sweep();

      expect(report.status).toBe('done');
      expect(report.failures).toEqual([]);
      expect(report.byReason.quota.count).toBeGreaterThan(0);
      expect(report.byReason.floor.count).toBeGreaterThan(0);
      for (const replica of replicas) {
        const { present } = expectNoSplitPair(replica);
        expect(present.filter(([camera, r]) => isExpired(replica, camera, r, now)).map(([, r]) => r.relPath)).toEqual([]);
      }
      // The quota: kept under it, and one more deleted recording would have fitted again.
      const quotaStatus = engine.status().cameras.find((c) => c.name === quotaCamera)!;
      expect(quotaStatus.bytes).toBeLessThanOrEqual(quotaBytes);
      expect(quotaStatus.bytes + SIZE).toBeGreaterThan(quotaBytes);
      // The floor: free space is above it, by less than one recording more, plus what tmpfs frees beyond each
      // deleted file's size (whole 4 KB pages: a 100-byte companion frees 4 KB, which the index cannot know).
      const free = freeBytes(disk);
      expect(free).toBeGreaterThanOrEqual(floor);
      const pageRounding = report.byReason.floor.count * 6 * 4096;
      expect(free - floor).toBeLessThan(SIZE + 6 * 4096 + pageRounding);
    },
  );
});
