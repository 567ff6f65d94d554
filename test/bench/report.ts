/**
 * The arithmetic and the layout of the benchmark report, kept apart from the measuring so it can be checked
 * without a socket or a clock (report.test.ts). Figures are only ever compared as ratios of targets measured side
 * by side in one run: absolute numbers depend on the machine, ratios much less.
 */

export interface BenchSettings {
  /** Measured seconds per HTTP target (the sum of its rounds). */
  readonly seconds: number;
  readonly connections: number;
}

export interface RoundPlan {
  readonly rounds: number;
  /** Whole seconds: autocannon ends a run on its one-second tick. */
  readonly roundSeconds: number;
  readonly warmupSeconds: number;
  /** Target indexes in the order they run, one list per round. */
  readonly order: readonly (readonly number[])[];
}

/**
 * Cuts each target's time into rounds of about two seconds (at most five), alternating the order of the targets
 * from round to round (forward, backward, ...), so a drift of the machine during the run (another process, a
 * thermal limit, the heap growing) lands on every target alike instead of on the one that happened to run last.
 */
export function planRounds(seconds: number, targets: number): RoundPlan {
  if (!Number.isFinite(seconds) || seconds < 1) throw new Error(`seconds must be at least 1, not ${seconds}`);
  if (!Number.isInteger(targets) || targets < 1) throw new Error(`targets must be a positive integer, not ${targets}`);
  const rounds = Math.min(5, Math.max(1, Math.floor(seconds / 2)));
  const roundSeconds = Math.max(1, Math.round(seconds / rounds));
  const forward = Array.from({ length: targets }, (_, i) => i);
  const backward = [...forward].reverse();
  return {
    rounds,
    roundSeconds,
    warmupSeconds: seconds >= 5 ? 2 : 1,
    order: Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? forward : backward)),
  };
}

/** One round of one target, reduced to what the report needs. */
export interface RoundFigures {
  readonly requests: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export interface TargetSummary {
  readonly requests: number;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly bytesPerResponse: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
  /** Requests per second of each round, in round order. */
  readonly roundReqPerSec: number[];
}

export function summarizeRounds(rounds: readonly RoundFigures[]): TargetSummary {
  if (rounds.length === 0) throw new Error('no rounds to summarize');
  const statusCodes: Record<string, number> = {};
  let requests = 0;
  let seconds = 0;
  let bytes = 0;
  let errors = 0;
  let timeouts = 0;
  for (const round of rounds) {
    requests += round.requests;
    seconds += round.seconds;
    bytes += round.bytes;
    errors += round.errors;
    timeouts += round.timeouts;
    for (const [code, count] of Object.entries(round.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    requests,
    seconds,
    // Total over total: a short round weighs less than a long one, as it should.
    reqPerSec: seconds > 0 ? requests / seconds : 0,
    bytesPerResponse: requests > 0 ? bytes / requests : 0,
    errors,
    timeouts,
    statusCodes,
    roundReqPerSec: rounds.map((r) => (r.seconds > 0 ? r.requests / r.seconds : 0)),
  };
}

/**
 * Why a target's figures cannot be used, if they cannot: anything but the expected status (autocannon keeps the
 * latency of 2xx answers only, and a fast 401 would flatter the route), a socket error or a timeout.
 */
export function problemsOf(summary: TargetSummary, expectedStatus: number): string[] {
  const problems: string[] = [];
  if (summary.requests === 0) problems.push('no request completed');
  for (const [code, count] of Object.entries(summary.statusCodes)) {
    if (Number(code) !== expectedStatus) problems.push(`${count} answer(s) with status ${code}`);
  }
  if (summary.errors > 0) problems.push(`${summary.errors} socket error(s)`);
  if (summary.timeouts > 0) problems.push(`${summary.timeouts} timeout(s)`);
  return problems;
}

/**
 * `value / reference` for every round where both ran: paired within a round, so the spread of these ratios shows
 * how steady the comparison was, apart from how steady the machine was.
 */
export function pairedRatios(values: readonly number[], reference: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(values.length, reference.length); i++) {
    const v = values[i] as number;
    const r = reference[i] as number;
    if (r > 0) ratios.push(v / r);
  }
  return ratios;
}

export function ratio(value: number, reference: number): number | null {
  return reference > 0 ? value / reference : null;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A plain-text table: the first column left-aligned, the others right-aligned (they hold numbers). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `0.42` or `0.42 (0.40-0.45)` when the rounds disagree at two decimals. */
export function formatRatio(value: number | null, spread: readonly number[] = []): string {
  if (value === null) return 'n/a';
  const main = value.toFixed(2);
  if (spread.length < 2) return main;
  const lo = Math.min(...spread).toFixed(2);
  const hi = Math.max(...spread).toFixed(2);
  return lo === hi ? main : `${main} (${lo}-${hi})`;
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
