/**
 * A Homebridge stand-in process for test/config-fuzz.test.ts: Homebridge's own HomebridgeAPI (and
 * through it PlatformAccessory and HAP) hosting the built plugin, one platform start per message.
 * It is a process of its own because Jest cannot load Homebridge's plugin manager
 * (require.resolve.paths('') at import), and a real process is what Homebridge runs anyway.
 * Every start is taken through didFinishLaunching and shutdown; the reply carries the plugin's log
 * lines and anything that escaped it (an exception from the constructor, an unhandled rejection).
 */
const [storagePath] = process.argv.slice(2);
const { User } = await import('../../node_modules/homebridge/dist/user.js');
User.setStoragePath(storagePath);
const { HomebridgeAPI } = await import('../../node_modules/homebridge/dist/api.js');
const { NvrRetentionPlatform } = await import('../../dist/platform.js');

/** The platform's last word on launching: running, or standing down for one of these reasons. */
const OUTCOMES = [
  /^Watching \d+ camera folder/,
  /^Retention is off until the config is fixed/,
  /^No usable cameras in the config/,
  /^Retention stands down/,
];

const escaped = [];
const describe = (error) => String(error?.stack ?? error);
process.on('unhandledRejection', (error) => escaped.push(describe(error)));
process.on('uncaughtException', (error) => escaped.push(describe(error)));

async function until(done, what) {
  for (let polls = 0; !done(); polls++) {
    if (polls > 3000) {
      throw new Error(`gave up waiting: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function capturingLog(lines) {
  const push = (level) => (message) => lines.push({ level, message: String(message) });
  return Object.assign(push('info'), {
    prefix: 'NvrRetention',
    info: push('info'),
    success: push('info'),
    warn: push('warn'),
    error: push('error'),
    debug: () => {},
    log: (level, message) => push(level)(message),
  });
}

async function start(raw) {
  const lines = [];
  let thrown;
  try {
    const api = new HomebridgeAPI();
    const platform = new NvrRetentionPlatform(capturingLog(lines), raw, api);
    api.signalFinished();
    await until(() => lines.some((line) => OUTCOMES.some((outcome) => outcome.test(line.message))), 'the platform to finish launching');
    api.signalShutdown();
    // The engine's worker thread must be gone before the next start opens the same index.
    await until(() => platform.engine === undefined || platform.engine.exited, 'the engine to stop');
  } catch (error) {
    thrown = describe(error);
  }
  return { lines, thrown, escaped: escaped.splice(0) };
}

process.on('message', (raw) => {
  void start(raw).then((reply) => process.send(reply));
});
process.send({ ready: true });
