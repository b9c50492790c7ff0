/** One problem in the platform config, worded for a Homebridge user. */
export interface ConfigIssue {
  /** Field path such as `cameras[1].retentionDays` or `minFreeGB`; "" for the platform block itself. */
  path: string;
  message: string;
}

/** The block itself has no field name, so the log line still says what the message is about. */
const BLOCK_LABEL = 'NvrRetention platform config';

export function formatIssue(i: ConfigIssue): string {
  return `${i.path === '' ? BLOCK_LABEL : i.path}: ${i.message}`;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** `['cameras', 1, 'retentionDays']` → `cameras[1].retentionDays`, the way users see fields in config.json. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((out, segment) => {
    if (typeof segment === 'number') {
      return `${out}[${segment}]`;
    }
    return out === '' ? String(segment) : `${out}.${String(segment)}`;
  }, '');
}
