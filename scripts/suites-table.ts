// Prints the table of test suites in CONTRIBUTING.md ("Tiers, runtimes and time") from
// tests/suites.ts, the one list the runner selects from; tests/meta/readme.test.ts checks that
// CONTRIBUTING.md holds it verbatim.
import { SUITES } from '../tests/suites.ts';

export function suitesTable(): string {
  const rows = Object.entries(SUITES).map(([file, s]) => {
    const where = s.runtimes === 'both' ? 'Node, Deno' : 'Node';
    const tier = s.optIn ? `opt-in (\`${s.optIn}\`)` : s.tier === 'fast' ? 'fast, full' : 'full';
    return `| \`${file}\` | ${tier} | ${where} | ${s.why} |`;
  });
  return [
    '| suite (`tests/`) | tier | runtimes | what it checks, and why there |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.main ?? process.argv[1]?.endsWith('suites-table.ts')) console.log(suitesTable());
