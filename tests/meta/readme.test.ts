// The README's list of test suites is the runner's own table (tests/suites.ts), verbatim:
// regenerate it with `npx tsx scripts/suites-table.ts` when a suite is added or moved.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { suitesTable } from '../../scripts/suites-table.ts';

test('README "Tests" lists every suite with its tier, runtimes and reason', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const table = suitesTable();
  assert.ok(
    readme.includes(table),
    'README.md lacks the current table; paste the output of ' +
      `npx tsx scripts/suites-table.ts:\n${table}`,
  );
});

test.run();
