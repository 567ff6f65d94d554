/** The benchmark's arithmetic and layout (no socket, no clock: nothing here measures anything). */
import { describe, expect, it } from 'vitest';
import {
  formatRatio,
  formatTable,
  pairedRatios,
  planRounds,
  problemsOf,
  ratio,
  summarizeRounds,
  type RoundFigures,
} from './report';

const figures = (over: Partial<RoundFigures> = {}): RoundFigures => ({
  requests: 1000,
  seconds: 2,
  bytes: 50_000,
  errors: 0,
  timeouts: 0,
  statusCodes: { '200': 1000 },
  ...over,
});

describe('planRounds', () => {
  it('cuts the default ten seconds into five whole-second rounds that alternate direction', () => {
    // Act
    const plan = planRounds(10, 3);

    // Assess
    expect(plan).toMatchObject({ rounds: 5, roundSeconds: 2, warmupSeconds: 2 });
    expect(plan.order).toEqual([[0, 1, 2], [2, 1, 0], [0, 1, 2], [2, 1, 0], [0, 1, 2]]);
  });

  it('runs one round of the whole time when there is too little of it to split', () => {
    expect(planRounds(3, 2)).toMatchObject({ rounds: 1, roundSeconds: 3, warmupSeconds: 1, order: [[0, 1]] });
  });

  it('keeps at most five rounds and gives every target the same time', () => {
    const plan = planRounds(60, 5);

    expect(plan.rounds).toBe(5);
    expect(plan.roundSeconds).toBe(12);
    expect(plan.order.every((o) => [...o].sort().join() === '0,1,2,3,4')).toBe(true);
  });

  it('refuses less than a second', () => {
    expect(() => planRounds(0.5, 2)).toThrow(/at least 1/);
  });
});

describe('summarizeRounds', () => {
  it('divides total requests by total time, not the mean of the rounds', () => {
    // Prepare: a long slow round and a short fast one
    const rounds = [figures({ requests: 1000, seconds: 4, bytes: 10_000 }), figures({ requests: 1000, seconds: 1, bytes: 10_000 })];

    // Act
    const summary = summarizeRounds(rounds);

    // Assess: 2000 / 5 s, where the mean of the rounds would say 625
    expect(summary.reqPerSec).toBe(400);
    expect(summary.roundReqPerSec).toEqual([250, 1000]);
    expect(summary.bytesPerResponse).toBe(10);
  });

  it('adds up the status codes, errors and timeouts of every round', () => {
    const summary = summarizeRounds([
      figures({ statusCodes: { '200': 5, '401': 1 }, errors: 1 }),
      figures({ statusCodes: { '200': 7 }, timeouts: 2 }),
    ]);

    expect(summary.statusCodes).toEqual({ '200': 12, '401': 1 });
    expect(summary.errors).toBe(1);
    expect(summary.timeouts).toBe(2);
  });
});

describe('problemsOf', () => {
  it('accepts a target that only ever answered the expected status', () => {
    expect(problemsOf(summarizeRounds([figures()]), 200)).toEqual([]);
  });

  it('names every answer with another status, every socket error and every timeout', () => {
    const summary = summarizeRounds([figures({ statusCodes: { '200': 9, '401': 3 }, errors: 2, timeouts: 1 })]);

    expect(problemsOf(summary, 200)).toEqual(['3 answer(s) with status 401', '2 socket error(s)', '1 timeout(s)']);
  });

  it('refuses a target where nothing completed', () => {
    expect(problemsOf(summarizeRounds([figures({ requests: 0, statusCodes: {} })]), 200)).toEqual(['no request completed']);
  });
});

describe('ratios', () => {
  it('pairs each round with the reference round run beside it', () => {
    expect(pairedRatios([50, 60, 40], [100, 120, 80])).toEqual([0.5, 0.5, 0.5]);
  });

  it('skips a round whose reference measured nothing, and has no ratio to a zero reference', () => {
    expect(pairedRatios([50, 60], [0, 120])).toEqual([0.5]);
    expect(ratio(10, 0)).toBeNull();
  });

  it('shows the spread of the rounds only when they disagree', () => {
    expect(formatRatio(0.5, [0.5, 0.501])).toBe('0.50');
    expect(formatRatio(0.42, [0.4, 0.45, 0.43])).toBe('0.42 (0.40-0.45)');
    expect(formatRatio(null)).toBe('n/a');
  });
});

describe('formatTable', () => {
  it('aligns names left and numbers right under a rule as wide as each column', () => {
    const table = formatTable(['target', 'req/s'], [['a GET /x', '1,234'], ['b', '5']]);

    expect(table.split('\n')).toEqual(['target    req/s', '--------  -----', 'a GET /x  1,234', 'b             5']);
  });
});
