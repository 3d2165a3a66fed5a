// The documentation's checkable facts: README.md is the front page (short, the install line, the
// two commands), CONTRIBUTING.md holds the runner's own table of suites (tests/suites.ts)
// verbatim (regenerate it with `npx tsx scripts/suites-table.ts` when a suite is added or moved),
// every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves, and every
// `npm run <script>` they name exists in package.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { suitesTable } from '../../scripts/suites-table.ts';

/** The README's most lines: a front page, the reference lives in docs/. */
const README_MAX_LINES = 200;

/**
 * Link targets written by a generator the docs do not run (the API reference, generated from the
 * sources' TSDoc into docs/api/ by `npm run docs`): allowed to be absent, checked like any file
 * once present.
 */
const GENERATED = new Set(['docs/api/README.md']);

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** README.md, CONTRIBUTING.md and docs/*.md, relative to the repository root. */
function docFiles(): string[] {
  const docs = existsSync(join(ROOT, 'docs'))
    ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()];
}

/** The lines of a Markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1][0];
      else if (m[1][0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** The fenced code blocks of a Markdown file, each as its text without the fences. */
function codeBlocks(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (current) {
        blocks.push(current.join('\n'));
        current = undefined;
      } else current = [];
    } else current?.push(line);
  }
  return blocks;
}

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text lower-cased, everything but
 * letters, digits, marks, spaces, `-` and `_` removed, each space a `-`; a repeated slug gets
 * `-1`, `-2`, ... in order.
 */
export function headingSlugs(text: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const { line } of proseLines(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const rendered = m[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/`([^`]*)`/g, (_, code) => code.replace(/[<>]/g, '')) // code spans: their text
      .replace(/<[^>]+>/g, '') // inline HTML
      .replace(/[*]/g, ''); // emphasis
    const base = rendered.toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

/** The inline links `[text](target)` of a Markdown file's prose, code spans left out. */
export function links(text: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ target: m[1], n });
    }
  }
  return out;
}

test('README.md is a front page: at most 200 lines', () => {
  const lines = read('README.md').replace(/\n$/, '').split('\n').length;
  assert.ok(
    lines <= README_MAX_LINES,
    `README.md has ${lines} lines (at most ${README_MAX_LINES}): move reference to docs/`,
  );
});

test('README.md shows how to install the package: npm install srpose', () => {
  assert.ok(
    read('README.md').includes('npm install srpose'),
    'README.md lacks `npm install srpose`',
  );
});

test('README.md shows the two commands, exactly as CONTRIBUTING.md has them', () => {
  const block = codeBlocks(read('README.md')).find((b) => b.includes('set-up + all tests'));
  assert.ok(block, 'README.md has no code block with the "set-up + all tests" command');
  assert.ok(block.includes('set-up + the main job'), 'the block lacks "set-up + the main job"');
  assert.ok(
    block.includes('npm ci && bash scripts/install-deps.sh && npm test'),
    'the block lacks the test command `npm ci && bash scripts/install-deps.sh && npm test`',
  );
  assert.ok(
    read('CONTRIBUTING.md').includes(block),
    `CONTRIBUTING.md lacks README.md's two commands, verbatim:\n${block}`,
  );
});

test('CONTRIBUTING.md lists every suite with its tier, runtimes and reason', () => {
  const table = suitesTable();
  assert.ok(
    read('CONTRIBUTING.md').includes(table),
    'CONTRIBUTING.md lacks the current table; paste the output of ' +
      `npx tsx scripts/suites-table.ts:\n${table}`,
  );
});

test('every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves', () => {
  const broken: string[] = [];
  const slugsOf = new Map<string, Set<string>>();
  const slugs = (file: string) => {
    if (!slugsOf.has(file)) slugsOf.set(file, headingSlugs(readFileSync(file, 'utf8')));
    return slugsOf.get(file)!;
  };
  for (const doc of docFiles()) {
    for (const { target, n } of links(read(doc))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // absolute
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = path === '' ? join(ROOT, doc) : join(ROOT, dirname(doc), decodeURI(path));
      const where = `${doc}:${n} (${target})`;
      if (!existsSync(file)) {
        if (!GENERATED.has(relative(ROOT, file))) broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!statSync(file).isFile() || !file.endsWith('.md')) {
        broken.push(`${where}: an anchor into something that is not a Markdown file`);
      } else if (!slugs(file).has(anchor)) {
        broken.push(`${where}: no heading "#${anchor}" in ${relative(ROOT, file)}`);
      }
    }
  }
  assert.equal(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('every `npm run <script>` the docs name is a script of package.json', () => {
  const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
  const missing: string[] = [];
  for (const doc of docFiles()) {
    read(doc).split('\n').forEach((line, i) => {
      for (
        const m of line.matchAll(/\bnpm (?:run(?:-script)?(?: -s)? ([\w:.-]+)|(start|test)\b)/g)
      ) {
        const name = m[1] ?? m[2];
        if (!(name in scripts)) missing.push(`${doc}:${i + 1}: npm run ${name}`);
      }
    });
  }
  assert.equal(missing, [], `scripts named in the docs but not in package.json:\n${missing}`);
});

test('the slug rules match GitHub on the headings these docs use', () => {
  const md = [
    '# A title',
    '## The exporter: `models/export.py`',
    '## Native against WASM (`npm run bench -- backends`)',
    '## Limits, and why',
    '## A title',
    '```',
    '# not a heading',
    '```',
  ].join('\n');
  assert.equal([...headingSlugs(md)], [
    'a-title',
    'the-exporter-modelsexportpy',
    'native-against-wasm-npm-run-bench----backends',
    'limits-and-why',
    'a-title-1',
  ]);
  assert.equal(links('see [a](b.md#c), `[not](x.md)`, [b](https://e.x)').map((l) => l.target), [
    'b.md#c',
    'https://e.x',
  ]);
});

test.run();
