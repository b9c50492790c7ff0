/**
 * Reads a recording (or its thumbnail) for the settings page in bounded base64 chunks, so the page can
 * play or save it from a Blob: the plugin-ui-utils channel carries requests and answers, not streams.
 * The file is named by the engine from a recording id (RetentionEngine.recordingFile), never by the page.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { RequestError } from '@homebridge/plugin-ui-utils';
import { formatBytes } from '../retention/format.js';
import { MEDIA_CHUNK_BYTES } from './requests.js';

/** The page holds the whole file in memory to play it: larger ones are refused, with a way that works. */
export const MAX_MEDIA_BYTES = 100 * 1000 * 1000;

const TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  ts: 'video/mp2t',
  avi: 'video/x-msvideo',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

export interface MediaChunk {
  name: string;
  type: string;
  size: number;
  offset: number;
  /** Base64 of the bytes from `offset`, at most MEDIA_CHUNK_BYTES of them. */
  data: string;
  done: boolean;
}

export async function readChunk(path: string, name: string, offset: number): Promise<MediaChunk> {
  // O_NOFOLLOW: a link put in place of the file since it was indexed is not followed out of the camera folder.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
    throw new RequestError(
      error.code === 'ENOENT' ? `${name} is no longer on the disk.` : `${name} cannot be read (${error.code ?? error.message}).`,
      { code: 'invalid' },
    );
  });
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new RequestError(`${name} is not a plain file.`, { code: 'invalid' });
    }
    if (stats.size > MAX_MEDIA_BYTES) {
      throw new RequestError(
        `${name} is ${formatBytes(stats.size)}, more than the ${formatBytes(MAX_MEDIA_BYTES)} this page can play or download. Use Export to copy it to the export folder instead.`,
        { code: 'too-large' },
      );
    }
    const length = Math.max(0, Math.min(MEDIA_CHUNK_BYTES, stats.size - offset));
    const buffer = Buffer.alloc(length);
    const { bytesRead } = length > 0 ? await handle.read(buffer, 0, length, offset) : { bytesRead: 0 };
    const extension = name.split('.').pop()?.toLowerCase() ?? '';
    return {
      name,
      type: TYPES[extension] ?? 'application/octet-stream',
      size: stats.size,
      offset,
      data: buffer.subarray(0, bytesRead).toString('base64'),
      done: offset + bytesRead >= stats.size,
    };
  } finally {
    await handle.close();
  }
}
