/**
 * One sweep in a process of its own, for test/crash.test.ts to SIGKILL at a random moment. It runs
 * the built engine (dist/) against the platform block in the config file given as its argument,
 * the way the CLI does, and says "ready" once the index is open so the test can time its kill
 * from the start of the sweep itself.
 */
import { loadConfig } from '../../dist/cli/main.js';
import { RetentionEngine } from '../../dist/retention/engine.js';

const engine = new RetentionEngine(loadConfig({ config: process.argv[2] }, process.cwd()));
process.stdout.write('ready\n');
const report = await engine.sweep({ trigger: 'crash test' });
engine.close();
process.stdout.write(`${JSON.stringify({ status: report.status, deleted: report.deleted.count, failures: report.failures.length })}\n`);
