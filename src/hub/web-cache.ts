/**
 * The Hub cache for runtimes without a file system (browsers, Cloudflare Workers, Deno
 * Deploy): the Cache API, with the disk layout's three kinds of entries as synthetic URLs:
 * a revision's commit, and each snapshot file with its etag in a header.
 */
export class WebCache {
  readonly root: string;
  constructor(readonly name = 'srpose-hub') {
    this.root = `Cache API "${name}"`;
  }

  #url(repo: string, ...parts: string[]): string {
    return `https://srpose.invalid/models/${repo}/${parts.map(encodeURIComponent).join('/')}`;
  }

  #open(): Promise<Cache> {
    return caches.open(this.name);
  }

  async commitFor(repo: string, revision: string): Promise<string | undefined> {
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    const res = await (await this.#open()).match(this.#url(repo, 'refs', revision));
    const c = res ? (await res.text()).trim() : '';
    return /^[0-9a-f]{40}$/.test(c) ? c : undefined;
  }

  async setRef(repo: string, revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    // A branch moves: its commit is only a fallback for when the Hub cannot be asked.
    await (await this.#open()).put(
      this.#url(repo, 'refs', revision),
      new Response(commit, { headers: { 'Cache-Control': 'public, max-age=31536000' } }),
    );
  }

  async read(
    repo: string,
    commit: string,
    path: string,
  ): Promise<{ bytes: Uint8Array; size: number; etag?: string; verified: boolean } | undefined> {
    const res = await (await this.#open()).match(this.#url(repo, 'snapshots', commit, path));
    if (!res) return undefined;
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      bytes,
      size: bytes.byteLength,
      etag: res.headers.get('X-Etag') ?? undefined,
      // An entry carries no stamp that would change with its bytes: every read is hashed.
      verified: false,
    };
  }

  /** Nothing to record: see {@link read}. */
  markVerified(_repo: string, _etag: string): Promise<void> {
    return Promise.resolve();
  }

  /** `put` stores a whole response or nothing, so a partial entry cannot be read back. */
  async write(
    repo: string,
    commit: string,
    path: string,
    etag: string,
    bytes: Uint8Array,
  ): Promise<void> {
    // A snapshot file never changes (its commit and etag name it): keep it as long as the cache
    // will.
    const headers = {
      'X-Etag': etag,
      'Content-Length': String(bytes.byteLength),
      'Cache-Control': 'public, max-age=31536000, immutable',
    };
    const res = new Response(bytes as Uint8Array<ArrayBuffer>, { headers });
    await (await this.#open()).put(this.#url(repo, 'snapshots', commit, path), res);
  }

  async evict(repo: string, commit: string, path: string): Promise<void> {
    await (await this.#open()).delete(this.#url(repo, 'snapshots', commit, path));
  }
}
