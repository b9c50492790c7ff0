/**
 * Companions, shared folders and the layout warnings (issue 12, rules §1 and §7) on real files with
 * the real index: a companion goes with its recording whatever deletes it; cameras sharing a folder
 * by `match` never take each other's files; what no camera matches is never touched; files a camera
 * ignores, and names without a time, are reported.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { parsePlatformConfig } from '../src/config/schema.js';
import { formatIssue } from '../src/config/errors.js';
import { RetentionEngine, silentLogger } from '../src/retention/engine.js';
import {
  buildConfig,
  type CameraInput,
  DAY_MS,
  filesBelow,
  HOUR_MS,
  makeSandbox,
  type Sandbox,
  setAge,
  settleFolders,
} from './helpers/tree.js';

let sandbox: Sandbox;
const engines: RetentionEngine[] = [];

beforeEach(() => {
  sandbox = makeSandbox('nvr-companions');
});

afterEach(() => {
  for (const engine of engines.splice(0)) {
    engine.close();
  }
  sandbox.remove();
});

function engineFor(cameras: CameraInput[], settings: Record<string, unknown> = {}): RetentionEngine {
  const engine = new RetentionEngine(buildConfig(sandbox, cameras, settings), { log: silentLogger });
  engines.push(engine);
  return engine;
}

function put(path: string, ageMs: number, size = 1000): void {
  fs.mkdirSync(join(path, '..'), { recursive: true });
  fs.writeFileSync(path, Buffer.alloc(size, 3));
  setAge(path, ageMs);
}

const rows = (engine: RetentionEngine, camera?: string) =>
  engine
    .list(camera === undefined ? {} : { cameraNames: [camera] }, { limit: 1000, offset: 0 })
    .sort((a, b) => a.relPath.localeCompare(b.relPath));

describe('a companion goes with its recording', () => {
  test('a thumbnail written into thumbs/ after its clip was indexed joins the clip, and counts in its size', () => {
    const cam = join(sandbox.root, 'agent');
    put(join(cam, 'clip.mp4'), DAY_MS, 5000);
    // thumbs/ is there already and the clip's folder is settled: the next scan reads only thumbs/, not the clip's folder.
    fs.mkdirSync(join(cam, 'thumbs'));
    settleFolders(cam);
    const engine = engineFor([{ name: 'Agent', path: cam, recorder: 'agentdvr' }]);
    engine.scan();
    expect(rows(engine).map((r) => [r.relPath, r.sidecars, r.size])).toEqual([['clip.mp4', [], 5000]]);
    put(join(cam, 'thumbs', 'clip.jpg'), DAY_MS, 300);
    put(join(cam, 'thumbs', 'clip_large.jpg'), DAY_MS, 700);
    put(join(cam, 'thumbs', 'orphan.jpg'), DAY_MS, 50);
    engine.scan();
    const list = rows(engine);
    // Agent DVR's recordings are videos: a thumbnail without its clip is not one (it is counted as ignored).
    expect(list.map((r) => r.relPath)).toEqual(['clip.mp4']);
    expect(list.find((r) => r.relPath === 'clip.mp4')).toMatchObject({
      size: 6000,
      sidecars: ['thumbs/clip.jpg', 'thumbs/clip_large.jpg'],
    });
  });

  test('a wildcard beside {base} still finds the clip: {base}*.jpg takes clip-1.jpg and clip.jpg, not other.jpg', () => {
    const cam = join(sandbox.root, 'wild');
    put(join(cam, 'clip.mkv'), DAY_MS);
    for (const name of ['clip-1.jpg', 'clip_preview.jpg', 'other.jpg']) {
      put(join(cam, name), DAY_MS, 10);
    }
    const engine = engineFor([{ name: 'Wild', path: cam, companions: ['{base}*.jpg'] }]);
    engine.scan();
    expect(rows(engine).map((r) => [r.relPath, r.sidecars])).toEqual([
      ['clip.mkv', ['clip-1.jpg', 'clip_preview.jpg']],
      ['other.jpg', []],
    ]);
  });

  test('files that a new companion rule joins to their clip are not losses, and a held one stays apart, held', async () => {
    const cam = join(sandbox.root, 'regroup');
    for (const clip of ['a', 'b', 'c']) {
      put(join(cam, `${clip}.mp4`), 30 * DAY_MS);
      put(join(cam, `${clip}@2.jpeg`), 30 * DAY_MS, 10);
      put(join(cam, `${clip}@3.jpeg`), 30 * DAY_MS, 10);
    }
    settleFolders(cam, 2 * HOUR_MS);
    const before = engineFor([{ name: 'Cam', path: cam, retentionDays: 100 }]);
    before.scan();
    expect(rows(before)).toHaveLength(9);
    before.protect([rows(before).find((r) => r.relPath === 'a@2.jpeg')!.id], 'test');
    before.close();
    engines.length = 0;
    // Two thirds of the rows now go with a clip: that must not read as a camera whose files vanished.
    settleFolders(cam, HOUR_MS);
    const after = engineFor([
      { name: 'Cam', path: cam, retentionDays: 1, eventRetentionDays: 1, companions: ['{base}@2.jpeg', '{base}@3.jpeg'] },
    ]);
    const [scan] = after.scan();
    expect(scan).toMatchObject({ available: true, missing: 0 });
    expect(rows(after).map((r) => [r.relPath, r.sidecars, r.protected])).toEqual([
      ['a.mp4', ['a@3.jpeg'], false],
      ['a@2.jpeg', [], true],
      ['b.mp4', ['b@2.jpeg', 'b@3.jpeg'], false],
      ['c.mp4', ['c@2.jpeg', 'c@3.jpeg'], false],
    ]);
    await after.sweep();
    expect(filesBelow(cam)).toEqual(['a@2.jpeg']);
  });

  test('an event folder whose files were recordings of their own becomes one recording; a held file stays apart, held', async () => {
    const cam = join(sandbox.root, 'zm', 'events', '1');
    const event = join(cam, '2026-11-01', '18342');
    for (const name of ['18342-video.mp4', 'snapshot.jpg', 'alarm.jpg', '00001-capture.jpg', 'index.m3u8']) {
      put(join(event, name), 30 * DAY_MS, name.endsWith('.mp4') ? 5000 : 100);
    }
    settleFolders(cam, 2 * HOUR_MS);
    const before = engineFor([{ name: 'Monitor 1', path: cam, retentionDays: 100 }]);
    before.scan();
    expect(rows(before).map((r) => r.relPath.split('/').pop())).toEqual([
      '00001-capture.jpg',
      '18342-video.mp4',
      'alarm.jpg',
      'snapshot.jpg',
    ]);
    before.protect([rows(before).find((r) => r.relPath.endsWith('snapshot.jpg'))!.id], 'test');
    before.close();
    engines.length = 0;
    settleFolders(cam, HOUR_MS);
    const after = engineFor([{ name: 'Monitor 1', path: cam, recorder: 'zoneminder', retentionDays: 1, eventRetentionDays: 1 }]);
    const [scan] = after.scan();
    expect(scan).toMatchObject({ available: true, missing: 0 });
    expect(rows(after).map((r) => [r.relPath, r.sidecars, r.protected, r.cls])).toEqual([
      ['2026-11-01/18342/18342-video.mp4', ['00001-capture.jpg', 'alarm.jpg', 'index.m3u8'], false, 'event'],
      ['2026-11-01/18342/snapshot.jpg', [], true, 'continuous'],
    ]);
    await after.sweep();
    expect(filesBelow(cam)).toEqual(['2026-11-01/18342/snapshot.jpg']);
  });

  test('deleting a clip by hand takes its companions, in its folder and below it; a companion alone cannot be picked', async () => {
    const cam = join(sandbox.root, 'cui');
    put(join(cam, 'Front-1-1796000000_m_CUI.mp4'), HOUR_MS);
    put(join(cam, 'Front-1-1796000000_m_CUI@2.jpeg'), HOUR_MS);
    const engine = engineFor([{ name: 'Front', path: cam, recorder: 'camera.ui' }]);
    engine.scan();
    expect(() => engine.resolveRecording(join(cam, 'Front-1-1796000000_m_CUI@2.jpeg'))).toThrow(
      /not indexed|no recording|not a recording/i,
    );
    const { recording } = engine.resolveRecording(join(cam, 'Front-1-1796000000_m_CUI.mp4'));
    const result = await engine.deleteByHand([recording.id], 'test');
    expect(result.deleted.count).toBe(1);
    expect(filesBelow(cam)).toEqual([]);
  });

  test('protecting a clip keeps its image beside it through an age sweep and a quota', async () => {
    const cam = join(sandbox.root, 'motion');
    for (const name of ['a', 'b']) {
      put(join(cam, `${name}.mp4`), 30 * DAY_MS, 2000);
      put(join(cam, `${name}.jpg`), 30 * DAY_MS, 500);
    }
    const engine = engineFor([{ name: 'Yard', path: cam, retentionDays: 1, storageQuotaGB: 1e-9 }]);
    engine.scan();
    expect(rows(engine).map((r) => [r.relPath, r.sidecars])).toEqual([
      ['a.mp4', ['a.jpg']],
      ['b.mp4', ['b.jpg']],
    ]);
    engine.protect([rows(engine).find((r) => r.relPath === 'a.mp4')!.id], 'test');
    await engine.sweep();
    expect(filesBelow(cam)).toEqual(['a.jpg', 'a.mp4']);
  });
});

describe('cameras sharing a folder', () => {
  test('a file two cameras match is kept by both and reported, with a count and an example', async () => {
    const cam = join(sandbox.root, 'shared');
    put(join(cam, 'front-1.mp4'), 30 * DAY_MS);
    put(join(cam, 'front-2.mp4'), 30 * DAY_MS);
    put(join(cam, 'back-1.mp4'), 30 * DAY_MS);
    const engine = engineFor([
      { name: 'Front', path: cam, match: ['front-*'], retentionDays: 1 },
      { name: 'All', path: cam, match: ['*-1.mp4'], retentionDays: 1 },
    ]);
    const report = await engine.sweep();
    expect(filesBelow(cam)).toEqual(['front-1.mp4']);
    const overlaps = report.events.filter((e) => e.kind === 'camera_overlap');
    expect(overlaps).toEqual([
      expect.objectContaining({ camera: 'Front', count: 1, example: 'front-1.mp4', other: 'All' }),
      expect.objectContaining({ camera: 'All', count: 1, example: 'front-1.mp4', other: 'Front' }),
    ]);
    // Every sweep says it again, until the globs tell the cameras apart, even with the folder settled.
    settleFolders(cam);
    for (let sweep = 0; sweep < 2; sweep++) {
      const next = await engine.sweep();
      expect(next.events.filter((e) => e.kind === 'camera_overlap').map((e) => e.camera)).toEqual(['Front', 'All']);
    }
  });

  test('files no camera matches are never touched, and a camera folder inside another is never removed when emptied', async () => {
    const outer = join(sandbox.root, 'rec');
    const inner = join(outer, 'x', 'y');
    put(join(inner, 'a-1.mp4'), 30 * DAY_MS);
    put(join(outer, 'notes.mp4'), 30 * DAY_MS);
    const engine = engineFor([
      { name: 'Outer', path: outer, match: ['x/**/a-*'], retentionDays: 1 },
      { name: 'Inner', path: inner, match: ['b-*'], retentionDays: 1 },
    ]);
    const report = await engine.sweep();
    expect(report.deleted.count).toBe(1);
    expect(filesBelow(outer)).toEqual(['notes.mp4']);
    expect(fs.existsSync(inner)).toBe(true);
  });

  test('a camera in a shared folder that is renamed keeps its row, and so its holds', async () => {
    const cam = join(sandbox.root, 'cui');
    put(join(cam, 'Front_Door-1-1796000000_m_CUI.mp4'), 30 * DAY_MS);
    put(join(cam, 'Garage-1-1796000000_m_CUI.mp4'), 30 * DAY_MS);
    const before = engineFor([
      { name: 'Front Door', path: cam, recorder: 'camera.ui', retentionDays: 1, eventRetentionDays: 1 },
      { name: 'Garage', path: cam, recorder: 'camera.ui', retentionDays: 100 },
    ]);
    before.scan();
    before.protect([rows(before, 'Front Door')[0]!.id], 'test');
    before.close();
    engines.length = 0;
    // Globs ignore case, so "Front door" still selects the same files: it must still hold the one it held.
    const after = engineFor([
      { name: 'Front door', path: cam, recorder: 'camera.ui', retentionDays: 1, eventRetentionDays: 1 },
      { name: 'Garage', path: cam, recorder: 'camera.ui', retentionDays: 100 },
    ]);
    const report = await after.sweep();
    expect(report.deleted.count).toBe(0);
    expect(rows(after, 'Front door').map((r) => [r.relPath, r.protected])).toEqual([['Front_Door-1-1796000000_m_CUI.mp4', true]]);
    expect(filesBelow(cam)).toHaveLength(2);
  });

  test('the vanished-at-once guard works per camera on its own files', () => {
    const cam = join(sandbox.root, 'cui');
    for (const name of ['Front', 'Garage']) {
      for (let i = 0; i < 4; i++) {
        put(join(cam, `${name}-1-179600000${i}_m_CUI.mp4`), HOUR_MS);
      }
    }
    const engine = engineFor([
      { name: 'Front', path: cam, recorder: 'camera.ui' },
      { name: 'Garage', path: cam, recorder: 'camera.ui' },
    ]);
    engine.scan();
    for (let i = 0; i < 4; i++) {
      fs.rmSync(join(cam, `Front-1-179600000${i}_m_CUI.mp4`));
    }
    const [front, garage] = engine.scan();
    expect(front).toMatchObject({ available: false, missing: 4 });
    expect(garage).toMatchObject({ available: true, removed: 0 });
  });
});

describe('warnings about what the layout leaves out', () => {
  test('Blue Iris .bvr clips under the generic preset are ignored files, and a sweep says so', async () => {
    const cam = join(sandbox.root, 'New');
    for (let i = 0; i < 5; i++) {
      put(join(cam, `FrontDoor.2026113${i}_140000.bvr`), 30 * DAY_MS, 4000);
    }
    put(join(cam, 'FrontDoor.20261130_150000.mp4'), HOUR_MS, 1000);
    const engine = engineFor([{ name: 'FrontDoor', path: cam }]);
    const report = await engine.sweep();
    expect(report.events.filter((e) => e.kind === 'ignored_files')).toEqual([
      expect.objectContaining({
        camera: 'FrontDoor',
        count: 5,
        bytes: 20_000,
        extensions: [{ extension: 'bvr', count: 5, bytes: 20_000 }],
      }),
    ]);
    expect(filesBelow(cam)).toHaveLength(6);

    // With its recorder named, the clips are recordings, and expired ones go.
    engine.close();
    engines.length = 0;
    const blueIris = engineFor([{ name: 'FrontDoor', path: cam, recorder: 'blueiris' }]);
    const second = await blueIris.sweep();
    expect(second.events.filter((e) => e.kind === 'ignored_files')).toEqual([]);
    expect(filesBelow(cam)).toEqual(['FrontDoor.20261130_150000.mp4']);
  });

  test('a name nameTime cannot read falls back to the file time, and is counted in a warning', async () => {
    const cam = join(sandbox.root, 'viofo');
    const clip = '2026-11-30/2026_1130_080300_000123F.MP4';
    put(join(cam, clip), 10 * 60_000);
    put(join(cam, 'renamed.MP4'), 10 * 60_000);
    const engine = engineFor([{ name: 'Dashcam', path: cam, recorder: 'viofo' }]);
    const report = await engine.sweep({ dryRun: true });
    const byPath = new Map(rows(engine).map((r) => [r.relPath, r.endTime]));
    expect(byPath.get(clip)).toBe(new Date(2026, 10, 30, 8, 3, 0).getTime());
    expect(Math.abs(byPath.get('renamed.MP4')! - (Date.now() - 10 * 60_000))).toBeLessThan(5000);
    expect(report.events.filter((e) => e.kind === 'name_time_missing')).toEqual([
      expect.objectContaining({ camera: 'Dashcam', count: 1, example: 'renamed.MP4' }),
    ]);
  });

  test('a file whose name is old but that is still being written counts as in progress until its mtime settles', async () => {
    const cam = join(sandbox.root, 'viofo');
    const clip = '2026-11-30/2026_1130_080300_000123F.MP4';
    put(join(cam, clip), 1000);
    const engine = engineFor([{ name: 'Dashcam', path: cam, recorder: 'viofo', retentionDays: 1 }], { minAgeSeconds: 600 });
    const report = await engine.sweep();
    expect(report.deleted.count).toBe(0);
    expect(report.events.filter((e) => e.kind === 'name_time_missing')).toEqual([]);
    expect(fs.existsSync(join(cam, clip))).toBe(true);
    // Settled: the name's time counts, and the clip is long expired.
    setAge(join(cam, clip), 20 * 60_000);
    const later = await engine.sweep();
    expect(later.deleted.count).toBe(1);
  });

  test('recordingMode names the class of every recording, whatever the names say', () => {
    const cam = join(sandbox.root, 'mode');
    put(join(cam, 'motion-1.mp4'), HOUR_MS);
    put(join(cam, 'plain-1.mp4'), HOUR_MS);
    const classes = (mode?: string) => {
      const engine = engineFor([{ name: `Cam ${mode}`, path: cam, ...(mode && { recordingMode: mode }) }]);
      engine.scan();
      const result = rows(engine).map((r) => r.cls);
      engine.close();
      engines.length = 0;
      fs.rmSync(sandbox.databasePath, { force: true });
      return result;
    };
    expect(classes()).toEqual(['event', 'continuous']);
    expect(classes('events')).toEqual(['event', 'event']);
    expect(classes('continuous')).toEqual(['continuous', 'continuous']);
  });
});

describe('the new fields, when wrong, name themselves', () => {
  const refusal = (camera: Record<string, unknown>) =>
    parsePlatformConfig(
      { cameras: [{ name: 'A', path: '/mnt/a', retentionDays: 7, ...camera }] },
      { storagePath: '/var/lib/homebridge' },
    ).disabledCameras.flatMap((c) => c.issues.map(formatIssue));

  test('an unknown recorder lists the valid ones', () => {
    const [line] = refusal({ recorder: 'unifi' });
    expect(line).toMatch(/^cameras\[0\]\.recorder: must be one of "generic", "camera\.ui", "frigate", /);
    expect(line).toContain('"viofo"');
  });

  test('a nameTime that does not compile says so; one without the named groups says which it needs', () => {
    expect(refusal({ nameTime: '(?<year>\\d{4' })).toEqual([
      expect.stringMatching(/^cameras\[0\]\.nameTime: is not a regular expression that compiles/),
    ]);
    expect(refusal({ nameTime: '(\\d{4})' })).toEqual([expect.stringMatching(/^cameras\[0\]\.nameTime: must have a named group "unix"/)]);
  });

  test('a companion pattern needs {base} and must stay below the recording folder', () => {
    expect(refusal({ companions: ['thumb.jpg', '../{base}.jpg', 'thumbs/*{base}.jpg'] })).toEqual([
      expect.stringMatching(/^cameras\[0\]\.companions\[0\]: must contain \{base\}/),
      expect.stringMatching(/^cameras\[0\]\.companions\[1\]: must be a path below the recording's folder/),
      expect.stringMatching(/^cameras\[0\]\.companions\[2\]: must not use \* or \?/),
    ]);
  });

  test('cameras may share a folder only when both have match; a preset that sets it counts', () => {
    const parsed = parsePlatformConfig(
      {
        cameras: [
          { name: 'Front Door', path: '/rec', retentionDays: 7, recorder: 'camera.ui' },
          { name: 'Garage', path: '/rec', retentionDays: 7, recorder: 'camera.ui' },
          { name: 'Plain', path: '/rec', retentionDays: 7 },
        ],
      },
      { storagePath: '/var/lib/homebridge' },
    );
    expect(parsed.config.cameras).toEqual([]);
    expect(parsed.disabledCameras.flatMap((c) => c.issues.map(formatIssue))).toContain(
      'cameras[2].path: must not be the same folder as cameras[0] (/rec); give both cameras "match" (or a recorder preset that sets it) to share a folder',
    );
    const shared = ['Front Door', 'Garage'].map((name) => ({ name, path: '/rec', retentionDays: 7, recorder: 'camera.ui' }));
    const two = parsePlatformConfig({ cameras: shared }, { storagePath: '/var/lib/homebridge' });
    expect(two.config.cameras.map((c) => [c.name, c.match, c.indexKey])).toEqual([
      ['Front Door', ['Front_Door-*'], '/rec#Front Door'],
      ['Garage', ['Garage-*'], '/rec#Garage'],
    ]);
  });
});
