/**
 * Node 22 prints "ExperimentalWarning: SQLite is an experimental feature and might change at any
 * time" whenever `node:sqlite` is loaded: in the Homebridge log at every start, in the settings
 * screen's server, in the engine's worker thread and at every run of the command. Node 24 no longer
 * says it. This drops that one warning and lets every other one through. Node emits it while it
 * links the importing module, before any of that module graph runs, so each entry calls this and
 * only then imports, dynamically, what needs `node:sqlite`. Each thread has its own `process`.
 */
const SQLITE_WARNING = 'SQLite is an experimental feature';

let installed = false;

export function silenceSqliteWarning(): void {
  if (installed) {
    return;
  }
  installed = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const message = typeof warning === 'string' ? warning : warning?.message;
    const type = typeof rest[0] === 'string' ? rest[0] : ((rest[0] as { type?: string } | undefined)?.type ?? (warning as Error)?.name);
    if (type === 'ExperimentalWarning' && typeof message === 'string' && message.startsWith(SQLITE_WARNING)) {
      return;
    }
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}
