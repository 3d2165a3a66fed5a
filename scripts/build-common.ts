/**
 * What the build scripts share: the repository root, copying WASM into wasm/, file sizes,
 * metafiles.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WASM_DIR = join(ROOT, 'wasm');
/**
 * esbuild's metafile of each target (`<target>.json`: every input, import and output), outside the
 * deployable folders.
 */
export const META_DIR = join(ROOT, 'dist', 'meta');

/** An esbuild metafile, as much of it as the checks read. */
export interface Metafile {
  inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
}

/** Writes the metafiles of one target's builds, merged, to `dist/meta/<target>.json`. */
export function writeMetafile(target: string, ...metas: (Metafile | undefined)[]): void {
  mkdirSync(META_DIR, { recursive: true });
  const merged: Metafile = { inputs: {}, outputs: {} };
  for (const m of metas) {
    Object.assign(merged.inputs, m?.inputs);
    Object.assign(merged.outputs, m?.outputs);
  }
  writeFileSync(join(META_DIR, `${target}.json`), JSON.stringify(merged));
}

/** One output file: its path from the repository root, size, and size gzipped (level 9). */
export interface Sized {
  path: string;
  bytes: number;
  gzip: number;
}

export function sizeOf(path: string): Sized {
  const bytes = readFileSync(path);
  return {
    path: relative(ROOT, path),
    bytes: bytes.byteLength,
    gzip: gzipSync(bytes, { level: 9 }).byteLength,
  };
}

/**
 * Copies package files (paths inside node_modules; not all are in the packages' exports maps) into
 * wasm/; returns their paths there.
 */
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
  const map = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).browser as
    | Record<string, string | false>
    | undefined;
  const target = map?.[file];
  if (typeof target !== 'string') throw new Error(`${pkg} has no browser build of ${file}`);
  return join(dir, target);
}
