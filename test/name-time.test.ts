/**
 * End times read from names (cameras[].nameTime, rules §1): named groups, time zones across a DST
 * change, unix seconds, and names that give no real time (then the mtime is used).
 */
import { describe, expect, test } from '@jest/globals';
import { compileNameTime, nameTimeReader } from '../src/config/name-time.js';
import { PRESETS } from '../src/config/presets.js';

describe('nameTime', () => {
  const viofo = PRESETS.viofo.nameTime;

  test("the viofo preset reads viofosync's names, in the zone given", () => {
    const read = nameTimeReader(viofo, 'UTC');
    expect(read('2026-11-30/2026_1130_080300_000123F.MP4')).toBe(Date.UTC(2026, 10, 30, 8, 3, 0));
    expect(read('2026-11-30/renamed.MP4')).toBeUndefined();
  });

  test('a wall-clock time in a zone with summer time is read on both sides of the change', () => {
    const pattern = '(?<year>\\d{4})-(?<month>\\d\\d)-(?<day>\\d\\d)-(?<hour>\\d\\d)-(?<minute>\\d\\d)-(?<second>\\d\\d)';
    const read = nameTimeReader(pattern, 'Europe/Berlin');
    expect(read('2026-07-01-12-00-00.mp4')).toBe(Date.UTC(2026, 6, 1, 10, 0, 0));
    expect(read('2026-12-01-12-00-00.mp4')).toBe(Date.UTC(2026, 11, 1, 11, 0, 0));
  });

  test('unix seconds, and a two-digit year', () => {
    expect(nameTimeReader('-(?<unix>\\d{10})_', undefined)('Front-1a-1796000000_m_CUI.mp4')).toBe(1_796_000_000_000);
    expect(nameTimeReader('(?<year>\\d\\d)(?<month>\\d\\d)(?<day>\\d\\d)', 'UTC')('261130.mp4')).toBe(Date.UTC(2026, 10, 30));
  });

  test('a name that gives no real time reads as none', () => {
    const read = nameTimeReader('(?<year>\\d{4})(?<month>\\d\\d)(?<day>\\d\\d)', 'UTC');
    expect(read('20261340.mp4')).toBeUndefined();
    expect(read('00001231.mp4')).toBeUndefined();
  });

  test('a pattern that does not compile, or names no time, says why', () => {
    expect(compileNameTime('(').problem).toMatch(/^is not a regular expression that compiles/);
    expect(compileNameTime('(?<hour>\\d\\d)').problem).toMatch(/^must have a named group "unix"/);
    expect(compileNameTime(viofo).problem).toBeUndefined();
  });
});
