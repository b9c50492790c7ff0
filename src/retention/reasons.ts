/**
 * Why a recording is deleted: the four retention phases (rules §3.2–3.5), in the order a sweep
 * runs them. No imports: the settings page loads this file as it is (see scripts/ui-shared.js).
 */
export type Reason = 'age' | 'quota' | 'cap' | 'floor';

export const REASONS: Reason[] = ['age', 'quota', 'cap', 'floor'];
