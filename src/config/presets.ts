/**
 * Recorder presets (`cameras[].recorder`): one entry per recorder, the layout facts of that
 * recorder's own source (issue 12's table), as the camera fields they stand for. A preset only
 * fills in what the user left out: whatever the user sets wins (applyPreset).
 */
import { DEFAULT_EVENT_PATTERNS, DEFAULT_EXTENSIONS, type RecordingMode } from './types.js';

export interface Preset {
  extensions: string[];
  eventPatterns: string[];
  recordingMode: RecordingMode;
  companions: string[];
  recordingFolders: string[];
  nameTime?: string;
  nameTimeZone?: string;
  /** For recorders that put the camera's name into file names or paths: the camera's files, from its name. */
  match?: (name: string) => string[];
}

/** A name written into a glob: `*` and `?` in it stand for themselves only as "any one character". */
const literal = (name: string) => name.replace(/[*?]/g, '?');

/** Frames, thumbnails and stills some recorders write; images beside a video of the same base are its thumbnail anyway. */
const IMAGES = ['jpg', 'jpeg'];

export const PRESETS = {
  generic: {
    extensions: [...DEFAULT_EXTENSIONS],
    eventPatterns: [...DEFAULT_EVENT_PATTERNS],
    recordingMode: 'mixed',
    companions: [],
    recordingFolders: [],
  },
  // seydx/camera.ui src/common/ffmpeg.js: `<camera name, spaces as _>-<id>-<unix seconds>_<m|d|c>_CUI.mp4`, all in one
  // folder; every recording is triggered (motion, doorbell, custom); `<name>@2.jpeg` is its placeholder image.
  'camera.ui': {
    extensions: ['mp4', 'jpeg'],
    eventPatterns: [],
    recordingMode: 'events',
    companions: ['{base}@2.jpeg'],
    recordingFolders: [],
    match: (name) => [`${literal(name).replace(/ /g, '_')}-*`],
  },
  // frigate/record/maintainer.py: `recordings/<YYYY-MM-DD>/<HH>/<camera>/<MM>.<SS>.mp4` in UTC; events live in its database.
  frigate: {
    extensions: ['mp4'],
    eventPatterns: [],
    recordingMode: 'continuous',
    companions: [],
    recordingFolders: [],
    match: (name) => [`*/*/${literal(name)}/**`],
  },
  // motioneye/config.py, mediafiles.py: `<camera folder>/<YYYY-MM-DD>/<HH-MM-SS>.mp4` and a `.mp4.thumb` beside;
  // motion-triggered movies by default.
  motioneye: {
    extensions: ['mp4', 'avi', 'mkv', 'mov', ...IMAGES],
    eventPatterns: [],
    recordingMode: 'events',
    companions: ['{base}.mp4.thumb', '{base}.avi.thumb', '{base}.mkv.thumb'],
    recordingFolders: [],
  },
  // Motion src/conf.cpp: movie_filename `%v-%Y%m%d%H%M%S`, picture_filename `%v-%Y%m%d%H%M%S-%q`, snapshot `-snapshot`.
  motion: {
    extensions: ['mkv', 'mp4', 'avi', 'mov', ...IMAGES],
    eventPatterns: [],
    recordingMode: 'events',
    companions: ['{base}-snapshot.jpg', '{base}-??.jpg'],
    recordingFolders: [],
  },
  // ZoneMinder src/zm_event.cpp, Medium scheme (the default): `events/<monitor id>/<YYYY-MM-DD>/<event id>/` holding
  // `<event id>-video.mp4`, snapshot.jpg, alarm.jpg, index.m3u8 and capture frames: the folder is the recording.
  zoneminder: {
    extensions: ['mp4', 'mkv', 'h264', 'hevc', ...IMAGES],
    eventPatterns: [],
    recordingMode: 'events',
    companions: [],
    recordingFolders: ['*/*'],
  },
  // Shinobi libs/videos.js: `videos/<group>/<monitor id>/<YYYY-MM-DDTHH-MM-SS>.mp4`; events are in its database.
  shinobi: {
    extensions: ['mp4', 'webm', 'mkv'],
    eventPatterns: [],
    recordingMode: 'continuous',
    companions: [],
    recordingFolders: [],
  },
  // Blue Iris: clips `New/&CAM.%Y%m%d_%H%M%S.bvr` (the camera's short name first); triggered recording by default.
  blueiris: {
    extensions: ['bvr', 'mp4', 'avi', 'mkv'],
    eventPatterns: [],
    recordingMode: 'events',
    companions: ['{base}.jpg', '{base}.dat'],
    recordingFolders: [],
    match: (name) => [`${literal(name)}.*`],
  },
  // Agent DVR: `Media/WebServerRoot/Media/video/<object id>/<name>.mp4`, thumbnails `thumbs/<name>.jpg` and `_large.jpg`.
  agentdvr: {
    extensions: ['mp4', 'mkv', 'avi'],
    eventPatterns: [],
    recordingMode: 'events',
    companions: ['thumbs/{base}.jpg', 'thumbs/{base}_large.jpg'],
    recordingFolders: [],
  },
  // Synology Surveillance Station: `<camera>/<YYYYMMDD><AM|PM>/<camera><YYYYMMDD>-<HHMMSS>-<unix>.mp4`; continuous by default.
  synology: {
    extensions: ['mp4'],
    eventPatterns: [],
    recordingMode: 'continuous',
    companions: [],
    recordingFolders: [],
  },
  // Reolink FTP upload: `<camera>/<YYYY>/<MM>/<DD>/<camera>_<nn>_<YYYYMMDDHHMMSS>.mp4`; every upload is an alarm.
  reolink: {
    extensions: ['mp4', ...IMAGES],
    eventPatterns: [],
    recordingMode: 'events',
    companions: [],
    recordingFolders: [],
  },
  // Hikvision FTP upload: `<ip>_<channel>_<YYYYMMDDHHMMSSmmm>_<EVENT>.jpg`: `_TIMING` is scheduled, the rest are events.
  hikvision: {
    extensions: ['jpg', 'mp4'],
    eventPatterns: ['**/*_DETECTION*', '**/*_ALARM*', '**/*_INTRUSION*', '**/*_CROSSING*', '**/*_VMD*'],
    recordingMode: 'mixed',
    companions: [],
    recordingFolders: [],
  },
  // Dahua/Amcrest FTP: `<serial>/<YYYY-MM-DD>/<channel>/dav/<HH>/<HH.MM.SS>-<HH.MM.SS>[M][0@0][0].mp4`: [M] motion, [A] alarm, [R] regular.
  dahua: {
    extensions: ['mp4', 'dav', ...IMAGES],
    eventPatterns: ['**/*[M]*', '**/*[A]*'],
    recordingMode: 'mixed',
    companions: [],
    recordingFolders: [],
  },
  // viofosync.py: `<dest>/<YYYY-MM-DD>/<YYYY_MMDD_HHMMSS>_<nnnnnn><F|R>.MP4`, stamped with the download time: the name has the time.
  viofo: {
    extensions: ['mp4', 'ts'],
    eventPatterns: [],
    recordingMode: 'continuous',
    companions: [],
    recordingFolders: [],
    nameTime: '(?<year>\\d{4})_(?<month>\\d{2})(?<day>\\d{2})_(?<hour>\\d{2})(?<minute>\\d{2})(?<second>\\d{2})_[^/]*$',
  },
  // ffmpeg `-f segment -strftime 1 %Y-%m-%d-%H-%M-%S.mp4`: the name is the start, the mtime the end (so the mtime is used).
  ffmpeg: {
    extensions: ['mp4', 'mkv', 'ts', 'm4s', 'mov'],
    eventPatterns: ['**/events/**'],
    recordingMode: 'mixed',
    companions: [],
    recordingFolders: [],
  },
} satisfies Record<string, Preset>;

export type RecorderName = keyof typeof PRESETS;
export const RECORDER_NAMES = Object.keys(PRESETS) as [RecorderName, ...RecorderName[]];

/** The preset's match for this camera, or undefined when the recorder keeps each camera in its own folder. */
export function presetMatch(recorder: RecorderName, name: string): string[] | undefined {
  const preset: Preset = PRESETS[recorder];
  return preset.match?.(name);
}
