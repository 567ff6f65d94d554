/**
 * `npm run test:security [-- --out report.json]`: runs the security suites (test/security/*.test.ts) and reports,
 * per category, how many cases were tried and how many passed. A category is the top-level
 * `describe('category: <name>', ...)` block of a suite; every `it` inside it, and every case an `it.each`
 * generates, is one case. Prints a table and, with `--out`, writes `{ "categories": [{ "name", "tried", "passed" }] }`.
 * Exits non-zero when any case failed, a suite could not run, or nothing ran at all.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Categories in the order the issue lists them; any other category follows, alphabetically. */
export const KNOWN_CATEGORIES = ['token-attacks', 'authorization', 'races', 'faults', 'leak-scan', 'fuzzing'] as const;
/** Where cases outside any `category:` block are counted, so none disappears from the totals. */
export const UNCATEGORIZED = '(uncategorized)';

const CATEGORY_TITLE = /^category: (\S.*)$/;

/** The part of vitest's JSON reporter output (a Jest-compatible shape) the report reads. */
export interface VitestJsonReport {
  readonly success?: boolean;
  readonly testResults: readonly {
    readonly name: string;
    readonly status: string;
    readonly message?: string;
    readonly assertionResults: readonly {
      readonly ancestorTitles: readonly string[];
      readonly fullName: string;
      readonly title: string;
      readonly status: string;
      readonly failureMessages?: readonly string[];
    }[];
  }[];
}

export interface CategoryResult {
  readonly name: string;
  readonly tried: number;
  readonly passed: number;
}

export interface SecurityReport {
  readonly categories: CategoryResult[];
}

export interface Aggregation {
  readonly report: SecurityReport;
  /** What went wrong, one line each: failed cases (by full name) and suites that did not run. */
  readonly failures: string[];
}

/** The category of a case: its top-level `category: <name>` block, or UNCATEGORIZED. */
export function categoryOf(ancestorTitles: readonly string[]): string {
  const match = CATEGORY_TITLE.exec(ancestorTitles[0] ?? '');
  return match ? (match[1] as string).trim() : UNCATEGORIZED;
}

function order(name: string): number {
  const index = (KNOWN_CATEGORIES as readonly string[]).indexOf(name);
  if (index >= 0) return index;
  return name === UNCATEGORIZED ? Number.MAX_SAFE_INTEGER : KNOWN_CATEGORIES.length;
}

/**
 * Counts cases per category. A case was tried when it ran (passed or failed); skipped and todo cases were not. A
 * suite file that failed without running its cases (an import error, a failing `beforeAll`) is a failure and
 * shows as its category with what did run, named after the file when no case says otherwise.
 */
export function aggregate(json: VitestJsonReport): Aggregation {
  const counts = new Map<string, { tried: number; passed: number }>();
  const failures: string[] = [];
  const bump = (name: string, tried: number, passed: number) => {
    const entry = counts.get(name) ?? { tried: 0, passed: 0 };
    entry.tried += tried;
    entry.passed += passed;
    counts.set(name, entry);
  };

  for (const file of json.testResults) {
    let failedCases = 0;
    for (const test of file.assertionResults) {
      const category = categoryOf(test.ancestorTitles);
      if (test.status === 'passed') {
        bump(category, 1, 1);
      } else if (test.status === 'failed') {
        bump(category, 1, 0);
        failedCases += 1;
        failures.push(`${category}: ${test.fullName}`);
      } else {
        bump(category, 0, 0);
      }
    }
    if (file.status === 'failed' && failedCases === 0) {
      // The file failed although none of its cases did: the suite itself broke (an import error, or a failing
      // hook, after which vitest reports the cases as skipped).
      const first = file.assertionResults[0];
      const category = first ? categoryOf(first.ancestorTitles) : basename(file.name).replace(/\.test\.[cm]?[jt]s$/, '');
      bump(category, 0, 0);
      const reason = (file.message ?? '').split('\n')[0] || 'the suite failed to run (a hook failed?)';
      failures.push(`${category}: ${basename(file.name)}: ${reason}`);
    }
  }

  const categories = [...counts.entries()]
    .map(([name, c]) => ({ name, tried: c.tried, passed: c.passed }))
    .sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));
  return { report: { categories }, failures };
}

/** The table printed to the terminal, with a total row. */
export function formatTable(report: SecurityReport): string {
  const total = report.categories.reduce((t, c) => ({ tried: t.tried + c.tried, passed: t.passed + c.passed }), {
    tried: 0,
    passed: 0,
  });
  const rows = [
    ['category', 'tried', 'passed'],
    ...report.categories.map((c) => [c.name, String(c.tried), String(c.passed)]),
    ['total', String(total.tried), String(total.passed)],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [head, ...body] = rows;
  const last = body.pop() as string[];
  return [line(head as string[]), rule, ...body.map(line), rule, line(last)].join('\n');
}

export interface CliOptions {
  readonly out?: string;
}

/** `--out <path>` or `--out=<path>`; anything else is an error (a typo must not silently drop the JSON). */
export function parseArgs(argv: readonly string[]): CliOptions {
  let out: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--out') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error('--out needs a file path');
      out = value;
      i += 1;
    } else if (arg.startsWith('--out=')) {
      out = arg.slice('--out='.length);
      if (out === '') throw new Error('--out needs a file path');
    } else {
      throw new Error(`Unknown argument ${arg} (usage: npm run test:security [-- --out report.json])`);
    }
  }
  return out === undefined ? {} : { out };
}

function runVitest(outputFile: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'npx',
      ['vitest', 'run', 'test/security', '--reporter=json', `--outputFile=${outputFile}`],
      { stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const options = parseArgs(argv);
  const dir = mkdtempSync(join(tmpdir(), 'devaccess-security-'));
  try {
    const jsonPath = join(dir, 'vitest.json');
    const exitCode = await runVitest(jsonPath);
    let json: VitestJsonReport;
    try {
      json = JSON.parse(readFileSync(jsonPath, 'utf8')) as VitestJsonReport;
    } catch (err) {
      console.error(`No test report from vitest (exit code ${exitCode}): ${(err as Error).message}`);
      return exitCode === 0 ? 1 : exitCode;
    }
    const { report, failures } = aggregate(json);
    console.log(`\nSecurity suites\n\n${formatTable(report)}\n`);
    if (options.out) {
      writeFileSync(resolve(options.out), `${JSON.stringify(report, null, 2)}\n`);
      console.log(`Wrote ${options.out}`);
    }
    for (const failure of failures) console.error(`FAILED ${failure}`);
    const tried = report.categories.reduce((n, c) => n + c.tried, 0);
    if (tried === 0) console.error('No security case ran.');
    return failures.length > 0 || tried === 0 || exitCode !== 0 ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error((err as Error).message);
      process.exitCode = 2;
    },
  );
}
