// npm run demo: builds a demo recordings tree under .demo/, then starts a real Homebridge with this
// plugin and the Homebridge UI (homebridge-config-ui-x, a dev dependency) on it, the way Homebridge
// is normally run: `hb-service run`, which serves the UI and runs Homebridge as its child. The UI
// listens on 127.0.0.1 only, with no login. Ctrl-C stops Homebridge cleanly. Nothing outside .demo/
// is touched; the next run starts over.
import { spawn, spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync, statfsSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const root = join(repo, '.demo');
const recordings = join(root, 'recordings');
const storage = join(root, 'storage');
const plugins = join(root, 'plugins');
const configFile = join(storage, 'config.json');
const logFile = join(storage, 'homebridge.log');
const hbService = join(repo, 'node_modules', 'homebridge-config-ui-x', 'dist', 'bin', 'hb-service.js');
const HOUR = 3_600_000;
const BRIDGE = { name: 'NVR Retention Demo', username: '0E:DE:70:00:00:01', pin: '031-45-154' };

/** `preferred` if nothing listens on it, else a port the system picks. */
function freePort(preferred) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => (error.code === 'EADDRINUSE' && preferred !== 0 ? resolve(freePort(0)) : reject(error)));
    server.listen(preferred, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const uiPort = await freePort(8581);
const bridgePort = await freePort(51826);

// rmSync removes the plugin link below, never what it points to.
rmSync(root, { recursive: true, force: true });
mkdirSync(storage, { recursive: true });

/** A recording of `size` bytes that ended `hoursAgo` hours ago, with optional sidecars. */
function recording(relPath, hoursAgo, size, sidecars = {}) {
  const path = join(recordings, relPath);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(size, 7));
  const files = [path];
  for (const [extension, content] of Object.entries(sidecars)) {
    const sidecar = path.replace(/\.[^.]+$/, `.${extension}`);
    writeFileSync(sidecar, content);
    files.push(sidecar);
  }
  const time = new Date(Date.now() - hoursAgo * HOUR);
  for (const file of files) {
    utimesSync(file, time, time);
  }
  return path;
}

/** One file of `content` (a byte count or text) that ended `hoursAgo` hours ago. */
function writeAged(path, hoursAgo, content) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'number' ? Buffer.alloc(content, 7) : content);
  const time = new Date(Date.now() - hoursAgo * HOUR);
  utimesSync(path, time, time);
}

function day(hoursAgo) {
  return new Date(Date.now() - hoursAgo * HOUR).toISOString().slice(0, 10);
}

// Front door: continuous 10-minute segments every 6 hours for 10 days, motion clips with JSON sidecars.
for (let h = 1; h <= 240; h += 6) {
  recording(`front-door/${day(h)}/continuous-${h}h.mp4`, h, 200_000);
}
for (let h = 5; h <= 240; h += 24) {
  recording(`front-door/events/clip-${h}h.mp4`, h, 80_000, { json: JSON.stringify({ trigger: 'motion' }), 'thumb.jpg': 'thumbnail' });
}
// Driveway: 3 days of footage against a small quota.
for (let h = 2; h <= 72; h += 4) {
  recording(`driveway/${day(h)}/seg-${h}h.mkv`, h, 150_000);
}
// Garden: old footage, one clip of which will be protected as evidence.
const evidence = recording('garden/2026-archive/intruder.mp4', 24 * 20, 300_000);
recording('garden/2026-archive/wind.mp4', 24 * 20, 300_000);

// camera.ui (its default place, inside the Homebridge storage folder): every camera in one flat folder,
// `<name with _>-<id>-<unix seconds>_<m|d|c>_CUI.mp4` with a `@2.jpeg` placeholder each. Two cameras share it.
const cameraUi = join(storage, 'camera.ui', 'recordings');
for (const [name, every] of [
  ['Porch', 12],
  ['Back Yard', 20],
]) {
  for (let h = 3; h <= 24 * 12; h += every) {
    const base = `${name.replace(/ /g, '_')}-5e1d2c3b4a-${Math.floor((Date.now() - h * HOUR) / 1000)}_m_CUI`;
    writeAged(join(cameraUi, `${base}.mp4`), h, 120_000);
    writeAged(join(cameraUi, `${base}@2.jpeg`), h, 'placeholder');
  }
}
// Frigate: `recordings/<YYYY-MM-DD>/<HH>/<camera>/<MM>.<SS>.mp4` in UTC, cameras told apart by the third segment.
const frigate = join(recordings, 'frigate');
for (let h = 1; h <= 24 * 4; h += 3) {
  const start = new Date(Date.now() - h * HOUR);
  const hour = String(start.getUTCHours()).padStart(2, '0');
  const minute = `${String(start.getUTCMinutes()).padStart(2, '0')}.00`;
  writeAged(join(frigate, start.toISOString().slice(0, 10), hour, 'side_gate', `${minute}.mp4`), h, 100_000);
}

// A free-space floor well below what this disk has free, so the disk-pressure sensor stays off.
const { bavail, bsize } = statfsSync(recordings);
const freeGB = (bavail * bsize) / 1e9;
const minFreeGB = Math.max(0.001, Math.min(1, Math.floor((freeGB / 4) * 1000) / 1000));

const config = {
  bridge: { ...BRIDGE, port: bridgePort },
  accessories: [],
  platforms: [
    // homebridge-config-ui-x 5: `host` is the address it binds, `auth: "none"` logs everyone in as
    // the first admin user of auth.json (written below).
    { platform: 'config', name: 'Config', port: uiPort, host: '127.0.0.1', auth: 'none' },
    {
      platform: 'NvrRetention',
      name: 'NVR Retention',
      diskPressureSensor: 'contact',
      minFreeGB,
      cameras: [
        { name: 'Front Door', path: join(recordings, 'front-door'), retentionDays: 3, eventRetentionDays: 7 },
        { name: 'Driveway', path: join(recordings, 'driveway'), retentionDays: 30, storageQuotaGB: 0.002 },
        { name: 'Garden', path: join(recordings, 'garden'), retentionDays: 14 },
        // Recorder presets: camera.ui cameras share one folder, each with its own retention, from the name alone.
        { name: 'Porch', path: cameraUi, recorder: 'camera.ui', retentionDays: 5, eventRetentionDays: 5 },
        { name: 'Back Yard', path: cameraUi, recorder: 'camera.ui', retentionDays: 9, eventRetentionDays: 9 },
        { name: 'side_gate', path: frigate, recorder: 'frigate', retentionDays: 2 },
      ],
    },
  ],
};
writeFileSync(configFile, JSON.stringify(config, null, 2));

// Without an admin user the UI opens its first-user wizard instead; this one's password is random
// and never needed.
const salt = randomBytes(32).toString('hex');
const hashedPassword = pbkdf2Sync(randomBytes(16).toString('hex'), salt, 210_000, 64, 'sha512').toString('hex');
writeFileSync(
  join(storage, 'auth.json'),
  JSON.stringify(
    [{ id: 1, username: 'admin', name: 'Demo', hashedPassword, salt, passwordIterations: 210_000, sessionVersion: 0, admin: true }],
    null,
    2,
  ),
);

// Homebridge takes one -P folder. A folder of plugins (rather than -P <repo>) lets the UI list this
// plugin and show its settings; Homebridge finds homebridge-config-ui-x in the repo's node_modules
// by itself. The link is what `npm link` would make.
mkdirSync(plugins);
symlinkSync(repo, join(plugins, 'homebridge-nvr-retention'), 'junction');

// The installed command's file (bin.js, not main.js): it checks the Node version and drops Node 22's SQLite warning.
const cliFile = join(repo, 'dist', 'cli', 'bin.js');
const cliCommand = (...args) => `node ${cliFile} ${args.join(' ')} --config ${configFile}`;
const protect = spawnSync(process.execPath, [cliFile, 'protect', evidence, '--config', configFile], {
  encoding: 'utf8',
});
if (protect.status !== 0) {
  console.error(`Could not protect the demo clip:\n${protect.stdout}${protect.stderr}`);
  process.exit(1);
}

console.log(`
NVR Retention demo: Homebridge with this plugin and the Homebridge UI.

  Homebridge UI   http://127.0.0.1:${uiPort}  (no login; reachable from this machine only)
                  Plugins lists NVR Retention with its settings; Accessories shows the storage
                  sensor, its battery (free space) and the Protect switches
  Log             streamed below, and kept in ${logFile}
  Recordings      ${recordings}
                  3 cameras, continuous and motion clips from 1 hour to 20 days old;
                  ${evidence} is protected
  Recorders       ${cameraUi}: camera.ui's flat folder, "Porch" and "Back Yard"
                  (recorder "camera.ui"); ${frigate}: a Frigate camera "side_gate"
  Config          ${configFile} (free-space floor ${minFreeGB} GB; this disk has ${freeGB.toFixed(1)} GB free)
  Dry run         ${cliCommand('sweep', '--dry-run')}
  Status          ${cliCommand('status')}
  Home app        add the bridge "${BRIDGE.name}" with code ${BRIDGE.pin} (or its QR code in the UI)

A sweep runs right after start-up: look for "Sweep deleted" below. Ctrl-C stops Homebridge.
`);

// --stdout keeps hb-service's log on its standard output; it goes to the terminal and to the file
// that the UI's log viewer reads. Its own process group, so that Ctrl-C reaches only this script,
// which stops Homebridge first (hb-service alone would wait 7 s, restarting Homebridge meanwhile).
const args = [hbService, 'run', '-U', storage, '-P', plugins, '--stdout'];
if (process.getuid?.() === 0) {
  args.push('--allow-root');
}
// Homebridge and the UI ask `npm -g prefix` where global plugins are; logs-max=0 keeps npm from
// writing a debug log file for that into ~/.npm.
const env = { ...process.env, npm_config_logs_max: '0' };
const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
const log = createWriteStream(logFile, { flags: 'a' });

let homebridgePid;
let homebridgeRunning = false;
let stopping = false;

function killService() {
  try {
    if (process.platform === 'win32') {
      child.kill('SIGKILL');
    } else {
      process.kill(-child.pid, 'SIGKILL');
    }
  } catch {
    // already gone
  }
}

/** Follows hb-service's lines about Homebridge starting and ending. */
function watchLines(lines) {
  for (const raw of lines) {
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\u001b\[[0-9;]*m/g, '');
    const started = /Started Homebridge v\S+ with PID: (\d+)/.exec(line);
    if (started) {
      homebridgePid = Number(started[1]);
      homebridgeRunning = true;
    } else if (line.includes('Homebridge process ended')) {
      homebridgeRunning = false;
      // hb-service restarts Homebridge 5 s after it ends; once stopping, end hb-service first.
      if (stopping) {
        killService();
      }
    }
  }
}

for (const [stream, out] of [
  [child.stdout, process.stdout],
  [child.stderr, process.stderr],
]) {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    out.write(chunk);
    log.write(chunk);
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    watchLines(lines);
  });
}

function stop(signal) {
  if (stopping) {
    return;
  }
  stopping = true;
  console.log(`\n${signal}: stopping Homebridge...`);
  if (!homebridgeRunning) {
    killService();
    return;
  }
  try {
    process.kill(homebridgePid, 'SIGTERM');
  } catch {
    killService();
    return;
  }
  // Homebridge gives itself 5 s to shut down; this is only a last resort.
  setTimeout(killService, 10_000).unref();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => stop(signal));
}
// hb-service is in its own process group: should this script die some other way, take it along.
process.on('exit', () => {
  if (child.exitCode === null && child.signalCode === null) {
    killService();
  }
});

child.on('close', (code, signal) => {
  if (stopping) {
    console.log('Homebridge stopped. The demo files stay in .demo/ until the next `npm run demo`.');
  } else {
    console.error(`hb-service ended by itself (${signal ?? `exit code ${code}`}); see the log above.`);
  }
  log.end(() => process.exit(stopping ? 0 : 1));
});
