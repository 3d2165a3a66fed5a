import { SRPoseError } from '../errors.ts';
import { nodeBuiltin } from '../platform/env.ts';
import type { DeferredBytes } from '../platform/files.ts';

/**
 * The Hugging Face Hub cache layout on disk, shared with Python's `huggingface_hub`:
 * `models--owner--name/blobs/<etag>`, `snapshots/<commit>/<path>` (a relative symlink to the
 * blob) and `refs/<revision>` (the commit a branch or tag pointed to). Every file and link is
 * made as a temporary `blobs/<uuid>.incomplete` and renamed into place, so a reader never sees a
 * partial one, and one left by a killed process is where Python's tools expect leftovers (not
 * in `refs/` or `snapshots/`, where `scan_cache_dir` would report it as corrupt).
 */
export class DiskCache {
  constructor(readonly root: string) {}

  /** The folder of `repo` (`models--owner--name`). */
  repoDir(repo: string): string {
    return `${this.root}/models--${repo.replace('/', '--')}`;
  }

  /** The cached commit of `revision` (a commit hash is its own), or undefined. */
  async commitFor(repo: string, revision: string): Promise<string | undefined> {
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    try {
      const c = (await fs.readFile(`${this.repoDir(repo)}/refs/${revision}`, 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(c) ? c : undefined;
    } catch {
      return undefined;
    }
  }

  async setRef(repo: string, revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    await this.#atomicWrite(
      this.repoDir(repo),
      `refs/${revision}`,
      new TextEncoder().encode(commit),
    );
  }

  /**
   * `path` in the cached snapshot `commit`, with the etag its symlink names (the blob's file
   * name), or undefined. `verified`: the blob is the one this cache checked against its etag
   * before (see {@link markVerified}), unchanged since; its bytes are then read only when
   * `bytes` is called (every call reads them anew), else read here.
   */
  async read(
    repo: string,
    commit: string,
    path: string,
  ): Promise<{ bytes: DeferredBytes; size: number; etag?: string; verified: boolean } | undefined> {
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    const link = `${this.repoDir(repo)}/snapshots/${commit}/${path}`;
    let now: string | undefined;
    const read = async () => {
      const b = await fs.readFile(link);
      // read later than checked: the blob must still be the one its record vouches for
      if (await this.#stamp(link) !== now) {
        throw new SRPoseError('MODEL_INVALID', `${link} changed while it was being loaded`);
      }
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
    try {
      now = await this.#stamp(link);
      if (now === undefined) return undefined;
      const target = await fs.readlink(link).catch(() => undefined);
      const etag = target?.slice(target.lastIndexOf('/') + 1);
      const verified = etag !== undefined &&
        now === await fs.readFile(this.#record(repo, etag), 'utf8').catch(() => undefined);
      const size = Number(now.split(' ')[0]);
      return { bytes: verified ? read : await read(), size, etag, verified };
    } catch {
      return undefined;
    }
  }

  /**
   * Records that blob `etag` matched its etag, so the next start need not hash it again: a
   * record of the blob's size, modification time and inode. A blob changed in any way since
   * (rewritten, truncated, replaced) no longer matches its record and is hashed again.
   */
  async markVerified(repo: string, etag: string): Promise<void> {
    const stamp = await this.#stamp(`${this.repoDir(repo)}/blobs/${etag}`);
    if (stamp) await this.#atomicWrite(this.repoDir(repo), this.#recordPath(etag), stamp);
  }

  /** The verification record of blob `etag`, beside the blobs (Python's tools ignore it). */
  #recordPath(etag: string): string {
    return `blobs/${etag}.srpose-verified`;
  }

  #record(repo: string, etag: string): string {
    return `${this.repoDir(repo)}/${this.#recordPath(etag)}`;
  }

  /** Size, modification time (ns) and inode of the file `path` resolves to. */
  async #stamp(path: string): Promise<string | undefined> {
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    const st = await fs.stat(path, { bigint: true }).catch(() => undefined);
    return st && `${st.size} ${st.mtimeNs} ${st.ino}`;
  }

  /** Stores `bytes` as blob `etag` and links it from snapshot `commit` as `path`. */
  async write(
    repo: string,
    commit: string,
    path: string,
    etag: string,
    bytes: Uint8Array,
  ): Promise<void> {
    const dir = this.repoDir(repo);
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    await this.#atomicWrite(dir, `blobs/${etag}`, bytes);
    const link = `${dir}/snapshots/${commit}/${path}`;
    const up = '../'.repeat(path.split('/').length + 1);
    await fs.mkdir(link.slice(0, link.lastIndexOf('/')), { recursive: true });
    const tmp = this.#temp(dir); // a symlink keeps its relative target when renamed
    try {
      await fs.symlink(`${up}blobs/${etag}`, tmp);
    } catch {
      // no symlinks (some Windows set-ups): a copy, as Python does
      await fs.copyFile(`${dir}/blobs/${etag}`, tmp);
    }
    await fs.rename(tmp, link);
  }

  /** Removes a snapshot entry and its blob (a corrupt file must not be served again). */
  async evict(repo: string, commit: string, path: string, etag?: string): Promise<void> {
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    const dir = this.repoDir(repo);
    await fs.rm(`${dir}/snapshots/${commit}/${path}`, { force: true });
    if (etag) {
      await fs.rm(`${dir}/blobs/${etag}`, { force: true });
      await fs.rm(this.#record(repo, etag), { force: true });
    }
  }

  #temp(repoDir: string): string {
    return `${repoDir}/blobs/${crypto.randomUUID()}.incomplete`;
  }

  async #atomicWrite(
    repoDir: string,
    relPath: string,
    bytes: Uint8Array | string,
  ): Promise<void> {
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('fs/promises');
    const file = `${repoDir}/${relPath}`;
    await fs.mkdir(file.slice(0, file.lastIndexOf('/')), { recursive: true });
    await fs.mkdir(`${repoDir}/blobs`, { recursive: true });
    const tmp = this.#temp(repoDir);
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}
