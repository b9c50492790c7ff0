/**
 * The units of the config and of every figure derived from it (rules §2): sizes in decimal GB,
 * ages in days (decimals allowed), times in milliseconds since the epoch.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** 1 GB = 1,000,000,000 bytes, as disks are sold and as `df -H` shows them. */
export const GB = 1_000_000_000;

/** A size of the config in bytes; an option that is not set stays unset. */
export function bytesOfGB(gigabytes: number): number;
export function bytesOfGB(gigabytes: number | undefined): number | undefined;
export function bytesOfGB(gigabytes: number | undefined): number | undefined {
  return gigabytes === undefined ? undefined : gigabytes * GB;
}
