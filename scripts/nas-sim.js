// A simulated NAS (issue 15): a folder served over sshfs by an sshd of its own on a loopback port,
// every packet held DELAY ms each way by scripts/nas-relay.py, which ssh uses as its ProxyCommand
// (0.5 ms each way: a 1 ms round trip, like a NAS on a wired LAN). Used by scripts/bench.js and by
// the tests that sweep through sshfs; by hand:
//
//   node scripts/nas-sim.js EXPORT MOUNTPOINT [DELAY_MS]   # mounts until Ctrl-C
//
// It needs root (sshd, FUSE mounts, a root login by key) and says why when it cannot start:
// `nasUnavailable()` gives that reason, or undefined when a NAS can be started here.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELAY = fileURLToPath(new URL('nas-relay.py', import.meta.url));
const SSHD = '/usr/sbin/sshd';
/** How long sshd and a mount may take to come up. */
const START_MS = 10_000;

/** Why no simulated NAS can run here, or undefined when it can. */
export function nasUnavailable() {
  if (process.getuid?.() !== 0) {
    return 'needs root (sshd, a root login by key, FUSE mounts)';
  }
  for (const [what, path] of [
    ['sshd (Debian package openssh-server)', SSHD],
    ['sshfs (Debian package sshfs)', '/usr/bin/sshfs'],
    ['ssh-keygen', '/usr/bin/ssh-keygen'],
    ['python3 (the delaying relay)', '/usr/bin/python3'],
    ['/dev/fuse', '/dev/fuse'],
  ]) {
    if (!existsSync(path)) {
      return `${what} is missing`;
    }
  }
  return undefined;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function must(result, what) {
  if (result.status !== 0) {
    throw new Error(`${what} failed (${result.status ?? result.signal}): ${(result.stderr || '').toString().trim()}`);
  }
  return result;
}

/**
 * Starts an sshd that serves the machine's files to root by a key of its own, on a free loopback
 * port, and returns how to mount a folder through it. `stop()` unmounts whatever it mounted and
 * ends sshd; call it in a finally (the bench also calls it on Ctrl-C).
 */
/** @param {{ delayMs?: number, workDir?: string }} [options] */
export async function startNas({ delayMs = 0.5, workDir } = {}) {
  const reason = nasUnavailable();
  if (reason) {
    throw new Error(`simulated NAS: ${reason}`);
  }
  const home = workDir ?? mkdtempSync(join(os.tmpdir(), 'nas-sim-'));
  mkdirSync(home, { recursive: true });
  chmodSync(home, 0o700);
  const key = join(home, 'client_key');
  const hostKey = join(home, 'host_key');
  must(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]), 'ssh-keygen (client key)');
  must(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]), 'ssh-keygen (host key)');
  writeFileSync(join(home, 'authorized_keys'), readFileSync(`${key}.pub`));
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation folder, absent when no sshd ever ran
  const port = await freePort();
  const config = join(home, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(home, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(home, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let sshdLog = '';
  sshd.stderr.on('data', (chunk) => (sshdLog += chunk));
  const mounts = [];

  const sshOptions = [
    `-oPort=${port}`,
    `-oIdentityFile=${key}`,
    '-oIdentitiesOnly=yes',
    `-oUserKnownHostsFile=${join(home, 'known_hosts')}`,
    '-oStrictHostKeyChecking=no',
    '-oBatchMode=yes',
    `-oProxyCommand=/usr/bin/python3 ${RELAY} 127.0.0.1 ${port} ${delayMs}`,
  ];

  const nas = {
    port,
    delayMs,
    /**
     * Mounts `remote` (a folder of this machine, as the NAS's disk) at `mountPoint` through the delayed
     * link; `options` are more sshfs options (`['-o', 'dir_cache=no']`).
     */
    /** @param {string} remote @param {string} mountPoint @param {string[]} [options] @returns {Promise<string>} */
    async mount(remote, mountPoint, options = []) {
      mkdirSync(mountPoint, { recursive: true });
      const started = Date.now();
      for (;;) {
        const result = spawnSync('sshfs', [`root@127.0.0.1:${remote}`, mountPoint, ...sshOptions, ...options], { encoding: 'utf8' });
        if (result.status === 0) {
          mounts.push(mountPoint);
          return mountPoint;
        }
        if (Date.now() - started > START_MS || sshd.exitCode !== null) {
          throw new Error(`sshfs mount of ${remote} failed: ${result.stderr.trim()} ${sshdLog.trim()}`);
        }
        await sleep(100); // sshd may not be listening yet
      }
    },
    /** Unmounts one mount point (a fresh mount has cold caches, as a NAS an hour after the last sweep). */
    unmount(mountPoint) {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (spawnSync('fusermount3', ['-u', mountPoint]).status === 0) {
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // a process may still hold a file there
        if (attempt === 49) {
          spawnSync('fusermount3', ['-uz', mountPoint]);
        }
      }
      mounts.splice(mounts.indexOf(mountPoint) >>> 0, 1);
    },
    /** Unmounts everything it mounted and ends sshd. */
    stop() {
      for (const mountPoint of [...mounts].reverse()) {
        nas.unmount(mountPoint);
      }
      if (sshd.exitCode === null) {
        sshd.kill('SIGTERM');
      }
      if (!workDir) {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
  return nas;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [remote, mountPoint, delay] = process.argv.slice(2);
  if (!remote || !mountPoint) {
    process.stderr.write('usage: node scripts/nas-sim.js EXPORT MOUNTPOINT [DELAY_MS]\n');
    process.exit(2);
  }
  const nas = await startNas({ delayMs: delay === undefined ? 0.5 : Number(delay) });
  const stop = () => {
    nas.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await nas.mount(remote, mountPoint);
  process.stderr.write(
    `${remote} mounted at ${mountPoint} through a ${nas.delayMs} ms each-way link (sshd on port ${nas.port}); Ctrl-C unmounts\n`,
  );
  setInterval(() => {}, 1 << 30);
}
