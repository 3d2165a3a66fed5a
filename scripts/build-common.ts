/** What the build scripts share: the repository root, copying WASM into wasm/, file sizes. */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WASM_DIR = join(ROOT, 'wasm');

/** One output file: its path from the repository root, size, and size gzipped (level 9). */
export interface Sized {
  path: string;
  bytes: number;
  gzip: number;
}

export function sizeOf(path: string): Sized {
  const bytes = readFileSync(path);
  return { path: relative(ROOT, path), bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
}

/** Copies package files (paths inside node_modules; not all are in the packages' exports maps) into wasm/; returns their paths there. */
export function copyWasm(files: readonly string[]): string[] {
  mkdirSync(WASM_DIR, { recursive: true });
  return files.map((f) => {
    const to = join(WASM_DIR, basename(f));
    copyFileSync(join(ROOT, 'node_modules', f), to);
    return to;
  });
}

/** The file a package's `browser` map puts in place of `file` (a path inside the package). */
export function browserBuild(pkg: string, file: string): string {
  const dir = join(ROOT, 'node_modules', pkg);
  const map = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).browser as Record<string, string | false> | undefined;
  const target = map?.[file];
  if (typeof target !== 'string') throw new Error(`${pkg} has no browser build of ${file}`);
  return join(dir, target);
}
