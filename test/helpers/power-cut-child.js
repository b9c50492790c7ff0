/**
 * One sweep in a process of its own, for test/safety-power.test.ts: in the middle of batch N, the
 * image of the disk that holds the index is copied (what a power cut at that moment leaves on it),
 * and the process dies at once (SIGKILL), as everything does in a power cut. Arguments: the config
 * file, N, the image, where to copy it. Runs the built engine (dist/), as the CLI does.
 */
import { copyFileSync } from 'node:fs';
import { loadConfig } from '../../dist/cli/main.js';
import { RetentionEngine } from '../../dist/retention/engine.js';

const [configPath, cutInBatch, image, snapshot] = process.argv.slice(2);
const engine = new RetentionEngine(loadConfig({ config: configPath }, process.cwd()));
let batch = 0;
let call = 0;
await engine.sweep({
  batchSize: 500,
  onProgress: () => {
    batch++;
    call = 0;
  },
  shouldStop: () => {
    if (batch === Number(cutInBatch) && ++call === 250) {
      copyFileSync(image, snapshot);
      process.kill(process.pid, 'SIGKILL');
    }
    return false;
  },
});
process.stdout.write('the sweep ended before the cut\n');
