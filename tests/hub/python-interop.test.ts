// The disk cache against the REAL Python `huggingface_hub`, both ways: what Python downloads
// we load (offline, and online with the Hub stopped or up without downloading again), and what
// we download Python finds with HF_HUB_OFFLINE / local_files_only, and scan_cache_dir accepts.
// Branches and tags pin the same snapshots on both sides.
//
// Python's library is found on PYTHONPATH, with the directory SRPOSE_HF_HUB_PY (a checkout's
// `src/`, or any folder holding the `huggingface_hub` package) put first. Neither Debian nor
// the npm registry has that package, so the suite is opt-in: it runs only with SRPOSE_HF_HUB_PY
// set (tests/suites.ts), and skips (a CI failure) when that does not import.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import process from 'node:process';
import { PYTHON, requirement, ROOT, tempDir } from '../helpers/env.ts';
import { tinyModelFiles } from '../helpers/tiny.ts';
import { rejects } from '../helpers/assert.ts';
import { type HubServer, startHubServer } from '../helpers/hub-server.ts';
import { createEstimator, estimate } from '../../src/estimator/estimator.ts';
import { hubFile } from '../../src/hub/download.ts';
import type { EstimatorOptions } from '../../src/types.ts';

const img = {
  data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) & 255),
  width: 40,
  height: 30,
};
const HF_HUB_PY = process.env.SRPOSE_HF_HUB_PY ?? '';

/** What Python runs: `argv[1]` is a JSON request, the last stdout line a JSON answer. */
const SCRIPT = String.raw`
import json, sys
req = json.loads(sys.argv[1])
import huggingface_hub as hf
out = {"version": hf.__version__, "file": hf.__file__}
if req["op"] == "download":
    out["paths"] = {
        f: hf.hf_hub_download(
            req["repo"], f, revision=req.get("revision"), cache_dir=req["cache_dir"],
            endpoint=req.get("endpoint"), local_files_only=req.get("local_files_only", False),
        )
        for f in req["files"]
    }
elif req["op"] == "scan":
    info = hf.scan_cache_dir(req["cache_dir"])
    out["size_on_disk"] = info.size_on_disk
    out["warnings"] = [repr(w) for w in info.warnings]
    out["repos"] = [
        {
            "repo_id": r.repo_id, "repo_type": r.repo_type, "size_on_disk": r.size_on_disk,
            "nb_files": r.nb_files, "refs": sorted(r.refs),
            "revisions": sorted(
                [
                    {
                        "commit": v.commit_hash,
                        "refs": sorted(v.refs),
                        "size_on_disk": v.size_on_disk,
                        "files": sorted(
                            str(f.file_path.relative_to(v.snapshot_path)) for f in v.files
                        ),
                    }
                    for v in r.revisions
                ],
                key=lambda v: v["commit"],
            ),
        }
        for r in info.repos
    ]
print(json.dumps(out))
`;

interface PyResult {
  version: string;
  file: string;
  paths?: Record<string, string>;
  size_on_disk?: number;
  warnings?: string[];
  repos?: {
    repo_id: string;
    repo_type: string;
    size_on_disk: number;
    nb_files: number;
    refs: string[];
    revisions: { commit: string; refs: string[]; size_on_disk: number; files: string[] }[];
  }[];
}

/**
 * Runs SCRIPT with `request` under an environment of our own: no token, home or cache of the
 * user's, telemetry, progress bars and xet off, plus `env`.
 */
function py(request: Record<string, unknown>, env: Record<string, string> = {}): Promise<PyResult> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      !k.startsWith('HF_') && k !== 'HUGGING_FACE_HUB_TOKEN'
    ),
  );
  const pythonPath = [HF_HUB_PY, process.env.PYTHONPATH].filter((p) => p).join(delimiter);
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, ['-c', SCRIPT, JSON.stringify(request)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...base,
        ...(pythonPath && { PYTHONPATH: pythonPath }),
        HF_HOME: pyHome,
        HF_HUB_DISABLE_TELEMETRY: '1',
        HF_HUB_DISABLE_XET: '1',
        HF_HUB_DISABLE_PROGRESS_BARS: '1',
        HF_HUB_DISABLE_IMPLICIT_TOKEN: '1',
        HF_HUB_ETAG_TIMEOUT: '5',
        HF_HUB_DOWNLOAD_TIMEOUT: '10',
        ...env,
      },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        return reject(
          new Error(
            `python huggingface_hub ${JSON.stringify(request)} exited ${code}: ${err.slice(-3000)}`,
          ),
        );
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        reject(
          new Error(`python huggingface_hub: not JSON: ${out.slice(-500)} ${err.slice(-1000)}`),
        );
      }
    });
  });
}

let pyHome = '';
/** Whether `import huggingface_hub` works, and its version or the import error. */
async function probe(): Promise<{ ok: boolean; detail: string }> {
  pyHome = await tempDir('srpose-pyhfhome-');
  try {
    const r = await py({ op: 'version' });
    return { ok: true, detail: `${r.version} (${r.file})` };
  } catch (e) {
    const msg = String((e as Error).message).trim().split('\n').pop() ?? '';
    return { ok: false, detail: msg };
  }
}

const hf = await probe();
const SKIP_WHY = `Python huggingface_hub is not importable by ${PYTHON} (${hf.detail}): ` +
  `set SRPOSE_HF_HUB_PY to a directory holding the huggingface_hub package ` +
  `(e.g. a huggingface_hub checkout's src/) to run the interop tests`;
const skip = requirement([hf.ok, SKIP_WHY]);
if (hf.ok) console.log(`  [python-interop] huggingface_hub ${hf.detail}`);

const modelFiles = tinyModelFiles;

const FILES = ['srpose.json', 'model.onnx'];
let server: HubServer;

const ours = (
  cacheDir: string,
  over: Partial<EstimatorOptions> = {},
): Omit<EstimatorOptions, 'model'> => ({
  hubUrl: server.url,
  cacheDir,
  backend: 'wasm',
  ...over,
});

function downloadCounts(repo: string): number[] {
  return FILES.map((f) => server.downloads(repo, f));
}

/**
 * `path` is `<cache>/models--owner--name/snapshots/<commit>/<file>`, a relative symlink to its
 * blob.
 */
function assertSnapshotPath(
  path: string,
  cacheDir: string,
  repo: string,
  commit: string,
  file: string,
): void {
  assert.is(
    relative(cacheDir, path),
    join(`models--${repo.replace('/', '--')}`, 'snapshots', commit, file),
  );
  assert.ok(lstatSync(path).isSymbolicLink(), `${path} is a symlink`);
  assert.match(readlinkSync(path), /^\.\.\/\.\.\/blobs\/([0-9a-f]{40}|[0-9a-f]{64})$/);
}

test.before(async () => {
  if (!hf.ok) return;
  server = await startHubServer();
  server.addRepo('py/first');
  server.commit('py/first', await modelFiles(0));
  server.addRepo('ts/first');
  server.commit('ts/first', await modelFiles(0));
  server.addRepo('pin/tiny');
  server.commit('pin/tiny', await modelFiles(0), { tag: 'v1' });
  server.commit('pin/tiny', await modelFiles(3));
});
test.after(async () => {
  await server?.stop();
});

test(
  'Python downloads first: we load its cache offline, ' +
    'with the Hub stopped, and with it up without downloading',
  async () => {
    if (skip()) return;
    const repo = 'py/first';
    const cacheDir = await tempDir('srpose-pycache-');
    const commit = server.resolve(repo)!;
    const r = await py({
      op: 'download',
      repo,
      files: FILES,
      cache_dir: cacheDir,
      endpoint: server.url,
    }, { HF_ENDPOINT: server.url });
    for (const f of FILES) {
      assertSnapshotPath(r.paths![f], cacheDir, repo, commit, f);
      assert.equal(
        new Uint8Array(readFileSync(r.paths![f])),
        server.file(repo, f),
        `Python's ${f}`,
      );
    }
    assert.is(readFileSync(join(cacheDir, 'models--py--first', 'refs', 'main'), 'utf8'), commit);
    const counts = downloadCounts(repo);
    assert.equal(counts, [1, 1], 'Python downloaded each file once');

    // Offline, then with the Hub unreachable: Python's snapshot, checked against its blob names.
    await server.stop();
    let offline;
    let unreachable;
    try {
      const est = await createEstimator({ model: repo, ...ours(cacheDir, { offline: true }) });
      try {
        offline = await est.estimate(img);
      } finally {
        await est.dispose();
      }
      unreachable = await estimate(img, { model: repo, ...ours(cacheDir, { offline: false }) });
      for (const f of FILES) {
        const got = await hubFile({ repo, revision: 'main' }, f, {
          hubUrl: server.url,
          cacheDir,
          offline: true,
        });
        assert.is(got.commit, commit);
        assert.equal(got.bytes, server.file(repo, f));
      }
    } finally {
      await server.start();
    }
    assert.is(offline.people.length, 1);
    assert.equal(unreachable.people, offline.people);
    assert.equal(downloadCounts(repo), counts, "nothing downloaded while loading Python's cache");

    // The Hub up: our client asks for the commit and hashes, finds Python's blobs valid, downloads
    // nothing.
    const online = await estimate(img, { model: repo, ...ours(cacheDir) });
    assert.equal(online.people, offline.people);
    assert.equal(downloadCounts(repo), counts, "Python's blobs reused with the Hub up");
    const blobs = readdirSync(join(cacheDir, 'models--py--first', 'blobs')).sort();
    assert.is(blobs.length, 2, `only Python's two blobs: ${blobs}`);
  },
);

test(
  'we download first: Python finds our cache with ' +
    'HF_HUB_OFFLINE and local_files_only, scan_cache_dir agrees',
  async () => {
    if (skip()) return;
    const repo = 'ts/first';
    const cacheDir = await tempDir('srpose-tscache-');
    const commit = server.resolve(repo)!;
    assert.is((await estimate(img, { model: repo, ...ours(cacheDir) })).people.length, 1);
    const counts = downloadCounts(repo);
    assert.equal(counts, [1, 1]);
    const requests = server.requests.length;

    const request = { op: 'download', repo, files: FILES, cache_dir: cacheDir };
    for (
      const [how, r] of [
        ['HF_HUB_OFFLINE=1', await py(request, { HF_HUB_OFFLINE: '1', HF_ENDPOINT: server.url })],
        [
          'local_files_only=True',
          await py({ ...request, local_files_only: true }, { HF_ENDPOINT: server.url }),
        ],
      ] as const
    ) {
      for (const f of FILES) {
        assertSnapshotPath(r.paths![f], cacheDir, repo, commit, f);
        assert.equal(
          new Uint8Array(readFileSync(r.paths![f])),
          server.file(repo, f),
          `${how}: ${f}`,
        );
      }
    }
    assert.is(server.requests.length, requests, 'Python made no request');
    assert.equal(downloadCounts(repo), counts);

    const scan = await py({ op: 'scan', cache_dir: cacheDir });
    assert.equal(scan.warnings, [], 'scan_cache_dir warnings');
    const size = FILES.reduce((n, f) => n + server.file(repo, f)!.byteLength, 0);
    assert.equal(scan.repos, [{
      repo_id: repo,
      repo_type: 'model',
      size_on_disk: size,
      nb_files: 2,
      refs: ['main'],
      revisions: [{
        commit,
        refs: ['main'],
        size_on_disk: size,
        files: ['model.onnx', 'srpose.json'],
      }],
    }]);
    assert.is(scan.size_on_disk, size);
  },
);

test(
  'revisions pin the same snapshots on both sides: a tag and main hold different weights',
  async () => {
    if (skip()) return;
    const repo = 'pin/tiny';
    const v1 = server.resolve(repo, 'v1')!;
    const main = server.resolve(repo, 'main')!;
    assert.is.not(v1, main);
    assert.not.equal(
      server.file(repo, 'model.onnx', 'v1'),
      server.file(repo, 'model.onnx', 'main'),
    );

    // Python downloads the tag; we read `@v1` from its cache offline.
    const pyCache = await tempDir('srpose-pycache-pin-');
    const r = await py({
      op: 'download',
      repo,
      revision: 'v1',
      files: FILES,
      cache_dir: pyCache,
      endpoint: server.url,
    }, { HF_ENDPOINT: server.url });
    for (const f of FILES) assertSnapshotPath(r.paths![f], pyCache, repo, v1, f);
    assert.is(readFileSync(join(pyCache, 'models--pin--tiny', 'refs', 'v1'), 'utf8'), v1);
    const got = await hubFile({ repo, revision: 'v1' }, 'model.onnx', {
      hubUrl: server.url,
      cacheDir: pyCache,
      offline: true,
    });
    assert.is(got.commit, v1);
    assert.equal(got.bytes, server.file(repo, 'model.onnx', 'v1'));
    const before = server.requests.length;
    const fromPy = await estimate(img, {
      model: `${repo}@v1`,
      ...ours(pyCache, { offline: true }),
    });
    const byCommit = await estimate(img, {
      model: `${repo}@${v1}`,
      ...ours(pyCache, { offline: true }),
    });
    assert.equal(byCommit.people, fromPy.people);
    // main is not cached: never served from another revision's snapshot.
    await rejects(
      createEstimator({ model: repo, ...ours(pyCache, { offline: true }) }),
      'MODEL_NOT_FOUND',
      /offline/,
    );
    assert.is(server.requests.length, before, 'no request offline');

    // We download both into a fresh cache: v1 matches what Python cached, main differs.
    const tsCache = await tempDir('srpose-tscache-pin-');
    const ourV1 = await estimate(img, { model: `${repo}@v1`, ...ours(tsCache) });
    const ourMain = await estimate(img, { model: repo, ...ours(tsCache) });
    assert.equal(ourV1.people, fromPy.people);
    assert.not.equal(ourMain.people, fromPy.people);

    // Python, offline, reads each revision (by tag, branch and commit) from our cache.
    const n = server.requests.length;
    for (const [revision, commit] of [['v1', v1], ['main', main], [v1, v1]]) {
      const p = await py({ op: 'download', repo, revision, files: FILES, cache_dir: tsCache }, {
        HF_HUB_OFFLINE: '1',
      });
      for (const f of FILES) {
        assertSnapshotPath(p.paths![f], tsCache, repo, commit, f);
        assert.equal(
          new Uint8Array(readFileSync(p.paths![f])),
          server.file(repo, f, commit),
          `${revision}: ${f}`,
        );
      }
    }
    assert.is(server.requests.length, n, 'Python made no request');
    const scan = await py({ op: 'scan', cache_dir: tsCache });
    assert.equal(scan.warnings, []);
    const [info] = scan.repos!;
    assert.equal(info.refs, ['main', 'v1']);
    assert.equal(
      info.revisions.map((v) => [v.commit, v.refs, v.files]).sort(),
      [
        [v1, ['v1'], ['model.onnx', 'srpose.json']],
        [main, ['main'], ['model.onnx', 'srpose.json']],
      ].sort(),
    );
    // Different weights and so a different srpose.json (it names the ONNX's sha256): 4 blobs.
    assert.is(info.nb_files, 4);
  },
);

test.run();
