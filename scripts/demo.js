// npm run demo: builds a demo recordings tree under .demo/ and shows what retention would do to it,
// through the real CLI. Nothing outside .demo/ is touched.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve('.demo');
const recordings = join(root, 'recordings');
const storage = join(root, 'storage');
const HOUR = 3_600_000;

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

const config = {
  bridge: { name: 'Demo' },
  platforms: [{
    platform: 'NvrRetention',
    name: 'NVR Retention',
    cameras: [
      { name: 'Front Door', path: join(recordings, 'front-door'), retentionDays: 3, eventRetentionDays: 7 },
      { name: 'Driveway', path: join(recordings, 'driveway'), retentionDays: 30, storageQuotaGB: 0.002 },
      { name: 'Garden', path: join(recordings, 'garden'), retentionDays: 14 },
    ],
  }],
};
const configFile = join(storage, 'config.json');
writeFileSync(configFile, JSON.stringify(config, null, 2));

function cli(...args) {
  console.log(`\n$ nvr-retention ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['dist/cli/main.js', ...args, '--config', configFile], { stdio: 'inherit' });
  return result.status;
}

cli('protect', evidence);
cli('status');
cli('sweep', '--dry-run');
console.log(`
The demo tree is in ${recordings}, its config in ${configFile}.
Nothing was deleted. To run the real sweep:
  node dist/cli/main.js sweep --config ${configFile}`);
