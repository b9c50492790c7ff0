/**
 * The holds journal (rules §10) under the faults of issue 11, items 14 to 16: a full disk under it
 * (a tiny tmpfs), processes that compact and append at once (real CLI processes started together),
 * and damaged lines. Every check is what a user would see: exit codes, messages, recordings kept.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HoldsJournal } from '../src/store/journal.js';
import { isRoot, safetySandbox, type SafetySandbox } from './helpers/safety.js';

const rootTest = isRoot ? test : test.skip;
const CLI = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin['nvr-retention']);

let box: SafetySandbox;

beforeEach(() => {
  box = safetySandbox('nvr-safety-journal');
});

afterEach(() => box.remove());

/** The camera-relative paths the journal holds, as a rebuilt index would take them. */
function journalHolds(): string[] {
  return new HoldsJournal(box.journal)
    .read()
    .holds.filter((hold) => hold.protectedBy !== null)
    .map((hold) => hold.relPath)
    .sort();
}

function protectedPaths(configFile: string): string[] {
  const listed = box.cli(configFile, 'list', '--protected', '--limit', '100000', '--json');
  expect(listed.code).toBe(0);
  return (JSON.parse(listed.stdout) as { recordings: { path: string }[] }).recordings.map((r) => r.path).sort();
}

describe('a full disk under the journal (rules §10)', () => {
  rootTest('protect of 300 files fails with a clear message, and neither the journal nor the index changes', () => {
    const files = box.oldFiles(300);
    const file = box.config('config.json');
    expect(box.cli(file, 'scan').code).toBe(0);
    // The journal on a tiny disk of its own (bound over its path); the index keeps room, as when Homebridge holds it open.
    const small = join(box.root, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
    copyFileSync(box.journal, join(small, 'journal'));
    execFileSync('mount', ['--bind', join(small, 'journal'), box.journal]);
    const before = readFileSync(box.journal);
    const filler = join(small, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096'], { stdio: 'pipe' });
    } catch {
      // dd stops at "No space left on device": the disk is full.
    }
    // One page left: the protect line (about 6 kB for 300 paths) is written only in part.
    truncateSync(filler, statSync(filler).size - 4096);

    const protect = box.cli(file, 'protect', ...files);
    expect(protect.code).toBe(1);
    expect(protect.stderr).toMatch(/the holds journal .* could not be written \(.*ENOSPC.*\), so nothing was changed/);
    expect(protect.stdout).not.toMatch(/Protected/);
    expect(readFileSync(box.journal)).toEqual(before);
    expect(protectedPaths(file)).toEqual([]);

    execFileSync('umount', [box.journal]);
    execFileSync('umount', [small]);
  });
});

describe('compaction racing other processes (rules §10)', () => {
  test('status, protect, status and list started at once on a journal past its compaction size: none fails, no hold is lost', async () => {
    const files = box.oldFiles(40);
    const file = box.config('config.json');
    expect(box.cli(file, 'scan').code).toBe(0);
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(process.execPath, [CLI, ...args, '--config', file, '--storage', box.storage], { encoding: 'utf8' }).then(
        (result) => ({ code: 0, stderr: result.stderr }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const acknowledged: string[] = [];
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      // Lines that change nothing but count: the next process to open the index compacts the journal,
      // and enough of them that compacting takes long enough for the others to start meanwhile.
      const filler = JSON.stringify({ op: 'keep', camera: 'Front', folder: box.front, paths: ['none.mp4'], until: null });
      appendFileSync(box.journal, `${filler}\n`.repeat(40_000));
      const target = files[round]!;
      const results = await Promise.all([cli('status'), cli('protect', target), cli('status'), cli('list')]);
      for (const result of results) {
        expect(result).toEqual({ code: 0, stderr: expect.not.stringMatching(/ENOENT|Failed/) });
      }
      acknowledged.push(target.slice(box.front.length + 1));
      expect(journalHolds()).toEqual(acknowledged.slice().sort());
    }
    console.log(`rounds of 4 processes started at once on a journal due for compaction: ${rounds}, all succeeded, no hold lost`);
    expect(readFileSync(box.journal, 'utf8').split('\n').length).toBeLessThan(1000);
    expect(protectedPaths(file)).toEqual(acknowledged.map((relPath) => join(box.front, relPath)).sort());
  });
});

describe('a damaged journal (rules §10)', () => {
  test('a corrupted middle line and a torn last line are warned about by line number and repaired from the index', () => {
    const files = box.oldFiles(6);
    const file = box.config('config.json');
    for (const target of files.slice(0, 3)) {
      expect(box.cli(file, 'protect', target).code).toBe(0);
    }
    const lines = readFileSync(box.journal, 'utf8').split('\n');
    const middle = lines.findIndex((line) => line.includes('r000001.mp4'));
    expect(middle).toBeGreaterThan(0);
    lines[middle] = lines[middle]!.replace('"op":"protect"', '"op":"pr\u0000\u0001ct"').slice(0, -3);
    writeFileSync(box.journal, lines.join('\n'));
    appendFileSync(box.journal, '{"op":"protect","camera":"Front","folder":"/x","paths":["b.m');
    const lineCount = readFileSync(box.journal, 'utf8').split('\n').length;

    const status = box.cli(file, 'status');
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(
      new RegExp(`holds journal had 2 unreadable lines \\(line ${middle + 1}, ${lineCount}\\); it was rewritten from the index's holds`),
    );
    expect(new HoldsJournal(box.journal).read().damagedLines).toEqual([]);
    expect(journalHolds()).toEqual(['d000/r000000.mp4', 'd000/r000001.mp4', 'd000/r000002.mp4']);

    // The index lost: the holds come back from the repaired journal, and the sweep keeps them.
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${box.index}${suffix}`, { force: true });
    }
    expect(box.cli(file, 'sweep').code).toBe(0);
    expect(files.map(existsSync)).toEqual([true, true, true, false, false, false]);
  });
});
