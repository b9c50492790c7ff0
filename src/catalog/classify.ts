import type { CameraConfig, RecordingClass } from '../config/types.js';

/** Thumbnails may carry a recording extension (`x.thumb.jpg`) and still belong to a recording. */
const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'webp']);

/** Sidecar JSON triggers that make a recording an event clip (rules §1). */
const EVENT_TRIGGERS = new Set(['motion', 'detection', 'event', 'alert', 'manual']);

/**
 * Turns a glob into a case-insensitive RegExp over '/'-separated relative paths: `**` spans folders,
 * `*` and `?` stay inside one name, and a leading `**\/` also matches at the top level.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      const slashFollows = glob[i + 2] === '/';
      source += slashFollows ? '(?:.*/)?' : '.*';
      i += slashFollows ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'i');
}

export interface Classifier {
  isRecordingName(name: string): boolean;
  classOf(relPath: string, sidecarTrigger?: string): RecordingClass;
}

/** Whether a path relative to the camera folder is one of the camera's files: its `match` globs, or every file without them. */
export function makeMatcher(camera: Pick<CameraConfig, 'match'>): (relPath: string) => boolean {
  if (camera.match === undefined) {
    return () => true;
  }
  const globs = camera.match.map(globToRegExp);
  return (relPath) => globs.some((glob) => glob.test(relPath));
}

export function makeClassifier(
  camera: Pick<CameraConfig, 'extensions' | 'eventPatterns'> & Partial<Pick<CameraConfig, 'recordingMode'>>,
): Classifier {
  const extensions = new Set(camera.extensions.map((ext) => ext.toLowerCase()));
  const patterns = camera.eventPatterns.map(globToRegExp);
  const mode = camera.recordingMode ?? 'mixed';
  return {
    isRecordingName: (name) => !name.startsWith('.') && extensions.has(extensionOf(name)),
    // A camera that names its mode needs no pattern: a motion-only camera's clips are all events (rules §1).
    classOf: (relPath, sidecarTrigger) =>
      mode !== 'mixed'
        ? mode === 'events'
          ? 'event'
          : 'continuous'
        : patterns.some((pattern) => pattern.test(relPath)) ||
            (sidecarTrigger !== undefined && EVENT_TRIGGERS.has(sidecarTrigger.toLowerCase()))
          ? 'event'
          : 'continuous',
  };
}

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

export interface FolderGroup {
  /** Recording name → the names of its sidecars. */
  recordings: Map<string, string[]>;
}

/** A companion pattern (`cameras[].companions`), split into the folder below the recording's and a test of the file name. */
export interface CompanionPattern {
  /** '' for the recording's own folder, else a path below it such as 'thumbs'. */
  folder: string;
  /**
   * Over the file name; group `base` is the recording's name without its extension. Shortest and longest
   * base both, so a wildcard beside {base} (`{base}*.jpg`) cannot hide the base that has a recording.
   */
  names: [RegExp, RegExp];
  /** For a pattern that starts with {base}: what must follow the base, so every split of a name can be tried. */
  after?: RegExp;
  /** The file name part as written, with `{base}`. */
  text: string;
}

export function compileCompanions(patterns: string[]): CompanionPattern[] {
  return patterns.map((pattern) => {
    const slash = pattern.lastIndexOf('/');
    const namePart = pattern.slice(slash + 1);
    const [before, ...after] = namePart.split('{base}');
    const glob = (part: string) => globToRegExp(part).source.slice(1, -1);
    return {
      folder: slash < 0 ? '' : pattern.slice(0, slash),
      names: [
        new RegExp(`^${glob(before ?? '')}(?<base>.+?)${glob(after.join('{base}'))}$`, 'i'),
        new RegExp(`^${glob(before ?? '')}(?<base>.+)${glob(after.join('{base}'))}$`, 'i'),
      ],
      ...(before === '' && { after: new RegExp(`^${glob(after.join('{base}'))}$`, 'i') }),
      text: namePart,
    };
  });
}

/** The base a companion file name stands for under one of the patterns of `folder`, each in turn. */
export function* companionBases(patterns: CompanionPattern[], folder: string, name: string): Generator<string> {
  for (const pattern of patterns) {
    if (pattern.folder === folder && pattern.after) {
      // Every base the name can start with, the longest first (as for sidecars): `{base}*.jpg` gives clip-1.jpg
      // the bases clip-1, clip-, clip, ...
      for (let end = name.length - 1; end > 0; end--) {
        if (pattern.after.test(name.slice(end))) {
          yield name.slice(0, end);
        }
      }
    } else if (pattern.folder === folder) {
      const [shortest, longest] = pattern.names.map((regex) => regex.exec(name)?.groups?.base);
      if (shortest !== undefined) {
        yield shortest;
      }
      if (longest !== undefined && longest !== shortest) {
        yield longest;
      }
    }
  }
}

/**
 * Splits the plain files of one folder into recordings and their sidecars. A file `B.rest` is a
 * sidecar of recording `B.ext` when `rest` is not itself a recording extension and the file is not
 * a video of its own; the longest matching base wins. When unsure a file stays a recording of its own:
 * a misread sidecar is deleted on its own schedule, a misread recording would go with another one.
 */
export function groupFolder(
  names: string[],
  classifier: Classifier,
  recordingExtensions: string[],
  companions: CompanionPattern[] = [],
): FolderGroup {
  const extensions = new Set(recordingExtensions.map((ext) => ext.toLowerCase()));
  const recordingBases = new Map<string, string>();
  for (const name of names) {
    if (classifier.isRecordingName(name)) {
      const base = name.slice(0, name.lastIndexOf('.'));
      // Beside x.avi, a snapshot x.jpg must not take x.json from the video just because "jpg" sorts later.
      if (!recordingBases.has(base) || !IMAGE_EXTENSIONS.has(extensionOf(name))) {
        recordingBases.set(base, name);
      }
    }
  }
  const recordings = new Map<string, string[]>();
  const sidecarOf = (name: string): string | undefined => companionOwner(name) ?? plainSidecarOwner(name) ?? thumbnailOwner(name);
  // cameras[].companions first: they name files that would otherwise be recordings of their own (x@2.jpeg).
  const companionOwner = (name: string): string | undefined => {
    for (const base of companionBases(companions, '', name)) {
      const owner = recordingBases.get(base);
      if (owner && owner !== name) {
        return owner;
      }
    }
    return undefined;
  };
  // An image with the base of a video beside it is that video's thumbnail; an image alone stays a recording (a snapshot).
  const thumbnailOwner = (name: string): string | undefined => {
    if (!IMAGE_EXTENSIONS.has(extensionOf(name))) {
      return undefined;
    }
    const owner = recordingBases.get(name.slice(0, name.lastIndexOf('.')));
    return owner && owner !== name && !IMAGE_EXTENSIONS.has(extensionOf(owner)) ? owner : undefined;
  };
  const plainSidecarOwner = (name: string): string | undefined => {
    const ownExtension = extensionOf(name);
    if (extensions.has(ownExtension) && !IMAGE_EXTENSIONS.has(ownExtension)) {
      return undefined;
    }
    // Try the longest base first: "a.b.mp4" owns "a.b.json" before "a.mp4" could.
    for (let dot = name.lastIndexOf('.'); dot > 0; dot = name.lastIndexOf('.', dot - 1)) {
      const base = name.slice(0, dot);
      const rest = name.slice(dot + 1).toLowerCase();
      const owner = recordingBases.get(base);
      if (owner && owner !== name && !extensions.has(rest)) {
        return owner;
      }
    }
    return undefined;
  };
  const sidecars: [string, string][] = [];
  for (const name of names) {
    if (name.startsWith('.')) {
      continue;
    }
    const owner = sidecarOf(name);
    if (owner) {
      sidecars.push([owner, name]);
    } else if (classifier.isRecordingName(name)) {
      recordings.set(name, recordings.get(name) ?? []);
    }
  }
  for (const [owner, sidecar] of sidecars) {
    // The owner may itself have been read as a sidecar (x.jpg beside x.mp4 is not: jpg is a recording extension).
    const list = recordings.get(owner);
    if (list) {
      list.push(sidecar);
    }
  }
  for (const list of recordings.values()) {
    list.sort();
  }
  return { recordings };
}
