/** The aggregation behind `npm run test:security`: vitest's JSON report in, cases per category out. */
import { describe, expect, it } from 'vitest';
import {
  UNCATEGORIZED,
  type VitestJsonReport,
  aggregate,
  categoryOf,
  formatTable,
  parseArgs,
} from '../security/report';

type FileResult = VitestJsonReport['testResults'][number];
type Case = FileResult['assertionResults'][number];

function testCase(ancestorTitles: string[], title: string, status: string): Case {
  return { ancestorTitles, title, status, fullName: [...ancestorTitles, title].join(' '), failureMessages: [] };
}

function file(name: string, cases: Case[], status = cases.some((c) => c.status === 'failed') ? 'failed' : 'passed', message = ''): FileResult {
  return { name: `/repo/test/security/${name}`, status, message, assertionResults: cases };
}

describe('categoryOf', () => {
  it('takes the name from the top-level category block only', () => {
    expect(categoryOf(['category: token-attacks', 'at the gateway'])).toBe('token-attacks');
    expect(categoryOf(['at the gateway', 'category: token-attacks'])).toBe(UNCATEGORIZED);
    expect(categoryOf([])).toBe(UNCATEGORIZED);
    expect(categoryOf(['category:'])).toBe(UNCATEGORIZED);
  });
});

describe('aggregate', () => {
  it('counts every case that ran under its category, nested blocks and generated cases included', () => {
    // Prepare
    const json: VitestJsonReport = {
      testResults: [
        file('token-attacks.test.ts', [
          testCase(['category: token-attacks'], 'refuses alg none', 'passed'),
          testCase(['category: token-attacks', 'at the resolver'], 'refuses token_use id', 'passed'),
          testCase(['category: token-attacks', 'at the resolver'], 'refuses token_use refresh', 'failed'),
        ]),
        file('authorization.test.ts', [
          testCase(['category: authorization', 'GET /notes/{id}'], 'answers 404 to a user token', 'passed'),
          testCase(['category: authorization', 'DELETE /notes/{id}'], 'answers 404 to a user token', 'passed'),
        ]),
      ],
    };

    // Act
    const { report, failures } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([
      { name: 'token-attacks', tried: 3, passed: 2 },
      { name: 'authorization', tried: 2, passed: 2 },
    ]);
    expect(failures).toEqual(['token-attacks: category: token-attacks at the resolver refuses token_use refresh']);
  });

  it('does not count skipped or todo cases as tried', () => {
    // Prepare
    const json: VitestJsonReport = {
      testResults: [
        file('races.test.ts', [
          testCase(['category: races'], 'serializes resets', 'passed'),
          testCase(['category: races'], 'a skipped case', 'skipped'),
          testCase(['category: races'], 'a todo case', 'todo'),
        ]),
      ],
    };

    // Act
    const { report, failures } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([{ name: 'races', tried: 1, passed: 1 }]);
    expect(failures).toEqual([]);
  });

  it('reports a suite whose hook failed as a failure of its category, though no case ran', () => {
    // Prepare: vitest marks the cases skipped and the file failed when a beforeAll throws.
    const json: VitestJsonReport = {
      testResults: [
        file('faults.test.ts', [testCase(['category: faults'], 'compensates', 'skipped')], 'failed'),
      ],
    };

    // Act
    const { report, failures } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([{ name: 'faults', tried: 0, passed: 0 }]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^faults: faults\.test\.ts: /);
  });

  it('names a suite that failed to load after its file, with the first line of the error', () => {
    // Prepare
    const json: VitestJsonReport = {
      testResults: [file('fuzzing.test.ts', [], 'failed', "Cannot find module './nope'\n    at stack")],
    };

    // Act
    const { report, failures } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([{ name: 'fuzzing', tried: 0, passed: 0 }]);
    expect(failures).toEqual(["fuzzing: fuzzing.test.ts: Cannot find module './nope'"]);
  });

  it('counts cases outside any category block as uncategorized rather than dropping them', () => {
    // Prepare
    const json: VitestJsonReport = {
      testResults: [file('leak-scan.test.ts', [testCase([], 'a stray case', 'passed'), testCase(['category: leak-scan'], 'finds nothing', 'passed')])],
    };

    // Act
    const { report } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([
      { name: 'leak-scan', tried: 1, passed: 1 },
      { name: UNCATEGORIZED, tried: 1, passed: 1 },
    ]);
  });

  it('orders categories as the issue lists them, others after in alphabetical order', () => {
    // Prepare
    const names = ['zeta', 'fuzzing', 'leak-scan', 'alpha', 'faults', 'races', 'authorization', 'token-attacks'];
    const json: VitestJsonReport = {
      testResults: names.map((n) => file(`${n}.test.ts`, [testCase([`category: ${n}`], 'case', 'passed')])),
    };

    // Act
    const { report } = aggregate(json);

    // Assess
    expect(report.categories.map((c) => c.name)).toEqual([
      'token-attacks', 'authorization', 'races', 'faults', 'leak-scan', 'fuzzing', 'alpha', 'zeta',
    ]);
  });

  it('merges one category spread over several files', () => {
    // Prepare
    const json: VitestJsonReport = {
      testResults: [
        file('a.test.ts', [testCase(['category: races'], 'one', 'passed')]),
        file('b.test.ts', [testCase(['category: races'], 'two', 'failed')]),
      ],
    };

    // Act
    const { report } = aggregate(json);

    // Assess
    expect(report.categories).toEqual([{ name: 'races', tried: 2, passed: 1 }]);
  });
});

describe('formatTable', () => {
  it('prints one aligned row per category and a total', () => {
    // Act
    const table = formatTable({
      categories: [
        { name: 'token-attacks', tried: 120, passed: 120 },
        { name: 'races', tried: 7, passed: 6 },
      ],
    });

    // Assess
    expect(table.split('\n')).toEqual([
      'category       tried  passed',
      '-------------  -----  ------',
      'token-attacks    120     120',
      'races              7       6',
      '-------------  -----  ------',
      'total            127     126',
    ]);
  });
});

describe('parseArgs', () => {
  it('reads --out in both spellings', () => {
    expect(parseArgs([])).toEqual({});
    expect(parseArgs(['--out', 'report.json'])).toEqual({ out: 'report.json' });
    expect(parseArgs(['--out=dir/report.json'])).toEqual({ out: 'dir/report.json' });
  });

  it('refuses --out without a path and any unknown argument', () => {
    expect(() => parseArgs(['--out'])).toThrow('--out needs a file path');
    expect(() => parseArgs(['--out', '--verbose'])).toThrow('--out needs a file path');
    expect(() => parseArgs(['--out='])).toThrow('--out needs a file path');
    expect(() => parseArgs(['--outt', 'x.json'])).toThrow('Unknown argument --outt');
  });
});
