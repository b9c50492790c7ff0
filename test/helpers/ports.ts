/** A TCP port free on 127.0.0.1 right now, for a Homebridge or Homebridge UI started by a test (shared with scripts/). */
export { freePort } from '../../scripts/lib/homebridge-process.js';
