/**
 * The results file of `srpose eval`, written as it goes so a stopped run resumes: a JSON array
 * with one result a line (the first line `[`, each later result starting with `,`, the last
 * line `]`), each image's results in one write. Read back, every complete line counts, except
 * the last image of an unfinished file (it may be cut short): that image is estimated again.
 * @module
 */
import { SRPoseError } from '../errors.ts';
import { nodeBuiltin } from '../platform/env.ts';

/** The results of the images a file already holds, in file order. */
export interface ResumedResults<T> {
  results: T[];
  /** The images whose results are all there (keys as `keyOf` gives them). */
  done: Set<string>;
  /** The file ends with `]`: the run that wrote it finished. */
  complete: boolean;
}

/**
 * Reads what an earlier run wrote to `path` (nothing when there is no such file); a file that
 * is not such a results file is an `INVALID_OPTION` (it is never overwritten).
 */
export async function readResults<T>(
  path: string,
  keyOf: (r: T) => string,
): Promise<ResumedResults<T>> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return { results: [], done: new Set(), complete: false };
  }
  const lines = text.split('\n');
  if (lines[0].trim() !== '[') {
    if (text.trim() === '') return { results: [], done: new Set(), complete: false };
    throw new SRPoseError(
      'INVALID_OPTION',
      `${path} is not a results file of srpose eval (it is kept: pass another --out)`,
    );
  }
  const results: T[] = [];
  let complete = false;
  for (const line of lines.slice(1)) {
    const t = line.trim();
    if (t === ']') {
      complete = true;
      break;
    }
    if (t === '') continue;
    try {
      results.push(JSON.parse(t.startsWith(',') ? t.slice(1) : t));
    } catch {
      break; // cut short: what follows is redone
    }
  }
  const keys = results.map(keyOf);
  if (!complete && keys.length > 0) {
    // the last image may be partial
    const last = keys[keys.length - 1];
    while (keys.length > 0 && keys[keys.length - 1] === last) {
      keys.pop();
      results.pop();
    }
  }
  return { results, done: new Set(keys), complete };
}

/** Appends results image by image; `close` ends the array. */
export interface ResultsWriter<T> {
  /** Writes one image's results (one write, so a stop never splits a line). */
  add(results: readonly T[]): Promise<void>;
  close(): Promise<void>;
}

/** Starts `path` afresh with `kept` (an earlier run's results), then appends. */
export async function openResults<T>(path: string, kept: readonly T[]): Promise<ResultsWriter<T>> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  let first = true;
  const lines = (rs: readonly T[]) =>
    rs.map((r) => {
      const s = (first ? '' : ',') + JSON.stringify(r) + '\n';
      first = false;
      return s;
    }).join('');
  // written beside and renamed: the earlier file stays whole until the new one holds its part
  const tmp = `${path}.tmp`;
  await fs.writeFile(tmp, '[\n' + lines(kept));
  await fs.rename(tmp, path);
  const file = await fs.open(path, 'a');
  return {
    async add(rs) {
      if (rs.length > 0) await file.appendFile(lines(rs));
    },
    async close() {
      await file.appendFile(']\n');
      await file.close();
    },
  };
}
