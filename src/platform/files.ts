import { SRPoseError } from '../errors.ts';
import { env, nodeBuiltin } from './env.ts';

/**
 * Bytes, or how to read them when they are needed: a verified blob of the Hub's disk cache is
 * read only if the session is not made from the graph onnxruntime-node derived from it (reading
 * 100 MB is a third of a warm start: `npm run bench -- cold-start`). Every call reads anew.
 */
export type DeferredBytes = Uint8Array | (() => Promise<Uint8Array>);

/** The bytes of `b`, read now if they were deferred. */
export function bytesOf(b: DeferredBytes): Promise<Uint8Array> {
  return typeof b === 'function' ? b() : Promise.resolve(b);
}

/** Reads a local file (Node / Deno); a missing file is `MODEL_NOT_FOUND` naming `what`. */
export async function readLocalFile(path: string, what: string): Promise<Uint8Array> {
  if (!env.hasFileSystem) {
    throw new SRPoseError(
      'MODEL_NOT_FOUND',
      `${what}: no local file system here; pass a URL or bytes`,
    );
  }
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  try {
    const buf = await fs.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
      ? 'is a directory'
      : String(e);
    throw new SRPoseError('MODEL_NOT_FOUND', `${what}: cannot read ${path} (${why})`, { cause: e });
  }
}

/** Joins a directory and a file name with `/` (accepted by Node and Deno on every OS). */
export function joinPath(dir: string, file: string): string {
  return dir.endsWith('/') || dir.endsWith('\\') ? dir + file : `${dir}/${file}`;
}

/** Writes a local file (Node / Deno). */
export async function writeLocalFile(path: string, data: Uint8Array): Promise<void> {
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  await fs.writeFile(path, data);
}

/** True when `path` is an existing local directory (always false without a file system). */
export async function isLocalDirectory(path: string): Promise<boolean> {
  if (!env.hasFileSystem) return false;
  const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}
