/**
 * Time as a dependency: core logic takes a Clock in its deps so tests can run a 25-second wait in microseconds
 * and assert exact timestamps.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export function isoTime(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
