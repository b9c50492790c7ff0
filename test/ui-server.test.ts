/**
 * homebridge-ui/server.js as the Homebridge UI runs it: forked with an IPC channel (silent, with
 * HOMEBRIDGE_CONFIG_PATH and HOMEBRIDGE_STORAGE_PATH set), spoken to with the plugin-ui-utils
 * messages `{action: 'request', requestId, path, body}`, answering `response` and `stream` messages.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Store } from '../src/store/store.js';
import { DAY_MS, filesBelow, writeRecording } from './helpers/tree.js';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { makeUiFixture, type UiFixture } from './helpers/ui-fixture.js';

const SERVER = resolve('homebridge-ui/server.js');

interface Message {
  action: string;
  payload: { requestId?: string; success?: boolean; data?: Record<string, unknown>; event?: string; server?: boolean };
}

let fixture: UiFixture;
let child: ChildProcess;
let messages: Message[];
let output: string;

/** Extra old recordings per test, written before server.js starts. */
let extraOld = 0;

beforeEach(async () => {
  fixture = makeUiFixture('ui-server');
  for (let i = 0; i < extraOld; i++) {
    writeRecording(fixture.front, `old/${Math.floor(i / 100)}/seg-${i}.mp4`, { ageMs: 10 * DAY_MS, size: 10 });
  }
  messages = [];
  output = '';
  child = fork(SERVER, [], {
    silent: true,
    env: {
      ...process.env,
      HOMEBRIDGE_STORAGE_PATH: fixture.sandbox.storage,
      HOMEBRIDGE_CONFIG_PATH: fixture.configPath,
      HOMEBRIDGE_UI_VERSION: 'test',
    },
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('message', (message: Message) => messages.push(message));
  await until(() => messages.some((m) => m.action === 'ready'), 'ready');
});

afterEach(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((done) => child.once('exit', done));
    // What the Homebridge UI does when the settings close: disconnect the IPC channel.
    child.disconnect();
    await exited;
  }
  fixture.sandbox.remove();
});

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`no ${what} from server.js (exit ${child.exitCode}); its output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let nextId = 0;
async function request(path: string, body: unknown): Promise<{ success: boolean; data: Record<string, unknown> }> {
  const requestId = `r${++nextId}`;
  child.send({ action: 'request', requestId, path, body });
  await until(() => messages.some((m) => m.action === 'response' && m.payload.requestId === requestId), `response to ${path}`);
  const { payload } = messages.find((m) => m.action === 'response' && m.payload.requestId === requestId)!;
  return { success: payload.success!, data: payload.data! };
}

test('answers requests over IPC, streams sweep progress, and ends when the UI disconnects', async () => {
  expect(messages[0]).toEqual({ action: 'ready', payload: { server: true } });

  const preview = await request('/preview', {});
  expect(preview.success).toBe(true);
  expect(preview.data.message).toMatch(/^The next sweep would delete \d+ recordings/);

  const page = await request('/recordings', { cameras: ['Back Yard'], sort: 'oldest', limit: 2 });
  const [oldest] = page.data.recordings as { id: number; path: string }[];
  expect(oldest.path).toBe('seg-78h.mkv');

  const deleted = await request('/delete', { ids: [oldest.id] });
  expect(deleted.data.deleted).toEqual({ count: 1, bytes: 15_000 });
  expect(existsSync(join(fixture.back, 'seg-78h.mkv'))).toBe(false);

  const sweep = await request('/sweep', {});
  expect(sweep.success).toBe(true);
  await until(() => messages.some((m) => m.action === 'stream' && m.payload.event === 'sweep-done'), 'sweep-done');
  expect(messages.filter((m) => m.action === 'stream' && m.payload.event === 'sweep-progress').length).toBeGreaterThanOrEqual(1);
  expect(messages.find((m) => m.payload.event === 'sweep-done')!.payload.data).toMatchObject({ ok: true });

  // A bad body is a failed response carrying a person's message, not a crash.
  const refused = await request('/protect', { ids: 'all' });
  expect(refused).toEqual({
    success: false,
    data: { message: expect.stringMatching(/^The request was not accepted: the selection /), error: { code: 'invalid' } },
  });
  const unknown = await request('/format-disk', {});
  expect(unknown.success).toBe(false);
  expect(child.exitCode).toBeNull();

  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.disconnect();
  expect(await exited).toBe(0);
});

describe('closing the settings during a sweep', () => {
  beforeAll(() => {
    extraOld = 3000;
  });
  afterAll(() => {
    extraOld = 0;
  });

  test('the sweep stops at a safe point: every indexed recording is still on disk, and no delete is left half done', async () => {
    const sweep = await request('/sweep', {});
    expect(sweep.success).toBe(true);
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.disconnect();
    // With its output, so that a crash on the way out (a progress push racing the close) says why.
    expect({ code: await exited, output: output.includes('Error') ? output : 'no error' }).toEqual({ code: 0, output: 'no error' });

    const store = Store.open(join(fixture.sandbox.storage, 'nvr-retention', 'index.db'));
    try {
      expect(store.interruptedDeletes()).toEqual([]);
      const camera = store.cameraByPath(fixture.front)!;
      const onDisk = filesBelow(fixture.front).filter((file) => !file.endsWith('.json'));
      const indexed = store
        .recordingIdsBelow(camera.id, '')
        .map((id) => store.recording(id)!.relPath)
        .sort();
      expect(indexed).toEqual(onDisk);
    } finally {
      store.close();
    }
  });
});
