/**
 * The catalog (rules §1 words, §3.1 reconcile) on real files in temporary folders, with the real
 * node:sqlite index.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { ScanResult } from '../src/catalog/scan.js';
import { type RetentionEngine, silentLogger } from '../src/retention/engine.js';
import type { RecordingDetail } from '../src/store/store.js';
import {
  buildConfig,
  bytesOf,
  type CameraInput,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  SECOND_MS,
  setAge,
  settleFolders,
  useSandbox,
  writeRecording,
} from './helpers/tree.js';

/** The only camera's folder, `front` ("Front"), made anew for each test. */
const sandbox = useSandbox('nvr-scan', ['front']);

function engineFor(camera: Partial<CameraInput> = {}, settings: Record<string, unknown> = {}): RetentionEngine {
  return sandbox.engine(buildConfig(sandbox, [{ name: 'Front', path: sandbox.front, ...camera }], settings), { log: silentLogger });
}

function scanOnce(engine: RetentionEngine, acceptMissing?: string[]): ScanResult {
  const [result] = engine.scan({ acceptMissing });
  return result;
}

/** The indexed recordings of the only camera, by relative path. */
function indexed(engine: RetentionEngine): Map<string, RecordingDetail> {
  const list = engine.list({}, { limit: 100_000, offset: 0 });
  return new Map(list.map((recording) => [recording.relPath, recording]));
}

const paths = (engine: RetentionEngine) => [...indexed(engine).keys()].sort();

describe('what is a recording', () => {
  test('files with a default extension are recordings, in any letter case; other files are not', () => {
    for (const name of ['a.mp4', 'b.mkv', 'c.MOV', 'd.avi', 'e.ts', 'f.m4s', 'g.h264', 'h.hevc', 'i.jpg', 'j.JPEG']) {
      writeRecording(sandbox.front, name);
    }
    for (const name of ['notes.txt', 'audio.mp3', 'index.m3u8', 'noextension', 'mp4', 'archive.mp4.gz']) {
      writeRecording(sandbox.front, name);
    }
    const engine = engineFor();
    const result = scanOnce(engine);
    expect(paths(engine)).toEqual(['a.mp4', 'b.mkv', 'c.MOV', 'd.avi', 'e.ts', 'f.m4s', 'g.h264', 'h.hevc', 'i.jpg', 'j.JPEG']);
    expect(result.added).toBe(10);
  });

  test('a custom extension list replaces the default one (dots and case do not matter)', () => {
    for (const name of ['a.dav', 'b.mp4', 'c.mkv', 'd.jpg']) {
      writeRecording(sandbox.front, name);
    }
    const engine = engineFor({ extensions: ['.DAV', 'mp4'] });
    scanOnce(engine);
    expect(paths(engine)).toEqual(['a.dav', 'b.mp4']);
  });

  test('names that start with a dot are ignored, files and folders alike', () => {
    writeRecording(sandbox.front, 'visible.mp4');
    writeRecording(sandbox.front, '.hidden.mp4');
    writeRecording(sandbox.front, '.partial/inside.mp4');
    writeRecording(sandbox.front, 'day/.tmp-segment.ts');
    const engine = engineFor();
    scanOnce(engine);
    expect(paths(engine)).toEqual(['visible.mp4']);
  });

  test('recordings in nested folders are indexed with their path relative to the camera folder', () => {
    writeRecording(sandbox.front, '2024/05/01/0800.mp4');
    writeRecording(sandbox.front, '2024/05/02/0900.mp4');
    const engine = engineFor();
    scanOnce(engine);
    expect(paths(engine)).toEqual(['2024/05/01/0800.mp4', '2024/05/02/0900.mp4']);
  });
});

describe('sidecars', () => {
  test('x.json, x.srt, x.thumb.jpg and the image x.jpg belong to x.mp4: counted in its size, not indexed (issue 12)', () => {
    const clip = { size: 5000, sidecars: { json: '{"camera":"front"}', srt: 120, 'thumb.jpg': 700 } };
    writeRecording(sandbox.front, 'x.mp4', clip);
    writeRecording(sandbox.front, 'x.jpg', { size: 900 });
    const engine = engineFor();
    scanOnce(engine);
    const rows = indexed(engine);
    expect([...rows.keys()].sort()).toEqual(['x.mp4']);
    expect(rows.get('x.mp4')!.size).toBe(bytesOf(clip) + 900);
    expect(rows.get('x.mp4')!.fileSize).toBe(5000);
    expect(rows.get('x.mp4')!.sidecars).toEqual(['x.jpg', 'x.json', 'x.srt', 'x.thumb.jpg']);
  });

  test('an image with no video of its base stays a recording of its own (a snapshot-only camera)', () => {
    writeRecording(sandbox.front, 'snap.jpg', { size: 900 });
    writeRecording(sandbox.front, 'other.mp4', { size: 5000 });
    const engine = engineFor();
    scanOnce(engine);
    expect([...indexed(engine).keys()].sort()).toEqual(['other.mp4', 'snap.jpg']);
  });

  test("when jpg is not one of the camera's extensions, x.jpg is a sidecar of x.mp4", () => {
    writeRecording(sandbox.front, 'x.mp4', { size: 5000, sidecars: { jpg: 800 } });
    const engine = engineFor({ extensions: ['mp4'] });
    scanOnce(engine);
    const rows = indexed(engine);
    expect([...rows.keys()]).toEqual(['x.mp4']);
    expect(rows.get('x.mp4')!.size).toBe(5800);
    expect(rows.get('x.mp4')!.sidecars).toEqual(['x.jpg']);
  });

  test.each(['avi', 'h264', 'mp4', 'mkv'])(
    'beside x.%s, its image x.jpg, x.json and x.thumb.jpg belong to the video, whatever the alphabetical order',
    (video) => {
      writeRecording(sandbox.front, `x.${video}`, { size: 5000, sidecars: { json: { trigger: 'motion' }, 'thumb.jpg': 100 } });
      writeRecording(sandbox.front, 'x.jpg', { size: 900 });
      const engine = engineFor();
      scanOnce(engine);
      const rows = indexed(engine);
      expect(rows.get(`x.${video}`)).toMatchObject({ cls: 'event', sidecars: ['x.jpg', 'x.json', 'x.thumb.jpg'] });
      expect(rows.has('x.jpg')).toBe(false);
    },
  );

  test('a sidecar without its recording is not indexed', () => {
    writeRecording(sandbox.front, 'orphan.json', { size: 30 });
    writeRecording(sandbox.front, 'orphan.srt', { size: 30 });
    const engine = engineFor();
    scanOnce(engine);
    expect(paths(engine)).toEqual([]);
  });

  test("a sidecar that appears later is added to the recording's size", () => {
    writeRecording(sandbox.front, 'x.mp4', { size: 5000 });
    const engine = engineFor();
    scanOnce(engine);
    expect(indexed(engine).get('x.mp4')!.size).toBe(5000);
    fs.writeFileSync(join(sandbox.front, 'x.srt'), Buffer.alloc(250));
    scanOnce(engine);
    expect(indexed(engine).get('x.mp4')!.size).toBe(5250);
    expect(indexed(engine).get('x.mp4')!.sidecars).toEqual(['x.srt']);
  });
});

describe('class', () => {
  test('default eventPatterns: an events/ folder and *motion* names, case-insensitive', () => {
    for (const name of [
      'events/0800.mp4',
      'Driveway/EVENTS/0900.mp4',
      'motion_1.mp4',
      'day/Front-MOTION-2.mkv',
      'alert.mp4',
      'person-detection.mp4',
      'continuous/0800.mp4',
      'day/1000.mp4',
    ]) {
      writeRecording(sandbox.front, name);
    }
    const engine = engineFor();
    scanOnce(engine);
    const classes = Object.fromEntries([...indexed(engine)].map(([path, row]) => [path, row.cls]));
    expect(classes).toEqual({
      'events/0800.mp4': 'event',
      'Driveway/EVENTS/0900.mp4': 'event',
      'motion_1.mp4': 'event',
      'day/Front-MOTION-2.mkv': 'event',
      'alert.mp4': 'event',
      'person-detection.mp4': 'event',
      'continuous/0800.mp4': 'continuous',
      'day/1000.mp4': 'continuous',
    });
  });

  test('custom eventPatterns replace the default ones', () => {
    writeRecording(sandbox.front, 'clips/a.mp4');
    writeRecording(sandbox.front, 'motion_1.mp4');
    const engine = engineFor({ eventPatterns: ['clips/**'] });
    scanOnce(engine);
    expect(indexed(engine).get('clips/a.mp4')!.cls).toBe('event');
    expect(indexed(engine).get('motion_1.mp4')!.cls).toBe('continuous');
  });

  test('a sidecar .json with "trigger": "motion" makes an event; another trigger or bad JSON does not', () => {
    writeRecording(sandbox.front, 'a.mp4', { sidecars: { json: { trigger: 'motion', score: 0.9 } } });
    writeRecording(sandbox.front, 'b.mp4', { sidecars: { json: { trigger: 'Manual' } } });
    writeRecording(sandbox.front, 'c.mp4', { sidecars: { json: { trigger: 'schedule' } } });
    writeRecording(sandbox.front, 'd.mp4', { sidecars: { json: '{ not json' } });
    writeRecording(sandbox.front, 'e.mp4');
    const engine = engineFor();
    scanOnce(engine);
    const rows = indexed(engine);
    expect(rows.get('a.mp4')!.cls).toBe('event');
    expect(rows.get('b.mp4')!.cls).toBe('event');
    expect(rows.get('c.mp4')!.cls).toBe('continuous');
    expect(rows.get('d.mp4')!.cls).toBe('continuous');
    expect(rows.get('e.mp4')!.cls).toBe('continuous');
  });
});

describe('links and special files', () => {
  test('symbolic links, to a file or to a folder outside holding old files, are never indexed', () => {
    const outside = join(sandbox.root, 'outside');
    writeRecording(outside, 'old1.mp4', { ageMs: 400 * DAY_MS });
    writeRecording(outside, 'old2.mp4', { ageMs: 400 * DAY_MS });
    writeRecording(sandbox.front, 'real.mp4');
    fs.symlinkSync(join(outside, 'old1.mp4'), join(sandbox.front, 'linked.mp4'));
    fs.symlinkSync(join(sandbox.front, 'real.mp4'), join(sandbox.front, 'alias.mp4'));
    fs.symlinkSync(outside, join(sandbox.front, 'archive'));
    fs.symlinkSync(join(sandbox.root, 'nowhere.mp4'), join(sandbox.front, 'dangling.mp4'));
    const engine = engineFor();
    const result = scanOnce(engine);
    expect(paths(engine)).toEqual(['real.mp4']);
    expect(result.available).toBe(true);
  });

  test('a folder later replaced by a link to an outside folder is forgotten, not followed', () => {
    const outside = join(sandbox.root, 'outside');
    writeRecording(outside, 'old.mp4');
    for (let i = 0; i < 4; i++) {
      writeRecording(sandbox.front, `keep/${i}.mp4`);
    }
    writeRecording(sandbox.front, 'day/a.mp4');
    const engine = engineFor();
    scanOnce(engine);
    fs.rmSync(join(sandbox.front, 'day'), { recursive: true });
    fs.symlinkSync(outside, join(sandbox.front, 'day'));
    const result = scanOnce(engine);
    expect(result.removed).toBe(1);
    expect(paths(engine)).toEqual(['keep/0.mp4', 'keep/1.mp4', 'keep/2.mp4', 'keep/3.mp4']);
  });

  test('FIFOs and device files are ignored, even with a recording extension', () => {
    writeRecording(sandbox.front, 'real.mp4');
    execFileSync('mkfifo', [join(sandbox.front, 'pipe.mp4')]);
    execFileSync('mknod', [join(sandbox.front, 'null.mp4'), 'c', '1', '3']);
    const engine = engineFor();
    const result = scanOnce(engine);
    expect(paths(engine)).toEqual(['real.mp4']);
    expect(result.available).toBe(true);
  });
});

describe('reconcile', () => {
  test('new, changed (size or mtime) and vanished files are reflected', () => {
    for (let i = 0; i < 6; i++) {
      writeRecording(sandbox.front, `day/${i}.mp4`, { ageMs: 2 * DAY_MS, size: 1000 });
    }
    const engine = engineFor();
    expect(scanOnce(engine).added).toBe(6);

    writeRecording(sandbox.front, 'day/new.mp4', { ageMs: DAY_MS, size: 3000 });
    fs.appendFileSync(join(sandbox.front, 'day/0.mp4'), Buffer.alloc(500));
    setAge(join(sandbox.front, 'day/0.mp4'), 2 * DAY_MS);
    const mtimeOnly = join(sandbox.front, 'day/1.mp4');
    setAge(mtimeOnly, 3 * DAY_MS);
    fs.unlinkSync(join(sandbox.front, 'day/2.mp4'));

    const result = scanOnce(engine);
    expect(result).toMatchObject({ available: true, added: 1, updated: 2, removed: 1 });
    const rows = indexed(engine);
    expect([...rows.keys()].sort()).toEqual(['day/0.mp4', 'day/1.mp4', 'day/3.mp4', 'day/4.mp4', 'day/5.mp4', 'day/new.mp4']);
    expect(rows.get('day/0.mp4')!.size).toBe(1500);
    expect(rows.get('day/new.mp4')!.size).toBe(3000);
    expect(rows.get('day/1.mp4')!.endTime).toBe(fs.statSync(mtimeOnly).mtimeMs);
    expect(result.camera.recordingCount).toBe(6);
    expect(result.camera.bytes).toBe(1500 + 4 * 1000 + 3000);
  });

  test('a rescan of an unchanged tree reads no folder, yet sees a young file that grew', () => {
    writeRecording(sandbox.front, 'a/1.mp4');
    writeRecording(sandbox.front, 'a/b/2.mp4');
    writeRecording(sandbox.front, 'events/3.mp4');
    // Still being written: within minAgeSeconds (120 s by default) of the first scan.
    const growing = writeRecording(sandbox.front, 'a/b/live.mp4', { ageMs: 30 * SECOND_MS, size: 1000 });
    settleFolders(sandbox.front);
    const engine = engineFor();
    const first = scanOnce(engine);
    expect(first.foldersRead).toBe(4);
    expect(first.added).toBe(4);

    fs.appendFileSync(growing, Buffer.alloc(4000));
    const second = scanOnce(engine);
    expect(second.foldersRead).toBe(0);
    expect(second.foldersSkipped).toBe(4);
    expect(second).toMatchObject({ added: 0, removed: 0, updated: 1 });
    expect(indexed(engine).get('a/b/live.mp4')!.size).toBe(5000);
    expect(indexed(engine).get('a/b/live.mp4')!.endTime).toBe(fs.statSync(growing).mtimeMs);

    const third = scanOnce(engine);
    expect(third).toMatchObject({ foldersRead: 0, foldersSkipped: 4, added: 0, updated: 0, removed: 0 });
  });

  test('a new file in a subfolder is found although its parent folders did not change', () => {
    writeRecording(sandbox.front, '2024/05/01/0800.mp4');
    settleFolders(sandbox.front);
    const engine = engineFor();
    scanOnce(engine);
    const parentMtime = fs.statSync(join(sandbox.front, '2024/05')).mtimeMs;

    writeRecording(sandbox.front, '2024/05/01/0900.mp4');
    expect(fs.statSync(join(sandbox.front, '2024/05')).mtimeMs).toBe(parentMtime);
    const result = scanOnce(engine);
    expect(result).toMatchObject({ added: 1, foldersRead: 1, foldersSkipped: 3 });
    expect(paths(engine)).toEqual(['2024/05/01/0800.mp4', '2024/05/01/0900.mp4']);
  });

  test('a subfolder that disappears takes its recordings out of the index', () => {
    for (let i = 0; i < 4; i++) {
      writeRecording(sandbox.front, `keep/${i}.mp4`);
    }
    writeRecording(sandbox.front, 'old/a.mp4');
    writeRecording(sandbox.front, 'old/deeper/b.mp4');
    const engine = engineFor();
    scanOnce(engine);
    fs.rmSync(join(sandbox.front, 'old'), { recursive: true });
    const result = scanOnce(engine);
    expect(result).toMatchObject({ available: true, removed: 2 });
    expect(paths(engine)).toEqual(['keep/0.mp4', 'keep/1.mp4', 'keep/2.mp4', 'keep/3.mp4']);
  });
});

describe('unavailable cameras (an unmounted NAS never reads as an empty camera)', () => {
  function tenRecordings(): void {
    for (let i = 0; i < 10; i++) {
      writeRecording(sandbox.front, `day/${i}.mp4`, { size: 1000 });
    }
  }

  describe('a missing folder', () => {
    /** Ten recordings indexed, day/3.mp4 protected, then the folder moved away and scanned. */
    function scanWithFolderAway(): { engine: RetentionEngine; result: ScanResult; protectedId: number; away: string } {
      tenRecordings();
      const engine = engineFor();
      scanOnce(engine);
      const protectedId = indexed(engine).get('day/3.mp4')!.id;
      engine.protect([protectedId], 'user');

      const away = join(sandbox.root, 'away');
      fs.renameSync(sandbox.front, away);
      return { engine, result: scanOnce(engine), protectedId, away };
    }

    test('makes the camera unavailable, saying the folder is missing, and removes nothing', () => {
      const { result } = scanWithFolderAway();

      expect(result.available).toBe(false);
      expect(result.reason).toMatch(/missing/);
      expect(result.removed).toBe(0);
    });

    test('keeps its rows and their protection', () => {
      const { engine, result, protectedId } = scanWithFolderAway();

      expect(result.camera).toMatchObject({ available: false, recordingCount: 10, protectedCount: 1 });
      expect(engine.store.recording(protectedId)).toMatchObject({ protected: true, protectedBy: 'user' });
    });

    test('the camera is available again, with the same rows, when the folder is back', () => {
      const { engine, away } = scanWithFolderAway();

      fs.renameSync(away, sandbox.front);
      const back = scanOnce(engine);
      expect(back).toMatchObject({ available: true, removed: 0, added: 0 });
      expect(back.camera).toMatchObject({ available: true, unavailableReason: null, recordingCount: 10, protectedCount: 1 });
    });
  });

  test('an empty folder where 10 recordings were indexed is unavailable: nothing removed, rows kept', () => {
    tenRecordings();
    const engine = engineFor();
    scanOnce(engine);
    const away = join(sandbox.root, 'away');
    fs.renameSync(join(sandbox.front, 'day'), away);

    const result = scanOnce(engine);
    expect(result).toMatchObject({ available: false, removed: 0, missing: 10 });
    expect(result.reason).toMatch(/10 of 10/);
    expect(paths(engine)).toHaveLength(10);
    expect(engine.store.camera(result.camera.id)).toMatchObject({ available: false, recordingCount: 10, bytes: 10_000 });

    // Still unavailable on the next scan: the missing files are not "confirmed" by time passing.
    expect(scanOnce(engine)).toMatchObject({ available: false, removed: 0 });

    fs.renameSync(away, join(sandbox.front, 'day'));
    const back = scanOnce(engine);
    expect(back).toMatchObject({ available: true, removed: 0, missing: 0 });
    expect(paths(engine)).toHaveLength(10);
  });

  test('a mount point that comes up empty (the NAS is not mounted) is unavailable', () => {
    tenRecordings();
    const engine = engineFor();
    scanOnce(engine);
    // The recordings are still on the "NAS"; an empty folder now sits where it was mounted.
    const nas = join(sandbox.root, 'nas');
    fs.renameSync(sandbox.front, nas);
    fs.mkdirSync(sandbox.front);
    expect(scanOnce(engine)).toMatchObject({ available: false, removed: 0, missing: 10 });
    expect(paths(engine)).toHaveLength(10);
  });

  test.each([
    [4, 'fewer than half'],
    [5, 'exactly half'],
  ])('%i of 10 gone (%s) are removed normally', (gone) => {
    tenRecordings();
    const engine = engineFor();
    scanOnce(engine);
    for (let i = 0; i < gone; i++) {
      fs.unlinkSync(join(sandbox.front, `day/${i}.mp4`));
    }
    const result = scanOnce(engine);
    expect(result).toMatchObject({ available: true, removed: gone, missing: 0 });
    expect(paths(engine)).toHaveLength(10 - gone);
  });

  test('acceptMissing confirms the loss: the rows go and the camera is available', () => {
    tenRecordings();
    const engine = engineFor();
    scanOnce(engine);
    fs.rmSync(join(sandbox.front, 'day'), { recursive: true });
    expect(scanOnce(engine).available).toBe(false);

    const confirmed = scanOnce(engine, ['Front']);
    expect(confirmed).toMatchObject({ available: true, removed: 10 });
    expect(confirmed.camera).toMatchObject({ available: true, recordingCount: 0, bytes: 0 });
    expect(paths(engine)).toEqual([]);
    // Confirming one camera's loss is not a standing permission: the state is simply normal again.
    writeRecording(sandbox.front, 'new.mp4');
    expect(scanOnce(engine)).toMatchObject({ available: true, added: 1 });
  });

  test('acceptMissing for another camera does not confirm this one', () => {
    tenRecordings();
    const engine = engineFor();
    scanOnce(engine);
    fs.rmSync(join(sandbox.front, 'day'), { recursive: true });
    expect(scanOnce(engine, ['Back'])).toMatchObject({ available: false, removed: 0 });
    expect(paths(engine)).toHaveLength(10);
  });
});

describe('protect switch', () => {
  test('while it is on, newly indexed recordings are protected by "switch"; off releases only its holds', () => {
    writeRecording(sandbox.front, 'old.mp4', { ageMs: 3 * DAY_MS });
    writeRecording(sandbox.front, 'recent.mp4', { ageMs: 2 * HOUR_MS });
    writeRecording(sandbox.front, 'byhand.mp4', { ageMs: 3 * DAY_MS });
    const engine = engineFor();
    scanOnce(engine);
    const camera = engine.cameraByName('Front')!;
    engine.protect([indexed(engine).get('byhand.mp4')!.id], 'user');

    expect(engine.setProtectSwitch(camera, true)).toBe(1);
    writeRecording(sandbox.front, 'new-1.mp4', { ageMs: 5 * MINUTE_MS });
    writeRecording(sandbox.front, 'later/new-2.mp4', { ageMs: 10 * DAY_MS });
    expect(scanOnce(engine).added).toBe(2);

    const rows = indexed(engine);
    expect(rows.get('new-1.mp4')).toMatchObject({ protected: true, protectedBy: 'switch' });
    expect(rows.get('later/new-2.mp4')).toMatchObject({ protected: true, protectedBy: 'switch' });
    expect(rows.get('recent.mp4')).toMatchObject({ protected: true, protectedBy: 'switch' });
    expect(rows.get('old.mp4')).toMatchObject({ protected: false, protectedBy: null });
    expect(rows.get('byhand.mp4')).toMatchObject({ protected: true, protectedBy: 'user' });

    engine.setProtectSwitch(camera, false);
    writeRecording(sandbox.front, 'after.mp4', { ageMs: MINUTE_MS });
    scanOnce(engine);
    const after = indexed(engine);
    expect([...after.values()].filter((r) => r.protected).map((r) => r.relPath)).toEqual(['byhand.mp4']);
    expect(after.get('after.mp4')!.protected).toBe(false);
  });
});
