/**
 * A process of test/helpers/engine-child.js (a long-lived engine, as Homebridge runs one), driven
 * line by line: the safety tests act while it is mid-sweep, from other processes.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const CHILD = resolve('test/helpers/engine-child.js');

export class EngineChild {
  readonly process: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  stderr = '';

  /** `prefix` runs the child under another command, e.g. `unshare --pid --fork --mount-proc`. */
  constructor(configFile: string, storage: string, options: { gate?: string; prefix?: string[] } = {}) {
    const command = [...(options.prefix ?? []), process.execPath, CHILD, configFile, storage];
    this.process = spawn(command[0]!, command.slice(1), { env: { ...process.env, GATE: options.gate ?? '' } });
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      if (this.waiting) {
        const take = this.waiting;
        this.waiting = undefined;
        take(line);
      } else {
        this.lines.push(line);
      }
    });
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the child's JSON answers, checked field by field
  next(): Promise<Record<string, any>> {
    const line = this.lines.shift();
    if (line !== undefined) {
      return Promise.resolve(JSON.parse(line));
    }
    return new Promise((resolveLine, reject) => {
      const onExit = () => reject(new Error(`the engine child ended; stderr: ${this.stderr}`));
      this.process.once('exit', onExit);
      this.waiting = (text) => {
        this.process.off('exit', onExit);
        resolveLine(JSON.parse(text));
      };
    });
  }

  send(command: string): void {
    this.process.stdin.write(`${command}\n`);
  }

  async exit(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      return;
    }
    const ended = new Promise((done) => this.process.once('exit', done));
    this.send('exit');
    await ended;
  }

  /** SIGKILL, as the OOM killer or `docker kill` would. */
  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      return;
    }
    const ended = new Promise((done) => this.process.once('exit', done));
    this.process.kill('SIGKILL');
    await ended;
  }
}
