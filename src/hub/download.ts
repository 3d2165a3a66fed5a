import { downloadFile, HubApiError, modelInfo, pathsInfo } from '@huggingface/hub';
import { SRPoseError } from '../errors.ts';
import { env, nodeBuiltin } from '../platform/env.ts';
import { digestHex, type LoadStats } from '../platform/digest.ts';
import { bytesOf, type DeferredBytes } from '../platform/files.ts';
import { DiskCache } from './disk-cache.ts';
import { WebCache } from './web-cache.ts';
import type { HubModelId } from './id.ts';
import { type HubOptions, resolveHubOptions } from './settings.ts';

const RETRIES = 4;
const BACKOFF_MS = 250;

/**
 * A file of a Hub snapshot: its bytes, the commit they belong to, and the etag they were checked
 * against.
 */
export interface HubFile {
  /** The bytes, or (a verified blob of the disk cache) how to read them. */
  bytes: DeferredBytes;
  /** The file's size in bytes. */
  size: number;
  commit: string;
  etag?: string;
  /** The repository's folder in the disk cache that holds the file (none: another cache). */
  cacheDir?: string;
}

/**
 * Checks bytes against the Hub's etag: an LFS file's etag is its sha256, a plain file's is
 * the git blob sha1 (`sha1("blob <size>\0" + bytes)`).
 */
export async function matchesEtag(
  bytes: Uint8Array,
  etag: string,
  stats?: LoadStats,
): Promise<boolean> {
  if (/^[0-9a-f]{64}$/.test(etag)) return (await digestHex('SHA-256', bytes, stats)) === etag;
  if (/^[0-9a-f]{40}$/.test(etag)) {
    const head = new TextEncoder().encode(`blob ${bytes.byteLength}\0`);
    const all = new Uint8Array(head.length + bytes.length);
    all.set(head);
    all.set(bytes, head.length);
    return (await digestHex('SHA-1', all, stats)) === etag;
  }
  return false; // an etag we cannot check is not trusted
}

/**
 * `fetch` with retries on transient failures (5xx, 429, reset connections), exponential backoff.
 */
async function retryingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  for (let attempt = 0;; attempt++) {
    try {
      const res = await fetch(input, init);
      if ((res.status >= 500 || res.status === 429) && attempt < RETRIES) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt));
        continue;
      }
      return res;
    } catch (e) {
      if (attempt >= RETRIES) throw e;
      await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt));
    }
  }
}

function hubError(e: unknown, id: HubModelId, path: string): SRPoseError {
  if (e instanceof SRPoseError) return e;
  const where = `${id.repo}@${id.revision}, file ${path}`;
  if (e instanceof HubApiError) {
    // The Hub answers 401 to anonymous requests for missing repositories too.
    if (e.statusCode === 401 || e.statusCode === 403) {
      return new SRPoseError(
        'MODEL_UNAUTHORIZED',
        `Hub answered ${e.statusCode} for ${where}: ` +
          `the repository does not exist, or it is private or gated ` +
          `(check the name, or pass accessToken / set HF_TOKEN with access to it)`,
        { cause: e },
      );
    }
    if (e.statusCode === 404) {
      return new SRPoseError(
        'MODEL_NOT_FOUND',
        `Hub has no ${where} (404): check the repository name and revision`,
        { cause: e },
      );
    }
    return new SRPoseError('MODEL_DOWNLOAD_FAILED', `Hub answered ${e.statusCode} for ${where}`, {
      cause: e,
    });
  }
  return new SRPoseError(
    'MODEL_DOWNLOAD_FAILED',
    `cannot download ${where}: ${(e as Error)?.message ?? e}`,
    { cause: e },
  );
}

// One download per file and process while it is in flight (concurrent cold starts).
const inFlight = new Map<string, Promise<HubFile>>();

/**
 * One file of a Hub model: from the disk cache when its snapshot entry exists and verifies,
 * else downloaded (with progress), checked against the Hub's hash, and cached atomically.
 * Offline, only the cache is used.
 */
export function hubFile(
  id: HubModelId,
  path: string,
  options: HubOptions = {},
  stats?: LoadStats,
): Promise<HubFile> {
  const s = resolveHubOptions(options);
  const key = JSON.stringify([
    s.hubUrl,
    id.repo,
    id.revision,
    path,
    s.cacheDir,
    s.cache,
    s.offline,
  ]);
  const p = inFlight.get(key);
  // A caller that joins a download gets its own copy of the bytes: each caller owns what it
  // gets (the estimator frees a model's bytes once its session is made).
  if (p) {
    return p.then((f) => ({
      ...f,
      bytes: typeof f.bytes === 'function' ? f.bytes : f.bytes.slice(),
    }));
  }
  const mine = fetchFile(id, path, s, stats).finally(() => inFlight.delete(key));
  inFlight.set(key, mine);
  return mine;
}

/**
 * Where Hub files are cached: on disk in the Hub layout where there is a file system (unless
 * `cache: 'web'`), else with the Cache API (browsers, Workers, Deno Deploy), else nowhere.
 */
async function openCache(s: ReturnType<typeof resolveHubOptions>): Promise<HubCache | undefined> {
  if (s.cache === 'none') return undefined;
  if (env.hasFileSystem && s.cache !== 'web') {
    if (s.cacheDir) return tolerant(new DiskCache(s.cacheDir));
    const os = await nodeBuiltin<typeof import('node:os')>('os');
    return tolerant(new DiskCache(`${os.homedir()}/.cache/huggingface/hub`));
  }
  return typeof caches !== 'undefined' ? tolerant(new WebCache()) : undefined;
}

type HubCache =
  & Pick<
    DiskCache,
    'root' | 'commitFor' | 'setRef' | 'read' | 'write' | 'evict' | 'markVerified'
  >
  & { repoDir?(repo: string): string };

/**
 * The cache as a help, never a failure: a read that throws (a read-only or full disk, a runtime
 * whose `caches.open` throws, as a bare workerd's does) is a miss and a write that throws is
 * skipped, so the model still loads, uncached. Files are verified either way.
 */
function tolerant(cache: HubCache): HubCache {
  const soft =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>, fallback: R) =>
    async (...a: A): Promise<R> => {
      try {
        return await f.apply(cache, a);
      } catch {
        return fallback;
      }
    };
  return {
    root: cache.root,
    repoDir: cache instanceof DiskCache ? (repo) => cache.repoDir(repo) : undefined,
    commitFor: soft(cache.commitFor, undefined),
    setRef: soft(cache.setRef, undefined),
    read: soft(cache.read, undefined),
    write: soft(cache.write, undefined),
    evict: soft(cache.evict, undefined),
    markVerified: soft(cache.markVerified, undefined),
  };
}

/**
 * Whether a cached file is blob `etag`: trusted without hashing when the cache recorded it
 * verified and unchanged since (the blob's name is its hash, checked when it was written),
 * else hashed, and recorded when it matches.
 */
async function checkHit(
  cache: HubCache,
  repo: string,
  hit: { bytes: DeferredBytes; size: number; etag?: string; verified: boolean },
  etag: string,
  stats?: LoadStats,
): Promise<boolean> {
  if (hit.verified && hit.etag === etag) return true;
  if (!await matchesEtag(await bytesOf(hit.bytes), etag, stats)) return false;
  if (hit.etag === etag) await cache.markVerified(repo, etag);
  return true;
}

async function fetchFile(
  id: HubModelId,
  path: string,
  s: ReturnType<typeof resolveHubOptions>,
  stats?: LoadStats,
): Promise<HubFile> {
  const cache = await openCache(s);
  // Without the Hub, a cached file is checked against the etag its blob is named by.
  const cached = async (): Promise<HubFile | undefined> => {
    const commit = await cache?.commitFor(id.repo, id.revision);
    const hit = commit ? await cache!.read(id.repo, commit, path) : undefined;
    if (!commit || !hit) return undefined;
    if (hit.etag && !await checkHit(cache!, id.repo, hit, hit.etag, stats)) {
      await cache!.evict(id.repo, commit, path, hit.etag);
      return undefined;
    }
    return {
      bytes: hit.bytes,
      size: hit.size,
      commit,
      etag: hit.etag,
      cacheDir: cache!.repoDir?.(id.repo),
    };
  };
  if (s.offline) {
    const hit = await cached();
    if (!hit) {
      throw new SRPoseError(
        'MODEL_NOT_FOUND',
        `offline (HF_HUB_OFFLINE) and ${id.repo}@${id.revision} ${path} is not in the cache ${
          cache?.root ?? '(no disk cache here)'
        }`,
      );
    }
    return hit;
  }
  const creds = { hubUrl: s.hubUrl, accessToken: s.accessToken, fetch: retryingFetch };
  try {
    // The revision's commit names the snapshot (as huggingface_hub does); the file's entry at
    // that commit gives its etag: sha256 for LFS files, the git blob sha1 otherwise.
    const commit = /^[0-9a-f]{40}$/.test(id.revision) ? id.revision : (await modelInfo({
      name: id.repo,
      revision: id.revision,
      additionalFields: ['sha'],
      ...creds,
    })).sha;
    if (!commit) {
      throw new SRPoseError(
        'MODEL_DOWNLOAD_FAILED',
        `Hub gave no commit for ${id.repo}@${id.revision}`,
      );
    }
    const [entry] = await pathsInfo({ repo: id.repo, paths: [path], revision: commit, ...creds });
    if (!entry || entry.type !== 'file') {
      throw new SRPoseError(
        'MODEL_NOT_FOUND',
        `Hub repository ${id.repo}@${id.revision} has no file ${path}`,
      );
    }
    const etag = entry.lfs?.oid ?? entry.oid ?? '';
    const size = entry.lfs?.size ?? entry.size;
    const params = { repo: id.repo, path, revision: commit, ...creds };
    if (cache) {
      const hit = await cache.read(id.repo, commit, path);
      if (hit && await checkHit(cache, id.repo, hit, etag, stats)) {
        await cache.setRef(id.repo, id.revision, commit);
        return {
          bytes: hit.bytes,
          size: hit.size,
          commit,
          etag,
          cacheDir: cache.repoDir?.(id.repo),
        };
      }
      if (hit) await cache.evict(id.repo, commit, path, etag);
    }
    const blob = await downloadFile({ ...params, xet: false });
    if (!blob) {
      throw new SRPoseError(
        'MODEL_NOT_FOUND',
        `Hub repository ${id.repo}@${id.revision} has no file ${path}`,
      );
    }
    const bytes = await readWithProgress(blob, path, size, s.onProgress);
    if (bytes.byteLength !== size || !await matchesEtag(bytes, etag, stats)) {
      throw new SRPoseError(
        'MODEL_DOWNLOAD_FAILED',
        `${id.repo}@${id.revision} ${path}: downloaded ${bytes.byteLength} of ${size} bytes, ` +
          `or they do not match the Hub's hash ${etag}; nothing was cached, try again`,
      );
    }
    if (cache) {
      await cache.write(id.repo, commit, path, etag, bytes);
      await cache.markVerified(id.repo, etag);
      await cache.setRef(id.repo, id.revision, commit);
    }
    return { bytes, size: bytes.byteLength, commit, etag, cacheDir: cache?.repoDir?.(id.repo) };
  } catch (e) {
    // The Hub unreachable (not an HTTP answer): serve the cached snapshot, as huggingface_hub does.
    if (!(e instanceof SRPoseError) && !(e instanceof HubApiError)) {
      const hit = await cached();
      if (hit) return hit;
    }
    throw hubError(e, id, path);
  }
}

async function readWithProgress(
  blob: Blob,
  file: string,
  total: number,
  onProgress: HubOptions['onProgress'],
): Promise<Uint8Array> {
  const out = new Uint8Array(total);
  let loaded = 0;
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > total) {
      throw new SRPoseError(
        'MODEL_DOWNLOAD_FAILED',
        `${file}: the Hub sent more than the ${total} bytes it announced`,
      );
    }
    out.set(value, loaded);
    loaded += value.byteLength;
    onProgress?.({ file, loaded, total });
  }
  return loaded === total ? out : out.subarray(0, loaded);
}
