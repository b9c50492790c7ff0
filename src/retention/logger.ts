/**
 * Where the engine's log lines go. Homebridge's logger, the CLI's stdout/stderr and the worker's
 * message channel all have this shape, so the engine never needs to know which one it talks to.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** A line at the logger level that matches an event's severity. */
export function logAtSeverity(log: Logger, severity: 'info' | 'warning' | 'error', line: string): void {
  if (severity === 'error') {
    log.error(line);
  } else if (severity === 'warning') {
    log.warn(line);
  } else {
    log.info(line);
  }
}
