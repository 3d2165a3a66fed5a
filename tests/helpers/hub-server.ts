// A Hugging Face Hub look-alike on 127.0.0.1 for tests: repositories in memory with branches,
// tags and commits, the endpoints @huggingface/hub 2.17.5 calls (model info, paths-info, tree,
// resolve with a CDN redirect for LFS files, whoami, create repo, preupload, the LFS batch API
// with basic transfers, NDJSON commits), the real Hub's status codes and headers, and fault
// injection. Only `node:http` and `node:crypto`, so it runs under Node (tsx) and Deno 2.
//
// What it copies from the real Hub, on purpose:
// - LFS files (by `.gitattributes`, binary content, or size over `lfsThreshold`) answer
//   `resolve` with a 302 to a CDN path on this server; `X-Repo-Commit`, `X-Linked-Etag`
//   (the sha256) and `X-Linked-Size` are on the 302 only. The CDN answer has its own ETag,
//   a 64-hex value that is NOT the file's sha256, like the Hub's CDN, and needs no token.
// - Regular files answer 200 with `ETag: "<git blob sha1>"` and `X-Repo-Commit`.
// - No token or a bad one on a private or missing repository: 401 `X-Error-Code: RepoNotFound`
//   (the Hub does not say which); a valid token on a missing one: 404 RepoNotFound. A token
//   that is not `options.token` is refused with 401 even on public repositories.
// - Missing file: 404 `X-Error-Code: EntryNotFound`; unknown revision: 404 RevisionNotFound.
// - Uploads never advertise xet: the LFS batch API answers `transfer: "basic"`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';

export interface HubServerOptions {
  /** The one valid access token (needed for private repositories and for every write). */
  token?: string;
  /** Name `whoami-v2` answers with. */
  user?: string;
  /** Files larger than this many bytes are stored in LFS (the Hub's limit is 10 MB). */
  lfsThreshold?: number;
  /** Port to listen on; 0 (default) picks a free one, kept across `stop()` / `start()`. */
  port?: number;
}

export interface HubRequest {
  method: string;
  /** Path and query as sent. */
  path: string;
  range?: string;
  auth?: string;
}

export interface CommitOptions {
  branch?: string;
  /** Also point this tag at the new commit. */
  tag?: string;
  title?: string;
}

export interface HubServer {
  /** `http://127.0.0.1:<port>`, to pass as `hubUrl`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: HubRequest[];
  addRepo(id: string, options?: { private?: boolean }): void;
  /**
   * Commits files (added or replaced; `null` deletes) on a branch (created from `main` when
   * new); returns the commit sha (40 hex, deterministic).
   */
  commit(id: string, files: Record<string, Uint8Array | null>, options?: CommitOptions): string;
  /** The bytes of a file at a revision, or undefined. */
  file(id: string, path: string, revision?: string): Uint8Array | undefined;
  /** Resolves a branch, tag or commit sha to a commit sha. */
  resolve(id: string, revision?: string): string | undefined;
  /**
   * Full-body GETs (status 200) of a file's content: `downloads(repo, path)` or, over all
   * repositories, `downloads(path)`.
   */
  downloads(repoOrPath: string, path?: string): number;
  /** The next `count` requests whose path and query match answer `status` (default 500). */
  failNext(pattern: RegExp, count?: number, status?: number): void;
  /**
   * The next full-body GET of matching content sends all headers, half the body, then drops the
   * connection.
   */
  truncateNext(pattern: RegExp): void;
  /**
   * The next full-body GET of matching content sends bytes of the right length but another hash.
   */
  corruptNext(pattern: RegExp): void;
  /** Stops listening and drops open connections; the repositories stay. */
  stop(): Promise<void>;
  /** Listens again, on the same port. */
  start(): Promise<void>;
}

const HUB_LFS_THRESHOLD = 10 * 1024 * 1024;
const EPOCH = Date.UTC(2024, 0, 1);
/** The patterns of the `.gitattributes` the Hub puts into every new repository (abridged). */
const DEFAULT_GITATTRIBUTES = [
  '*.7z',
  '*.arrow',
  '*.bin',
  '*.bz2',
  '*.ckpt',
  '*.ftz',
  '*.gz',
  '*.h5',
  '*.joblib',
  '*.mlmodel',
  '*.model',
  '*.msgpack',
  '*.npy',
  '*.npz',
  '*.onnx',
  '*.ot',
  '*.parquet',
  '*.pb',
  '*.pickle',
  '*.pkl',
  '*.pt',
  '*.pth',
  '*.rar',
  '*.safetensors',
  '*.tar.*',
  '*.tar',
  '*.tflite',
  '*.tgz',
  '*.wasm',
  '*.xz',
  '*.zip',
  '*.zst',
  '*tfevents*',
].map((p) => `${p} filter=lfs diff=lfs merge=lfs -text`).join('\n') + '\n';

interface Entry {
  bytes: Uint8Array;
  /** Git blob sha1 of the content, or of the LFS pointer for LFS files. */
  oid: string;
  lfs?: { sha256: string; pointerSize: number };
}

interface Commit {
  sha: string;
  parent?: string;
  title: string;
  date: string;
  tree: Map<string, Entry>;
}

interface Repo {
  id: string;
  objectId: string;
  private: boolean;
  createdAt: string;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  tags: Map<string, string>;
  /** LFS objects uploaded through the batch API, by sha256. */
  lfs: Map<string, Uint8Array>;
}

interface Fault {
  pattern: RegExp;
  kind: 'fail' | 'truncate' | 'corrupt';
  left: number;
  status: number;
}

const enc = new TextEncoder();

function hex(alg: 'sha1' | 'sha256', ...parts: (Uint8Array | string)[]): string {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function gitBlobSha1(bytes: Uint8Array): string {
  return hex('sha1', `blob ${bytes.byteLength}\0`, bytes);
}

function lfsPointer(sha256: string, size: number): Uint8Array {
  return enc.encode(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`,
  );
}

/** `*.onnx`-style `.gitattributes` patterns with `filter=lfs`, as regular expressions. */
function lfsPatterns(gitattributes: string): RegExp[] {
  const out: RegExp[] = [];
  for (const line of gitattributes.split('\n')) {
    const [pattern, ...attrs] = line.trim().split(/\s+/);
    if (!pattern || pattern.startsWith('#') || !attrs.includes('filter=lfs')) continue;
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('**', '\0').replaceAll(
      '*',
      '[^/]*',
    )
      .replaceAll('\0', '.*').replaceAll('?', '[^/]');
    out.push(new RegExp(pattern.includes('/') ? `^${body.replace(/^\//, '')}$` : `(^|/)${body}$`));
  }
  return out;
}

/** Whether the Hub would store a file in LFS: `.gitattributes`, binary sample, or size. */
function isLfs(
  path: string,
  size: number,
  sample: Uint8Array,
  gitattributes: string,
  threshold: number,
): boolean {
  if (path === '.gitattributes') return false;
  if (size > threshold || sample.subarray(0, 512).includes(0)) return true;
  return lfsPatterns(gitattributes).some((re) => re.test(path));
}

function rangeOf(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'bad' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return 'bad';
  let start: number;
  let end: number;
  if (!m[1]) {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  }
  return start > end || start >= size ? 'bad' : { start, end };
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    req.on('data', (c: Uint8Array) => parts.push(c));
    req.on('end', () => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.byteLength;
      }
      resolve(out);
    });
    req.on('error', reject);
  });
}

function decoded(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

function contentType(path: string): string {
  if (path.endsWith('.json')) return 'application/json; charset=utf-8';
  if (/\.(md|txt|gitattributes)$/.test(path) || path === '.gitattributes') {
    return 'text/plain; charset=utf-8';
  }
  return 'application/octet-stream';
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

/** Starts a Hub-compatible server on 127.0.0.1 (see the top of this file). */
export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const threshold = options.lfsThreshold ?? HUB_LFS_THRESHOLD;
  const user = options.user ?? 'srpose-test';
  const repos = new Map<string, Repo>();
  const requests: HubRequest[] = [];
  const downloads = new Map<string, number>();
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  let port = options.port ?? 0;
  let server: Server | undefined;
  let clock = 0;
  let requestId = 0;
  const base = () => `http://127.0.0.1:${port}`;

  // ---- the repository model -------------------------------------------------------------

  function repoOf(id: string): Repo | undefined {
    return repos.get(id);
  }

  function addRepo(id: string, opts: { private?: boolean } = {}): Repo {
    if (!/^[\w.-]+\/[\w.-]+$/.test(id)) throw new Error(`repository id must be owner/name: ${id}`);
    if (repos.has(id)) throw new Error(`repository ${id} exists`);
    const repo: Repo = {
      id,
      objectId: hex('sha1', 'repo', id).slice(0, 24),
      private: !!opts.private,
      createdAt: new Date(EPOCH + clock++ * 60_000).toISOString(),
      commits: new Map(),
      branches: new Map(),
      tags: new Map(),
      lfs: new Map(),
    };
    repos.set(id, repo);
    // Like the Hub: a new repository has one commit holding `.gitattributes`.
    commitTo(repo, { '.gitattributes': enc.encode(DEFAULT_GITATTRIBUTES) }, {
      title: 'initial commit',
    });
    return repo;
  }

  function resolveRev(repo: Repo, rev = 'main'): Commit | undefined {
    if (rev === 'HEAD') rev = 'main';
    const sha = repo.branches.get(rev) ?? repo.tags.get(rev) ??
      (/^[0-9a-f]{40}$/.test(rev) && repo.commits.has(rev) ? rev : undefined);
    return sha ? repo.commits.get(sha) : undefined;
  }

  function entryFor(
    repo: Repo,
    tree: Map<string, Entry>,
    path: string,
    bytes: Uint8Array,
    lfs?: boolean,
  ): Entry {
    const attrs = tree.get('.gitattributes');
    const gitattributes = attrs ? new TextDecoder().decode(attrs.bytes) : '';
    if (lfs ?? isLfs(path, bytes.byteLength, bytes, gitattributes, threshold)) {
      const sha256 = hex('sha256', bytes);
      const pointer = lfsPointer(sha256, bytes.byteLength);
      repo.lfs.set(sha256, bytes);
      return { bytes, oid: gitBlobSha1(pointer), lfs: { sha256, pointerSize: pointer.byteLength } };
    }
    return { bytes, oid: gitBlobSha1(bytes) };
  }

  function commitTo(
    repo: Repo,
    files: Record<string, Uint8Array | null | { lfs: Uint8Array }>,
    opts: CommitOptions & { parentCommit?: string },
  ): string {
    const branch = opts.branch ?? 'main';
    const parentSha = repo.branches.get(branch) ?? repo.branches.get('main');
    if (opts.parentCommit && opts.parentCommit !== parentSha) {
      throw new HttpError(412, `parent commit ${opts.parentCommit} is not the head of ${branch}`);
    }
    const parent = parentSha ? repo.commits.get(parentSha) : undefined;
    const tree = new Map(parent?.tree ?? []);
    // `.gitattributes` first: it decides how the other files are stored.
    const paths = Object.keys(files).sort((a, b) =>
      Number(b === '.gitattributes') - Number(a === '.gitattributes')
    );
    for (const path of paths) {
      const v = files[path];
      if (v === null) tree.delete(path);
      else if (v instanceof Uint8Array) tree.set(path, entryFor(repo, tree, path, v.slice()));
      else tree.set(path, entryFor(repo, tree, path, v.lfs, true));
    }
    const title = opts.title ?? `Upload ${paths.length} files`;
    const listing = [...tree].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, e]) => `${e.oid} ${p}`)
      .join('\n');
    const sha = hex('sha1', `commit\n${listing}\nparent ${parentSha ?? ''}\n${title}\n${branch}`);
    if (!repo.commits.has(sha)) {
      repo.commits.set(sha, {
        sha,
        parent: parentSha,
        title,
        date: new Date(EPOCH + clock++ * 60_000).toISOString(),
        tree,
      });
    }
    repo.branches.set(branch, sha);
    if (opts.tag) repo.tags.set(opts.tag, sha);
    return sha;
  }

  /** The newest commit (from `head` back) that changed `path` (a file, or a folder's files). */
  function lastCommit(repo: Repo, head: Commit, path: string): Commit {
    const sig = (c: Commit | undefined) => {
      if (!c) return '';
      const e = c.tree.get(path);
      if (e) return e.oid;
      return [...c.tree].filter(([p]) => p.startsWith(path + '/')).map(([p, x]) => p + x.oid).sort()
        .join();
    };
    let c = head;
    for (;;) {
      const parent = c.parent ? repo.commits.get(c.parent) : undefined;
      if (!parent || sig(parent) !== sig(c)) return c;
      c = parent;
    }
  }

  function pathInfo(
    repo: Repo,
    commit: Commit,
    path: string,
    expand: boolean,
  ): Record<string, unknown> | undefined {
    const last = () => {
      const c = lastCommit(repo, commit, path);
      return {
        lastCommit: { id: c.sha, title: c.title, date: c.date },
        securityFileStatus: { status: 'safe' },
      };
    };
    const e = commit.tree.get(path);
    if (e) {
      return {
        type: 'file',
        oid: e.oid,
        size: e.bytes.byteLength,
        ...(e.lfs &&
          { lfs: { oid: e.lfs.sha256, size: e.bytes.byteLength, pointerSize: e.lfs.pointerSize } }),
        path,
        ...(expand && last()),
      };
    }
    const inside = [...commit.tree].filter(([p]) => path === '' || p.startsWith(path + '/'));
    if (!inside.length || path === '') return undefined;
    return {
      type: 'directory',
      oid: hex('sha1', inside.map(([p, x]) => p + x.oid).join()),
      size: 0,
      path,
      ...(expand && last()),
    };
  }

  // ---- HTTP ---------------------------------------------------------------------------

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string | number>,
    body: Uint8Array | string = '',
  ): void {
    const bytes = typeof body === 'string' ? enc.encode(body) : body;
    res.writeHead(status, {
      'X-Request-Id': `Root=1-${(++requestId).toString(16)}`,
      'Content-Length': bytes.byteLength,
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  function json(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
  ): void {
    send(
      req,
      res,
      status,
      { 'Content-Type': 'application/json; charset=utf-8', ...headers },
      JSON.stringify(value),
    );
  }

  function fail(req: IncomingMessage, res: ServerResponse, e: HttpError, api: boolean): void {
    const headers: Record<string, string> = { 'X-Error-Message': e.message };
    if (e.code) headers['X-Error-Code'] = e.code;
    if (api) json(req, res, e.status, { error: e.message }, headers);
    else {send(
        req,
        res,
        e.status,
        { 'Content-Type': 'text/plain; charset=utf-8', ...headers },
        e.message,
      );}
  }

  /** The token check: undefined (anonymous), true (the valid token), or a 401. */
  function authOf(req: IncomingMessage): boolean | undefined {
    const h = req.headers.authorization;
    if (!h) return undefined;
    if (options.token && h === `Bearer ${options.token}`) return true;
    throw new HttpError(401, 'Invalid credentials in Authorization header');
  }

  function readableRepo(req: IncomingMessage, id: string): Repo {
    const authed = authOf(req);
    const repo = repoOf(id);
    if (!repo || (repo.private && !authed)) {
      if (authed) throw new HttpError(404, 'Repository not found', 'RepoNotFound');
      throw new HttpError(401, 'Invalid username or password.', 'RepoNotFound');
    }
    return repo;
  }

  function writableRepo(req: IncomingMessage, id: string): Repo {
    if (!authOf(req)) throw new HttpError(401, 'Invalid username or password.', 'RepoNotFound');
    const repo = repoOf(id);
    if (!repo) throw new HttpError(404, 'Repository not found', 'RepoNotFound');
    return repo;
  }

  function commitAt(repo: Repo, rev: string): Commit {
    const c = resolveRev(repo, rev);
    if (!c) throw new HttpError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound');
    return c;
  }

  function takeFault(url: string, kinds: Fault['kind'][]): Fault | undefined {
    const f = faults.find((x) => kinds.includes(x.kind) && x.left > 0 && x.pattern.test(url));
    if (f && --f.left === 0) faults.splice(faults.indexOf(f), 1);
    return f;
  }

  /** File bytes with Range support; a full GET counts as a download and may carry a fault. */
  function serveContent(
    req: IncomingMessage,
    res: ServerResponse,
    bytes: Uint8Array,
    key: string,
    headers: Record<string, string | number>,
  ): void {
    const size = bytes.byteLength;
    const range = rangeOf(req.headers.range, size);
    const common = { 'Accept-Ranges': 'bytes', ...headers };
    if (range === 'bad') {
      return send(req, res, 416, { ...common, 'Content-Range': `bytes */${size}` });
    }
    if (range) {
      return send(req, res, 206, {
        ...common,
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      }, bytes.subarray(range.start, range.end + 1));
    }
    if (req.method !== 'GET') return send(req, res, 200, common, bytes);
    downloads.set(key, (downloads.get(key) ?? 0) + 1);
    const fault = takeFault(decoded(req.url ?? ''), ['truncate', 'corrupt']);
    if (fault?.kind === 'corrupt') {
      const bad = bytes.slice();
      bad[bad.length >> 1] ^= 0xff;
      return send(req, res, 200, common, bad);
    }
    if (fault?.kind === 'truncate') {
      res.writeHead(200, { ...common, 'Content-Length': size });
      res.write(
        bytes.subarray(0, size >> 1),
        () => setTimeout(() => (res.socket ?? req.socket)?.destroy(), 20),
      );
      return;
    }
    send(req, res, 200, common, bytes);
  }

  function resolveFile(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    rev: string,
    path: string,
    raw: boolean,
  ): void {
    const repo = readableRepo(req, id);
    const commit = commitAt(repo, rev);
    const e = commit.tree.get(path);
    if (!e) throw new HttpError(404, 'Entry not found', 'EntryNotFound');
    const name = path.split('/').pop()!;
    const headers = {
      'X-Repo-Commit': commit.sha,
      'Content-Disposition': `inline; filename*=UTF-8''${
        encodeURIComponent(name)
      }; filename="${name}";`,
      Vary: 'Origin, Accept',
    };
    if (e.lfs && raw) {
      const pointer = lfsPointer(e.lfs.sha256, e.bytes.byteLength);
      return serveContent(req, res, pointer, `${id}/${path}@raw`, {
        ...headers,
        'Content-Type': 'text/plain; charset=utf-8',
        ETag: `"${e.oid}"`,
      });
    }
    if (e.lfs) {
      const [owner, name_] = id.split('/');
      const location = `${base()}/_lfs/${owner}/${name_}/${e.lfs.sha256}?filename=${
        encodeURIComponent(path)
      }&expires=${EPOCH / 1000 + 3600}`;
      return send(req, res, 302, {
        ...headers,
        Location: location,
        'Content-Type': 'text/plain; charset=utf-8',
        'Accept-Ranges': 'bytes',
        'X-Linked-Size': e.bytes.byteLength,
        'X-Linked-Etag': `"${e.lfs.sha256}"`,
      }, `Found. Redirecting to ${location}`);
    }
    serveContent(req, res, e.bytes, `${id}/${path}`, {
      ...headers,
      'Content-Type': contentType(path),
      ETag: `"${e.oid}"`,
    });
  }

  function modelJson(repo: Repo, commit: Commit, blobs: boolean): Record<string, unknown> {
    const [author] = repo.id.split('/');
    return {
      _id: repo.objectId,
      id: repo.id,
      modelId: repo.id,
      author,
      sha: commit.sha,
      lastModified: commit.date,
      createdAt: repo.createdAt,
      private: repo.private,
      disabled: false,
      gated: false,
      downloads: 0,
      likes: 0,
      tags: [],
      library_name: 'onnx',
      siblings: [...commit.tree.keys()].sort().map((rfilename) => {
        if (!blobs) return { rfilename };
        const e = commit.tree.get(rfilename)!;
        return {
          rfilename,
          blobId: e.oid,
          size: e.bytes.byteLength,
          ...(e.lfs &&
            {
              lfs: {
                sha256: e.lfs.sha256,
                size: e.bytes.byteLength,
                pointerSize: e.lfs.pointerSize,
              },
            }),
        };
      }),
      spaces: [],
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const segs = url.pathname.split('/').slice(1).map(decoded);
    const method = req.method ?? 'GET';
    const api = segs[0] === 'api';
    try {
      // GET /api/whoami-v2
      if (api && segs[1] === 'whoami-v2') {
        if (!authOf(req)) throw new HttpError(401, 'Invalid username or password.');
        return json(req, res, 200, {
          type: 'user',
          id: hex('sha1', user).slice(0, 24),
          name: user,
          fullname: user,
          email: `${user}@example.com`,
          emailVerified: true,
          isPro: false,
          canPay: false,
          periodEnd: null,
          avatarUrl: '',
          orgs: [],
          auth: {
            type: 'access_token',
            accessToken: {
              displayName: 'test',
              role: 'write',
              createdAt: new Date(EPOCH).toISOString(),
            },
          },
        });
      }
      // POST /api/repos/create
      if (api && segs[1] === 'repos' && segs[2] === 'create' && method === 'POST') {
        if (!authOf(req)) throw new HttpError(401, 'Invalid username or password.');
        const body = JSON.parse(new TextDecoder().decode(await readBody(req)));
        if ((body.type ?? 'model') !== 'model') {
          throw new HttpError(400, `only model repositories here, not ${body.type}`);
        }
        const id = `${body.organization ?? user}/${body.name}`;
        if (repos.has(id)) {
          return json(req, res, 409, {
            error: 'You already created this model repo',
            url: `${base()}/${id}`,
          });
        }
        const repo = addRepo(id, { private: body.private ?? body.visibility === 'private' });
        if (body.files?.length) {
          const files: Record<string, Uint8Array> = {};
          for (const f of body.files) {
            files[f.path] = Uint8Array.from(atob(f.content), (c) => c.charCodeAt(0));
          }
          commitTo(repo, files, { title: 'initial files' });
        }
        return json(req, res, 200, { url: `${base()}/${id}`, name: id, id: repo.objectId });
      }
      // /api/models/{owner}/{name}[/{what}/{rev}[/{path}]]
      if (api && segs[1] === 'models' && segs.length >= 4) {
        const id = `${segs[2]}/${segs[3]}`;
        const what = segs[4];
        const rev = segs[5] ?? 'main';
        const rest = segs.slice(6).join('/');
        if (!what || what === 'revision') {
          const repo = readableRepo(req, id);
          return json(
            req,
            res,
            200,
            modelJson(
              repo,
              commitAt(repo, what ? rev : 'main'),
              url.searchParams.get('blobs') === 'true',
            ),
          );
        }
        if (what === 'paths-info' && method === 'POST') {
          const repo = readableRepo(req, id);
          const commit = commitAt(repo, rev);
          const raw = new TextDecoder().decode(await readBody(req));
          let paths: string[];
          let expand: boolean;
          if ((req.headers['content-type'] ?? '').includes('json')) {
            const body = JSON.parse(raw);
            paths = [body.paths ?? []].flat();
            expand = body.expand === true || body.expand === 'true';
          } else {
            const form = new URLSearchParams(raw);
            paths = form.getAll('paths');
            expand = /^true$/i.test(form.get('expand') ?? '');
          }
          const out = paths.map((p) => pathInfo(repo, commit, p.replace(/^\/+|\/+$/g, ''), expand))
            .filter((x) => x);
          return json(req, res, 200, out);
        }
        if (what === 'tree' && (method === 'GET' || method === 'HEAD')) {
          const repo = readableRepo(req, id);
          const commit = commitAt(repo, rev);
          const dir = rest.replace(/\/+$/, '');
          const recursive = url.searchParams.get('recursive') === 'true';
          const expand = url.searchParams.get('expand') === 'true';
          const inside = [...commit.tree.keys()].filter((p) =>
            dir === '' || p.startsWith(dir + '/')
          );
          if (dir && !inside.length) {
            throw new HttpError(404, `Entry not found: ${dir}`, 'EntryNotFound');
          }
          const names = new Set<string>();
          for (const p of inside) {
            const parts = p.slice(dir ? dir.length + 1 : 0).split('/');
            const prefix = dir ? dir + '/' : '';
            if (recursive) {
              for (let i = 1; i < parts.length; i++) {
                names.add(prefix + parts.slice(0, i).join('/'));
              }
              names.add(p);
            } else names.add(prefix + parts[0]);
          }
          return json(
            req,
            res,
            200,
            [...names].sort().map((p) => pathInfo(repo, commit, p, expand)),
          );
        }
        if (what === 'preupload' && method === 'POST') {
          const repo = writableRepo(req, id);
          const commit = commitAt(repo, rev);
          const body = JSON.parse(new TextDecoder().decode(await readBody(req)));
          const attrs = body.gitAttributes ??
            (commit.tree.get('.gitattributes')
              ? new TextDecoder().decode(commit.tree.get('.gitattributes')!.bytes)
              : '');
          const files = (body.files ?? []).map(
            (f: { path: string; size: number; sample: string }) => {
              const sample = Uint8Array.from(atob(f.sample ?? ''), (c) => c.charCodeAt(0));
              return {
                path: f.path,
                uploadMode: isLfs(f.path, f.size, sample, attrs, threshold) ? 'lfs' : 'regular',
                shouldIgnore: false,
              };
            },
          );
          return json(req, res, 200, { files, commitOid: commit.sha });
        }
        if (what === 'commit' && method === 'POST') {
          const repo = writableRepo(req, id);
          if (!repo.branches.has(rev)) {
            throw new HttpError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound');
          }
          const lines = new TextDecoder().decode(await readBody(req)).split('\n').filter((l) =>
            l.trim()
          );
          const files: Record<string, Uint8Array | null | { lfs: Uint8Array }> = {};
          let header: { summary?: string; parentCommit?: string } = {};
          for (const line of lines) {
            const { key, value } = JSON.parse(line);
            if (key === 'header') header = value;
            else if (key === 'file') {
              files[value.path] = value.encoding === 'base64'
                ? Uint8Array.from(atob(value.content ?? ''), (c) => c.charCodeAt(0))
                : enc.encode(value.content ?? '');
            } else if (key === 'lfsFile') {
              const bytes = repo.lfs.get(value.oid);
              if (!bytes || (value.size !== undefined && value.size !== bytes.byteLength)) {
                throw new HttpError(
                  422,
                  `LFS pointer ${value.path} points to an ` +
                    `object that was not uploaded: ${value.oid}`,
                );
              }
              files[value.path] = { lfs: bytes };
            } else if (key === 'deletedFile') files[value.path] = null;
            else throw new HttpError(400, `unsupported commit operation ${key}`);
          }
          const sha = commitTo(repo, files, {
            branch: rev,
            title: header.summary,
            parentCommit: header.parentCommit,
          });
          return json(req, res, 200, {
            success: true,
            commitOid: sha,
            commitUrl: `${base()}/${id}/commit/${sha}`,
            hookOutput: '',
          });
        }
        throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
      }
      // POST /{owner}/{name}.git/info/lfs/objects/batch
      if (
        segs.length === 6 && segs[1].endsWith('.git') &&
        segs.slice(2).join('/') === 'info/lfs/objects/batch' && method === 'POST'
      ) {
        const id = `${segs[0]}/${segs[1].slice(0, -4)}`;
        const body = JSON.parse(new TextDecoder().decode(await readBody(req)));
        const repo = body.operation === 'upload' ? writableRepo(req, id) : readableRepo(req, id);
        const objects = (body.objects ?? []).map((o: { oid: string; size: number }) => {
          const have = repo.lfs.get(o.oid);
          const href = `${base()}/_lfs/${id}/${o.oid}`;
          if (body.operation === 'download') {
            if (!have) {
              return {
                oid: o.oid,
                size: o.size,
                error: { code: 404, message: 'Object does not exist' },
              };
            }
            return {
              oid: o.oid,
              size: o.size,
              authenticated: true,
              actions: { download: { href, expires_in: 3600 } },
            };
          }
          if (have) return { oid: o.oid, size: o.size }; // already uploaded: no action
          return {
            oid: o.oid,
            size: o.size,
            authenticated: true,
            actions: {
              upload: {
                href: `${base()}/_lfs-upload/${id}/${o.oid}?size=${o.size}`,
                expires_in: 3600,
              },
            },
          };
        });
        return send(
          req,
          res,
          200,
          { 'Content-Type': 'application/vnd.git-lfs+json' },
          JSON.stringify({ transfer: 'basic', objects }),
        );
      }
      // PUT /_lfs-upload/{owner}/{name}/{sha256}: the presigned "S3" upload, checked by sha256
      if (segs[0] === '_lfs-upload' && segs.length === 4 && method === 'PUT') {
        const repo = repoOf(`${segs[1]}/${segs[2]}`);
        if (!repo) throw new HttpError(404, 'NoSuchBucket');
        const bytes = await readBody(req);
        const size = Number(url.searchParams.get('size') ?? bytes.byteLength);
        if (bytes.byteLength !== size || hex('sha256', bytes) !== segs[3]) {
          throw new HttpError(
            400,
            `upload of ${segs[3]}: got ${bytes.byteLength} bytes with another sha256`,
          );
        }
        repo.lfs.set(segs[3], bytes);
        return send(req, res, 200, { ETag: `"${hex('sha1', 'etag', bytes).slice(0, 32)}"` });
      }
      // GET|HEAD /_lfs/{owner}/{name}/{sha256}: the CDN (signed URL; no token needed)
      if (segs[0] === '_lfs' && segs.length === 4 && (method === 'GET' || method === 'HEAD')) {
        const repo = repoOf(`${segs[1]}/${segs[2]}`);
        const bytes = repo?.lfs.get(segs[3]);
        if (!repo || !bytes) {
          return send(
            req,
            res,
            404,
            { 'Content-Type': 'application/xml' },
            '<Error><Code>NoSuchKey</Code></Error>',
          );
        }
        const file = url.searchParams.get('filename') ?? segs[3];
        const name = file.split('/').pop()!;
        return serveContent(req, res, bytes, `${repo.id}/${file}`, {
          'Content-Type': 'binary/octet-stream',
          // Like the Hub's CDN: an ETag of its own, not the file's sha256.
          ETag: `"${hex('sha256', 'cdn', segs[3])}"`,
          'Content-Disposition': `inline; filename*=UTF-8''${
            encodeURIComponent(name)
          }; filename="${name}";`,
          'X-Cache': 'Miss from cloudfront',
        });
      }
      // GET|HEAD /{owner}/{name}/resolve|raw/{rev}/{path}
      if (
        segs.length >= 5 && (segs[2] === 'resolve' || segs[2] === 'raw') &&
        (method === 'GET' || method === 'HEAD')
      ) {
        return resolveFile(
          req,
          res,
          `${segs[0]}/${segs[1]}`,
          segs[3],
          segs.slice(4).join('/'),
          segs[2] === 'raw',
        );
      }
      throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
    } catch (e) {
      if (e instanceof HttpError) return fail(req, res, e, api);
      if (e instanceof SyntaxError) {
        return fail(req, res, new HttpError(400, `bad request body: ${e.message}`), api);
      }
      throw e;
    }
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    // As the Hub: readable from a page of another origin (the browser bench's demo page)
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, POST',
        'Access-Control-Allow-Headers': '*',
        'Access-Control-Max-Age': '600',
      }).end();
      return;
    }
    requests.push({
      method: req.method ?? 'GET',
      path,
      ...(req.headers.range && { range: req.headers.range }),
      ...(req.headers.authorization && { auth: req.headers.authorization }),
    });
    const fault = takeFault(decoded(path), ['fail']);
    if (fault) {
      req.resume();
      return json(
        req,
        res,
        fault.status,
        { error: `injected failure ${fault.status}` },
        fault.status === 429 ? { 'Retry-After': '0' } : {},
      );
    }
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(req, res, 500, { error: String(e?.message ?? e) });
      else res.destroy();
    });
  }

  function start(): Promise<void> {
    if (server) return Promise.resolve();
    const s = createServer(onRequest);
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const addr = s.address();
        if (addr && typeof addr === 'object') port = addr.port;
        server = s;
        resolve();
      });
    });
  }

  function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      for (const sock of sockets) sock.destroy();
      sockets.clear();
    });
  }

  await start();

  return {
    get url() {
      return base();
    },
    get port() {
      return port;
    },
    requests,
    addRepo(id, opts) {
      addRepo(id, opts);
    },
    commit(id, files, opts = {}) {
      const repo = repoOf(id);
      if (!repo) throw new Error(`no repository ${id}: addRepo first`);
      return commitTo(repo, files, opts);
    },
    file(id, path, revision) {
      const repo = repoOf(id);
      return repo && resolveRev(repo, revision)?.tree.get(path)?.bytes;
    },
    resolve(id, revision) {
      const repo = repoOf(id);
      return repo && resolveRev(repo, revision)?.sha;
    },
    downloads(repoOrPath, path) {
      if (path !== undefined) return downloads.get(`${repoOrPath}/${path}`) ?? 0;
      let n = 0;
      for (const [k, v] of downloads) if (k.split('/').slice(2).join('/') === repoOrPath) n += v;
      return n;
    },
    failNext(pattern, count = 1, status = 500) {
      faults.push({ pattern, kind: 'fail', left: count, status });
    },
    truncateNext(pattern) {
      faults.push({ pattern, kind: 'truncate', left: 1, status: 200 });
    },
    corruptNext(pattern) {
      faults.push({ pattern, kind: 'corrupt', left: 1, status: 200 });
    },
    stop,
    start,
  };
}
