/**
 * A Homebridge storage folder with a config.json whose NvrRetention block points at a generated
 * recordings tree: what the settings UI's server reads when the Homebridge UI forks it.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { DAY_MS, HOUR_MS, makeSandbox, type Sandbox, writeRecording } from './tree.js';

export interface UiFixture {
  sandbox: Sandbox;
  configPath: string;
  exportPath: string;
  front: string;
  back: string;
  /** Every recording written, by camera-relative path with its camera. */
  files: { camera: 'Front Door' | 'Back Yard'; relPath: string; absolute: string; size: number; ageMs: number; event: boolean }[];
  platform: Record<string, unknown>;
  /** Rewrites config.json with the given platform fields changed. */
  save(change?: Record<string, unknown>): void;
}

export function makeUiFixture(prefix: string, extraPlatforms: unknown[] = [], bridge: Record<string, unknown> = {}): UiFixture {
  const sandbox = makeSandbox(prefix);
  const front = join(sandbox.root, 'front-door');
  const back = join(sandbox.root, 'back-yard');
  const files: UiFixture['files'] = [];
  const add = (camera: UiFixture['files'][number]['camera'], relPath: string, ageMs: number, size: number, event = false) => {
    const folder = camera === 'Front Door' ? front : back;
    const absolute = writeRecording(folder, relPath, { ageMs, size, sidecars: event ? { json: { trigger: 'motion' } } : {} });
    files.push({ camera, relPath, absolute, size: size + (event ? JSON.stringify({ trigger: 'motion' }).length : 0), ageMs, event });
  };
  // Front door: continuous segments every 6 hours for 6 days (retention 3 days), motion clips daily.
  for (let h = 1; h <= 144; h += 6) {
    add('Front Door', `continuous/seg-${String(h).padStart(3, '0')}h.mp4`, h * HOUR_MS, 20_000);
  }
  for (let d = 0; d < 6; d++) {
    add('Front Door', `events/motion-${d}d.mp4`, d * DAY_MS + 2 * HOUR_MS, 8_000, true);
  }
  // Back yard: 20 segments of 3 days against a 0.0002 GB (200 kB) quota.
  for (let h = 2; h <= 78; h += 4) {
    add('Back Yard', `seg-${String(h).padStart(2, '0')}h.mkv`, h * HOUR_MS, 15_000);
  }
  const exportPath = join(sandbox.storage, 'exports');
  const configPath = join(sandbox.storage, 'config.json');
  const platform: Record<string, unknown> = {
    platform: 'NvrRetention',
    name: 'NVR Retention',
    exportPath,
    sweepOnStartup: false,
    cameras: [
      { name: 'Front Door', path: front, retentionDays: 3, eventRetentionDays: 5 },
      { name: 'Back Yard', path: back, retentionDays: 30, storageQuotaGB: 0.0002 },
    ],
  };
  const fixture: UiFixture = {
    sandbox,
    configPath,
    exportPath,
    front,
    back,
    files,
    platform,
    save(change = {}) {
      Object.assign(platform, change);
      const config = {
        bridge: { name: 'NVR UI Test', username: '0E:AA:BB:CC:DD:01', port: 51999, pin: '031-45-154', ...bridge },
        accessories: [],
        platforms: [...extraPlatforms, platform],
      };
      fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    },
  };
  fixture.save();
  return fixture;
}
