/**
 * A camera's layout rules beyond its extensions (rules §1): which files of its folder are its own
 * (`match`, and never a file another camera matches too), folders that are one recording each,
 * companions in folders below a recording's, and end times read from names. The scan asks these
 * questions; the answers are pure functions of the config.
 */
import { join, relative, sep } from 'node:path';
import type { CameraConfig } from '../config/types.js';
import { compileCompanions, companionBases, type CompanionPattern, globToRegExp, makeMatcher } from './classify.js';
import { nameTimeReader } from '../config/name-time.js';

export interface CameraLayout {
  /** The camera's own file at this path: it matches, and no other camera matches it too. */
  owns(relPath: string): boolean;
  /** A file this camera and another both match: kept, never deleted, and counted here. */
  overlaps: { count: number; example?: string; other?: string };
  /** A folder that is one recording (ZoneMinder's event folders). */
  isRecordingFolder(relPath: string): boolean;
  companions: CompanionPattern[];
  /** Companions of a recording that lie below its folder, relative to its folder (`thumbs/x.jpg`). */
  companionsBelow(name: string): string[];
  /** For a file in a folder below a recording's (thumbs/): the folder and base of each recording it may go with. */
  companionOf(folderRelPath: string, name: string): { ownerFolder: string; base: string; companion: string }[];
  /** The end time a file's name gives, or undefined: then the mtime is used, and counted. */
  timeFromName?: (relPath: string) => number | undefined;
  /** Recordings whose name did not give a time (their mtime was used). */
  nameTimeMisses: { count: number; example?: string };
}

export function cameraLayout(camera: CameraConfig, cameras: CameraConfig[], defaultTimeZone: string | undefined): CameraLayout {
  const matches = makeMatcher(camera);
  const others = cameras
    .filter((other) => other !== camera && other.indexKey !== camera.indexKey && foldersMeet(camera.path, other.path))
    .map((other) => ({ name: other.name, path: other.path, matches: makeMatcher(other) }));
  const overlaps: CameraLayout['overlaps'] = { count: 0 };
  const recordingFolders = camera.recordingFolders.map(globToRegExp);
  const companions = compileCompanions(camera.companions);
  const below = companions.filter((pattern) => pattern.folder !== '');
  const nameTimeMisses: CameraLayout['nameTimeMisses'] = { count: 0 };

  const otherMatching = (relPath: string) => {
    if (others.length === 0) {
      return undefined;
    }
    const absolute = join(camera.path, relPath);
    return others.find((other) => {
      const theirs = relative(other.path, absolute);
      return !theirs.startsWith('..') && !theirs.startsWith(sep) && other.matches(theirs.split(sep).join('/'));
    });
  };

  return {
    owns(relPath) {
      if (!matches(relPath)) {
        return false;
      }
      const other = otherMatching(relPath);
      if (other) {
        overlaps.count++;
        overlaps.example ??= relPath;
        overlaps.other ??= other.name;
        return false;
      }
      return true;
    },
    overlaps,
    isRecordingFolder: (relPath) => relPath !== '' && recordingFolders.some((glob) => glob.test(relPath)),
    companions,
    companionsBelow(name) {
      const base = name.slice(0, name.lastIndexOf('.'));
      // Patterns below a folder have no wildcards (the config refuses them), so each names one file.
      return below.map((pattern) => `${pattern.folder}/${pattern.text.replace('{base}', base)}`);
    },
    companionOf(folderRelPath, name) {
      const candidates: { ownerFolder: string; base: string; companion: string }[] = [];
      for (const pattern of below) {
        const suffix = `/${pattern.folder}`;
        const ownerFolder =
          folderRelPath === pattern.folder ? '' : folderRelPath.endsWith(suffix) ? folderRelPath.slice(0, -suffix.length) : undefined;
        if (ownerFolder !== undefined) {
          for (const base of companionBases([pattern], pattern.folder, name)) {
            candidates.push({ ownerFolder, base, companion: `${pattern.folder}/${name}` });
          }
        }
      }
      return candidates;
    },
    ...(camera.nameTime !== undefined && { timeFromName: nameTimeReader(camera.nameTime, camera.nameTimeZone ?? defaultTimeZone) }),
    nameTimeMisses,
  };
}

function foldersMeet(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
}
