/**
 * Replicas of the folder layouts of the recorders that have a preset (`cameras[].recorder`), in each
 * recorder's own naming: several cameras, a few days of files, events and companions. Each replica
 * also says what the index must make of it: per camera, which files are recordings, their class,
 * their companions and their end time. Real files with real mtimes; the layouts are from each
 * recorder's source, cited beside its builder.
 */
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import type { RecordingClass } from '../../src/config/types.js';
import type { CameraInput } from './tree.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from './tree.js';

export interface ExpectedRecording {
  /** Relative to the camera's folder. */
  relPath: string;
  cls: RecordingClass;
  /** Relative to the recording's folder, sorted. */
  companions: string[];
  endTime: number;
  /** The file and its companions, in bytes. */
  size: number;
}

export interface Replica {
  recorder: string;
  cameras: CameraInput[];
  expected: Map<string, ExpectedRecording[]>;
  /** Files no camera may take (other recorders' files, another camera's overlap): never deleted. */
  untouchable: string[];
  /** Files a camera ignores (neither recordings nor companions): never deleted. */
  ignored: string[];
}

/** Ages of the recordings the replicas write: a few days, across both retentions the tests use (2 and 4 days). */
export const AGES_MS = [0.2, 1.2, 2.5, 3.5, 5, 6].map((days) => days * DAY_MS);

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The wall-clock parts of an instant, local or UTC. */
function parts(ms: number, utc = false) {
  const d = new Date(ms);
  return utc
    ? { Y: d.getUTCFullYear(), M: d.getUTCMonth() + 1, D: d.getUTCDate(), h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds() }
    : { Y: d.getFullYear(), M: d.getMonth() + 1, D: d.getDate(), h: d.getHours(), m: d.getMinutes(), s: d.getSeconds() };
}

const ymd = (ms: number, sep = '-', utc = false) => {
  const p = parts(ms, utc);
  return `${p.Y}${sep}${pad(p.M)}${sep}${pad(p.D)}`;
};
const hms = (ms: number, sep = '', utc = false) => {
  const p = parts(ms, utc);
  return `${pad(p.h)}${sep}${pad(p.m)}${sep}${pad(p.s)}`;
};

function put(path: string, size: number, mtimeMs: number): void {
  fs.mkdirSync(dirname(path), { recursive: true });
  fs.writeFileSync(path, Buffer.alloc(size, 7));
  const when = new Date(mtimeMs);
  fs.utimesSync(path, when, when);
}

/** Writes one replica's files; whole seconds, so names and mtimes agree. */
class Builder {
  readonly replica: Replica;
  readonly now = Math.floor(Date.now() / SECOND_MS) * SECOND_MS;

  constructor(
    recorder: string,
    readonly root: string,
    readonly size = 3000,
  ) {
    this.replica = { recorder, cameras: [], expected: new Map(), untouchable: [], ignored: [] };
  }

  camera(input: CameraInput): CameraInput {
    const camera = { recorder: this.replica.recorder, retentionDays: 2, eventRetentionDays: 4, ...input };
    this.replica.cameras.push(camera);
    this.replica.expected.set(camera.name, []);
    return camera;
  }

  /**
   * A recording of `camera` at `relPath`, its companions (relative to its folder) beside or below it.
   * `mtimeMs` defaults to the end time (most recorders stamp the file when they close it).
   */
  recording(
    camera: CameraInput,
    relPath: string,
    spec: { endTime: number; cls: RecordingClass; companions?: string[]; size?: number; mtimeMs?: number; companionMtimeMs?: number },
  ): void {
    const size = spec.size ?? this.size;
    const mtime = spec.mtimeMs ?? spec.endTime;
    put(join(camera.path, relPath), size, mtime);
    const companions = [...(spec.companions ?? [])].sort();
    for (const companion of companions) {
      put(join(camera.path, dirname(relPath), companion), 100, spec.companionMtimeMs ?? mtime);
    }
    this.replica.expected
      .get(camera.name)!
      .push({ relPath, cls: spec.cls, companions, endTime: spec.endTime, size: size + 100 * companions.length });
  }

  /** A file that must stay whatever happens: no camera may take it. */
  untouchable(path: string, mtimeMs: number): void {
    put(path, 500, mtimeMs);
    this.replica.untouchable.push(path);
  }

  ignored(path: string, mtimeMs: number, size = 50): void {
    put(path, size, mtimeMs);
    this.replica.ignored.push(path);
  }

  /** The end times the replica uses: one recording a day or so, at AGES_MS, plus a minute per index. */
  times(offsetMinutes = 0): number[] {
    return AGES_MS.map((age) => this.now - age - offsetMinutes * MINUTE_MS);
  }
}

/** Writes a replica below `root` (camera.ui's below `storage`), recordings of `size` bytes, companions of 100. */
type Build = (root: string, storage: string, size?: number) => Replica;

export const REPLICAS: Record<string, Build> = {
  // seydx/camera.ui src/common/ffmpeg.js and src/api/components/recordings/recordings.model.js: one flat folder,
  // `<camera name, spaces as _>-<id>-<unix seconds>_<m|d|c>_CUI.mp4` with a `@2.jpeg` placeholder, or a
  // snapshot-only `.jpeg`. Its default place is inside the Homebridge storage folder.
  'camera.ui': (_root, storage, size) => {
    const b = new Builder('camera.ui', _root, size);
    const folder = join(storage, 'camera.ui', 'recordings');
    const cameras = ['Front Door', 'Garage', 'Back Yard'].map((name) => b.camera({ name, path: folder }));
    cameras.forEach((camera, i) => {
      const prefix = camera.name.replace(/ /g, '_');
      b.times(i).forEach((end, day) => {
        const type = ['m', 'd', 'c'][day % 3];
        const base = `${prefix}-1a2b3c4d5${i}-${Math.floor(end / 1000) - 30}_${type}_CUI`;
        if (camera.name === 'Garage' && day === 1) {
          b.recording(camera, `${base}.jpeg`, { endTime: end, cls: 'event' });
        } else {
          b.recording(camera, `${base}.mp4`, { endTime: end, cls: 'event', companions: [`${base}@2.jpeg`] });
        }
      });
    });
    return b.replica;
  },

  // frigate/record/maintainer.py: `recordings/<YYYY-MM-DD>/<HH>/<camera>/<MM>.<SS>.mp4`, folders in UTC.
  frigate: (root, _storage, size) => {
    const b = new Builder('frigate', root, size);
    const folder = join(root, 'frigate', 'recordings');
    for (const [i, name] of ['front', 'driveway'].entries()) {
      const camera = b.camera({ name, path: folder });
      for (const end of b.times(i)) {
        const start = end - 10 * SECOND_MS;
        const p = parts(start, true);
        b.recording(camera, `${ymd(start, '-', true)}/${pad(p.h)}/${name}/${pad(p.m)}.${pad(p.s)}.mp4`, {
          endTime: end,
          cls: 'continuous',
        });
      }
    }
    return b.replica;
  },

  // motioneye/config.py, mediafiles.py: `<camera folder>/<YYYY-MM-DD>/<HH-MM-SS>.mp4` with `<movie>.mp4.thumb`, and still pictures.
  motioneye: (root, _storage, size) => {
    const b = new Builder('motioneye', root, size);
    for (const [i, name] of ['Camera1', 'Camera2'].entries()) {
      const camera = b.camera({ name, path: join(root, 'motioneye', name) });
      b.times(i).forEach((end, day) => {
        const start = end - MINUTE_MS;
        const base = `${ymd(start)}/${hms(start, '-')}`;
        b.recording(camera, `${base}.mp4`, { endTime: end, cls: 'event', companions: [`${hms(start, '-')}.mp4.thumb`] });
        if (day === 0) {
          b.recording(camera, `${ymd(start)}/${hms(start + 5000, '-')}.jpg`, { endTime: end, cls: 'event' });
        }
      });
    }
    return b.replica;
  },

  // Motion src/conf.cpp: movie_filename `%v-%Y%m%d%H%M%S` (.mkv), picture_filename `%v-%Y%m%d%H%M%S-%q`, snapshot `-snapshot`.
  motion: (root, _storage, size) => {
    const b = new Builder('motion', root, size);
    for (const [i, name] of ['porch', 'yard'].entries()) {
      const camera = b.camera({ name, path: join(root, 'motion', name) });
      b.times(i).forEach((end, event) => {
        const start = end - 40 * SECOND_MS;
        const base = `${pad(event + 1)}-${ymd(start, '')}${hms(start)}`;
        b.recording(camera, `${base}.mkv`, { endTime: end, cls: 'event', companions: [`${base}-00.jpg`, `${base}-snapshot.jpg`] });
      });
    }
    return b.replica;
  },

  // ZoneMinder src/zm_event.cpp, Medium storage scheme: `events/<monitor id>/<YYYY-MM-DD>/<event id>/` holding
  // `<event id>-video.mp4`, snapshot.jpg, alarm.jpg, index.m3u8 and capture frames: the folder is one recording.
  zoneminder: (root, _storage, size) => {
    const b = new Builder('zoneminder', root, size);
    let eventId = 18340;
    for (const monitor of [1, 2]) {
      const camera = b.camera({ name: `Monitor ${monitor}`, path: join(root, 'zoneminder', 'events', String(monitor)) });
      for (const end of b.times(monitor)) {
        const id = eventId++;
        b.recording(camera, `${ymd(end)}/${id}/${id}-video.mp4`, {
          endTime: end,
          cls: 'event',
          companions: ['00001-capture.jpg', '00002-capture.jpg', 'alarm.jpg', 'index.m3u8', 'snapshot.jpg'],
          companionMtimeMs: end - MINUTE_MS,
        });
      }
    }
    return b.replica;
  },

  // Shinobi libs/videos.js: `videos/<group>/<monitor id>/<YYYY-MM-DDTHH-MM-SS>.mp4`.
  shinobi: (root, _storage, size) => {
    const b = new Builder('shinobi', root, size);
    for (const [i, monitor] of ['aBcD1234', 'eFgH5678'].entries()) {
      const camera = b.camera({ name: monitor, path: join(root, 'shinobi', 'videos', 'grp01', monitor) });
      for (const end of b.times(i)) {
        const start = end - 15 * MINUTE_MS;
        b.recording(camera, `${ymd(start)}T${hms(start, '-')}.mp4`, { endTime: end, cls: 'continuous' });
      }
    }
    return b.replica;
  },

  // Blue Iris: `New/&CAM.%Y%m%d_%H%M%S.bvr` for every camera in one folder, alert image and .dat beside.
  blueiris: (root, _storage, size) => {
    const b = new Builder('blueiris', root, size);
    const folder = join(root, 'blueiris', 'New');
    for (const [i, name] of ['FrontDoor', 'Drive'].entries()) {
      const camera = b.camera({ name, path: folder });
      for (const end of b.times(i)) {
        const base = `${name}.${ymd(end - HOUR_MS, '')}_${hms(end - HOUR_MS)}`;
        b.recording(camera, `${base}.bvr`, { endTime: end, cls: 'event', companions: [`${base}.dat`, `${base}.jpg`] });
      }
    }
    return b.replica;
  },

  // Agent DVR: `Media/WebServerRoot/Media/video/<object id>/<id>_<date>_<time>.mp4`, thumbnails in `thumbs/`.
  agentdvr: (root, _storage, size) => {
    const b = new Builder('agentdvr', root, size);
    for (const [i, id] of ['QWERTY', 'ASDFGH'].entries()) {
      const camera = b.camera({ name: `Agent ${id}`, path: join(root, 'agent', 'Media', 'WebServerRoot', 'Media', 'video', id) });
      for (const end of b.times(i)) {
        const base = `${id}_${ymd(end)}_${hms(end, '-')}_${i}23`;
        b.recording(camera, `${base}.mp4`, { endTime: end, cls: 'event', companions: [`thumbs/${base}.jpg`, `thumbs/${base}_large.jpg`] });
      }
    }
    return b.replica;
  },

  // Synology Surveillance Station: `<camera>/<YYYYMMDD><AM|PM>/<camera><YYYYMMDD>-<HHMMSS>-<unix>.mp4`.
  synology: (root, _storage, size) => {
    const b = new Builder('synology', root, size);
    for (const [i, name] of ['Front', 'Back'].entries()) {
      const camera = b.camera({ name, path: join(root, 'surveillance', name) });
      for (const end of b.times(i)) {
        const half = parts(end).h < 12 ? 'AM' : 'PM';
        b.recording(camera, `${ymd(end, '')}${half}/${name}${ymd(end, '')}-${hms(end)}-${Math.floor(end / 1000)}.mp4`, {
          endTime: end,
          cls: 'continuous',
        });
      }
    }
    return b.replica;
  },

  // Reolink FTP upload: `<camera>/<YYYY>/<MM>/<DD>/<camera>_01_<YYYYMMDDHHMMSS>.mp4`, a snapshot a few seconds apart (its own recording).
  reolink: (root, _storage, size) => {
    const b = new Builder('reolink', root, size);
    for (const [i, name] of ['Camera BE', 'Camera Gate'].entries()) {
      const camera = b.camera({ name, path: join(root, 'reolink', name) });
      for (const end of b.times(i)) {
        const folder = ymd(end, '/');
        b.recording(camera, `${folder}/${name}_01_${ymd(end, '')}${hms(end)}.mp4`, { endTime: end, cls: 'event' });
        b.recording(camera, `${folder}/${name}_00_${ymd(end, '')}${hms(end - 3000)}.jpg`, { endTime: end - 3000, cls: 'event' });
      }
    }
    return b.replica;
  },

  // Hikvision FTP upload: `<ip>_<channel>_<YYYYMMDDHHMMSSmmm>_<EVENT>.jpg` in one folder; two channels told apart by match.
  hikvision: (root, _storage, size) => {
    const b = new Builder('hikvision', root, size);
    const folder = join(root, 'hikvision');
    for (const channel of ['01', '02']) {
      const camera = b.camera({ name: `Hik ${channel}`, path: folder, match: [`192.168.1.64_${channel}_*`] });
      for (const end of b.times(Number(channel))) {
        const stamp = `${ymd(end, '')}${hms(end)}123`;
        b.recording(camera, `192.168.1.64_${channel}_${stamp}_MOTION_DETECTION.jpg`, { endTime: end, cls: 'event' });
        b.recording(camera, `192.168.1.64_${channel}_${stamp}_TIMING.jpg`, { endTime: end, cls: 'continuous' });
      }
    }
    b.untouchable(join(folder, `192.168.1.99_01_${ymd(b.now - 9 * DAY_MS, '')}000000000_TIMING.jpg`), b.now - 9 * DAY_MS);
    return b.replica;
  },

  // Dahua/Amcrest FTP: `<serial>/<YYYY-MM-DD>/<channel>/dav/<HH>/<HH.MM.SS>-<HH.MM.SS>[M][0@0][0].mp4`, jpg in a parallel tree.
  dahua: (root, _storage, size) => {
    const b = new Builder('dahua', root, size);
    const folder = join(root, 'dahua', '4A0123PAZ');
    for (const channel of ['001', '002']) {
      const camera = b.camera({ name: `Dahua ${channel}`, path: folder, match: [`*/${channel}/**`] });
      b.times(Number(channel)).forEach((end, i) => {
        const start = end - 30 * SECOND_MS;
        const flag = i % 2 === 0 ? 'M' : 'R';
        const day = ymd(end);
        b.recording(camera, `${day}/${channel}/dav/${pad(parts(start).h)}/${hms(start, '.')}-${hms(end, '.')}[${flag}][0@0][0].mp4`, {
          endTime: end,
          cls: flag === 'M' ? 'event' : 'continuous',
        });
        const p = parts(start);
        b.recording(camera, `${day}/${channel}/jpg/${pad(p.h)}/${pad(p.m)}/${pad(p.s)}[${flag}][0@0][0].jpg`, {
          endTime: start,
          cls: flag === 'M' ? 'event' : 'continuous',
        });
      });
    }
    return b.replica;
  },

  // viofosync.py: `<dest>/<YYYY-MM-DD>/<YYYY_MMDD_HHMMSS>_<nnnnnn><F|R>.MP4`, every file stamped with the download time.
  viofo: (root, _storage, size) => {
    const b = new Builder('viofo', root, size);
    for (const [i, name] of ['Dashcam A129', 'Dashcam A229'].entries()) {
      const camera = b.camera({ name, path: join(root, 'viofo', name.split(' ')[1]!) });
      const downloadedAt = b.now - 5 * MINUTE_MS;
      b.times(i).forEach((end, n) => {
        const p = parts(end);
        const base = `${p.Y}_${pad(p.M)}${pad(p.D)}_${hms(end)}_${pad(n, 6)}${n % 2 === 0 ? 'F' : 'R'}`;
        b.recording(camera, `${ymd(end)}/${base}.MP4`, {
          endTime: end,
          cls: 'continuous',
          mtimeMs: downloadedAt,
          companions: [`${base}.MP4.gpx`],
        });
      });
    }
    return b.replica;
  },

  // ffmpeg -f segment -strftime 1 `%Y-%m-%d-%H-%M-%S.mp4` (name = start, mtime = end), a script copying clips into events/.
  ffmpeg: (root, _storage, size) => {
    const b = new Builder('ffmpeg', root, size);
    for (const [i, name] of ['porch', 'garden'].entries()) {
      const camera = b.camera({ name, path: join(root, 'ffmpeg', name) });
      b.times(i).forEach((end, n) => {
        const start = end - 5 * MINUTE_MS;
        const folder = n % 2 === 0 ? '' : 'events/';
        b.recording(camera, `${folder}${ymd(start)}-${hms(start, '-')}.mp4`, { endTime: end, cls: n % 2 === 0 ? 'continuous' : 'event' });
      });
      b.ignored(join(camera.path, 'segments.csv'), b.now - 9 * DAY_MS);
    }
    return b.replica;
  },

  // Any recorder with one folder per camera: the defaults of today (extensions, event patterns, sidecars, an image beside its video).
  generic: (root, _storage, size) => {
    const b = new Builder('generic', root, size);
    for (const [i, name] of ['cam-a', 'cam-b'].entries()) {
      const camera = b.camera({ name, path: join(root, 'generic', name) });
      b.times(i).forEach((end, n) => {
        const kind = n % 2 === 0 ? 'continuous' : 'motion';
        b.recording(camera, `${ymd(end)}/${kind}-${hms(end)}.mp4`, {
          endTime: end,
          cls: kind === 'motion' ? 'event' : 'continuous',
          companions: [`${kind}-${hms(end)}.jpg`, `${kind}-${hms(end)}.json`],
        });
      });
    }
    return b.replica;
  },
};
