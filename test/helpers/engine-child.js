/**
 * A long-lived engine in a process of its own, as Homebridge runs one, for the safety tests: it
 * opens the built engine (dist/) on the config file given as its argument (and the storage folder's
 * location file, as the platform does), says "ready", then obeys one command per line on stdin and
 * answers one JSON line each:
 *
 *   sweep [batchSize]   a sweep; with GATE set, it stops after its first batch until the GATE file exists
 *   protect PATH        a hold by hand on the recording at PATH
 *   switch NAME on|off  the camera's Protect switch, as HomeKit sets it
 *   exit
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../dist/cli/main.js';
import { RetentionEngine } from '../../dist/retention/engine.js';
import { locationFileIn } from '../../dist/store/recover.js';

const [configFile, storage] = process.argv.slice(2);
const gate = process.env.GATE;
const engine = new RetentionEngine(loadConfig({ config: configFile, storage }, process.cwd()), {
  locationFile: locationFileIn(storage),
  log: { info() {}, debug() {}, warn: (m) => process.stderr.write(`warn: ${m}\n`), error: (m) => process.stderr.write(`error: ${m}\n`) },
});
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
say({ ready: true, pid: process.pid });

const sleeper = new Int32Array(new SharedArrayBuffer(4));
for await (const line of createInterface({ input: process.stdin })) {
  const [command, ...args] = line.trim().split(' ');
  try {
    if (command === 'sweep') {
      let batches = 0;
      const report = await engine.sweep({
        trigger: 'child',
        batchSize: args[0] ? Number(args[0]) : undefined,
        onProgress: () => {
          if (gate && batches++ === 0) {
            say({ midSweep: true });
            while (!existsSync(gate)) {
              Atomics.wait(sleeper, 0, 0, 10);
            }
          }
        },
      });
      say({ status: report.status, deleted: report.deleted.count, events: report.events.map((e) => e.kind) });
    } else if (command === 'protect') {
      const { recording } = engine.resolveRecording(args.join(' '));
      say({ protected: engine.protect([recording.id], 'settings UI') });
    } else if (command === 'switch') {
      say({ changed: engine.setProtectSwitch(engine.cameraByName(args[0]), args[1] === 'on') });
    } else if (command === 'exit') {
      break;
    }
  } catch (error) {
    say({ error: error.message });
  }
}
engine.close();
// stdin stays open (the test's end of the pipe): without this the process would wait on it.
process.exit(0);
