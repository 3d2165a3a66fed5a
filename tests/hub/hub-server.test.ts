// The Hub look-alike used by the Hub tests, exercised through @huggingface/hub's own public
// functions, so that what the tests prove against it holds against the real Hub's protocol.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import {
  createRepo,
  downloadFile,
  fileDownloadInfo,
  HubApiError,
  listFiles,
  modelInfo,
  pathsInfo,
  repoExists,
  uploadFiles,
  whoAmI,
} from '@huggingface/hub';
import { type HubServer, startHubServer } from '../helpers/hub-server.ts';

const TOKEN = 'hf_server_test_token';
const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) =>
  createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
/** Binary bytes (a NUL inside), so the Hub stores them in LFS whatever the name. */
const binary = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const blobOf = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]);

let server: HubServer;
const hub = () => ({ hubUrl: server.url });
const authed = () => ({ hubUrl: server.url, accessToken: TOKEN });

async function bytesOf(blob: Blob | null): Promise<Uint8Array> {
  assert.ok(blob, 'a blob');
  return new Uint8Array(await blob!.arrayBuffer());
}

async function hubError(p: Promise<unknown>): Promise<HubApiError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, HubApiError);
    return e as HubApiError;
  }
  throw new assert.Assertion({ message: 'expected a HubApiError', operator: 'throws' } as any);
}

test.before(async () => {
  server = await startHubServer({ token: TOKEN });
  server.addRepo('srpose/fixture');
  server.commit('srpose/fixture', {
    'config.json': enc.encode('{"v":1}'),
    'model.onnx': binary(3000, 1),
  }, { tag: 'v1' });
  server.commit('srpose/fixture', {
    'config.json': enc.encode('{"v":2}'),
    'model.onnx': binary(3000, 2),
  });
  server.commit('srpose/fixture', { 'config.json': enc.encode('{"v":3}') }, { branch: 'dev' });
  server.addRepo('srpose/secret', { private: true });
  server.commit('srpose/secret', { 'config.json': enc.encode('{"secret":true}') });
});

test.after(async () => {
  await server.stop();
});

test(
  'createRepo + uploadFiles (regular and LFS through the batch API), then read back',
  async () => {
    const repo = 'srpose/uploaded';
    assert.is(await repoExists({ repo, ...authed() }), false);
    const created = await createRepo({ repo, ...authed() });
    assert.is(created.repoUrl, `${server.url}/${repo}`);
    assert.is(await repoExists({ repo, ...authed() }), true);
    const onnx = binary(5000, 7);
    const card = enc.encode('# a model card\n');
    const out = await uploadFiles({
      repo,
      ...authed(),
      files: [{ path: 'model.onnx', content: blobOf(onnx) }, {
        path: 'README.md',
        content: blobOf(card),
      }],
    });
    assert.match(out!.commit.oid, /^[0-9a-f]{40}$/);
    assert.is(server.resolve(repo), out!.commit.oid);
    const batch = server.requests.filter((r) => r.path === `/${repo}.git/info/lfs/objects/batch`);
    assert.is(batch.length, 1, 'the ONNX file went through the LFS batch API');
    assert.ok(
      server.requests.some((r) => r.method === 'PUT' && r.path.includes(sha256(onnx))),
      'and a basic PUT',
    );
    assert.not.ok(server.requests.some((r) => /xet/i.test(r.path)), 'no xet endpoint is used');

    const info = await pathsInfo({
      repo,
      paths: ['model.onnx', 'README.md', 'nope'],
      expand: true,
      ...hub(),
    });
    const byPath = Object.fromEntries(info.map((i) => [i.path, i]));
    assert.equal(
      Object.keys(byPath).sort(),
      ['README.md', 'model.onnx'],
      'missing paths are left out',
    );
    assert.equal(byPath['model.onnx'].lfs, {
      oid: sha256(onnx),
      size: 5000,
      pointerSize: byPath['model.onnx'].lfs!.pointerSize,
    });
    assert.is(byPath['model.onnx'].size, 5000);
    assert.is(byPath['README.md'].oid, gitSha1(card));
    assert.is(byPath['README.md'].lfs, undefined);
    assert.is(byPath['README.md'].lastCommit!.id, out!.commit.oid);
    assert.instance(byPath['README.md'].lastCommit!.date, Date);

    assert.equal(await bytesOf(await downloadFile({ repo, path: 'model.onnx', ...hub() })), onnx);
    assert.equal(await bytesOf(await downloadFile({ repo, path: 'README.md', ...hub() })), card);

    // A second upload of the same LFS bytes is not sent again (the batch API has them).
    const puts = server.requests.filter((r) => r.method === 'PUT').length;
    await uploadFiles({ repo, ...authed(), files: [{ path: 'copy.onnx', content: blobOf(onnx) }] });
    assert.is(server.requests.filter((r) => r.method === 'PUT').length, puts);
    const files: string[] = [];
    for await (const f of listFiles({ repo, ...hub() })) files.push(f.path);
    assert.equal(files, ['.gitattributes', 'README.md', 'copy.onnx', 'model.onnx']);

    const e = await hubError(createRepo({ repo, ...authed() }));
    assert.is(e.statusCode, 409);
    const anon = await hubError(
      uploadFiles({ repo, ...hub(), files: [{ path: 'x.txt', content: blobOf(card) }] }),
    );
    assert.is(anon.statusCode, 401);
  },
);

test('revisions: branch, tag and commit sha each serve their own bytes', async () => {
  const repo = 'srpose/fixture';
  const main = (await modelInfo({ name: repo, additionalFields: ['sha'], ...hub() })).sha;
  const v1 =
    (await modelInfo({ name: repo, revision: 'v1', additionalFields: ['sha'], ...hub() })).sha;
  const dev =
    (await modelInfo({ name: repo, revision: 'dev', additionalFields: ['sha'], ...hub() })).sha;
  assert.is(main, server.resolve(repo, 'main'));
  assert.is(v1, server.resolve(repo, 'v1'));
  assert.not.equal(main, v1);
  assert.not.equal(main, dev);
  const text = async (revision: string, path = 'config.json') =>
    new TextDecoder().decode(await bytesOf(await downloadFile({ repo, path, revision, ...hub() })));
  assert.is(await text('main'), '{"v":2}');
  assert.is(await text('v1'), '{"v":1}');
  assert.is(await text(v1), '{"v":1}');
  assert.is(await text('dev'), '{"v":3}');
  assert.equal(
    await bytesOf(await downloadFile({ repo, path: 'model.onnx', revision: v1, ...hub() })),
    binary(3000, 1),
  );
  assert.equal(
    await bytesOf(await downloadFile({ repo, path: 'model.onnx', revision: 'dev', ...hub() })),
    binary(3000, 2),
  );
  // On `dev` only config.json changed: model.onnx's last commit is main's head, as on the Hub.
  const [onnx] = await pathsInfo({
    repo,
    paths: ['model.onnx'],
    revision: 'dev',
    expand: true,
    ...hub(),
  });
  assert.is(onnx.lastCommit.id, main);
  assert.is(onnx.lfs!.oid, sha256(binary(3000, 2)));
  const files =
    (await modelInfo({ name: repo, revision: 'v1', additionalFields: ['filePaths'], ...hub() }))
      .filePaths;
  assert.equal(files, ['.gitattributes', 'config.json', 'model.onnx']);
  const bad = await hubError(
    downloadFile({ repo, path: 'config.json', revision: 'nope', ...hub() }),
  );
  assert.is(bad.statusCode, 404);
});

test(
  'fileDownloadInfo: a regular file has the git sha1 etag; an LFS file is redirected to the CDN',
  async () => {
    const repo = 'srpose/fixture';
    const seen: Response[] = [];
    const spy: typeof fetch = async (input, init) => {
      const r = await fetch(input, init);
      seen.push(r);
      return r;
    };
    const cfg = await fileDownloadInfo({ repo, path: 'config.json', ...hub(), fetch: spy });
    assert.is(cfg!.etag, `"${gitSha1(enc.encode('{"v":2}'))}"`);
    assert.is(cfg!.size, 7);
    assert.is(seen[0].headers.get('X-Repo-Commit'), server.resolve(repo));
    const onnx = await fileDownloadInfo({ repo, path: 'model.onnx', ...hub(), fetch: spy });
    assert.is(onnx!.size, 3000);
    // fetch follows the 302: the etag is the CDN's, not the sha256, and X-Repo-Commit is gone.
    assert.not.equal(onnx!.etag, `"${sha256(binary(3000, 2))}"`);
    assert.match(onnx!.url, `${server.url}/_lfs/`);
    assert.is(seen[1].headers.get('X-Repo-Commit'), null);
    // Without following it, the 302 carries what the Hub puts there.
    const head = await fetch(`${server.url}/${repo}/resolve/main/model.onnx`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    assert.is(head.status, 302);
    assert.is(head.headers.get('X-Linked-Etag'), `"${sha256(binary(3000, 2))}"`);
    assert.is(head.headers.get('X-Linked-Size'), '3000');
    assert.is(head.headers.get('X-Repo-Commit'), server.resolve(repo));
    assert.match(head.headers.get('Location')!, /\/_lfs\/srpose\/fixture\/[0-9a-f]{64}\?/);
  },
);

test('private repository: 401 without a token or with a wrong one, readable with it', async () => {
  const repo = 'srpose/secret';
  const anon = await hubError(downloadFile({ repo, path: 'config.json', ...hub() }));
  assert.is(anon.statusCode, 401);
  assert.is((await hubError(modelInfo({ name: repo, ...hub() }))).statusCode, 401);
  assert.is(
    (await hubError(pathsInfo({ repo, paths: ['config.json'], ...hub() }))).statusCode,
    401,
  );
  const wrong = await hubError(
    downloadFile({ repo, path: 'config.json', ...hub(), accessToken: 'hf_wrong' }),
  );
  assert.is(wrong.statusCode, 401);
  assert.is(await repoExists({ repo, ...hub() }), false);
  assert.is(await repoExists({ repo, ...authed() }), true);
  const bytes = await bytesOf(await downloadFile({ repo, path: 'config.json', ...authed() }));
  assert.is(new TextDecoder().decode(bytes), '{"secret":true}');
  assert.is((await modelInfo({ name: repo, ...authed() })).private, true);
  assert.ok(server.requests.some((r) => r.auth === `Bearer ${TOKEN}`));
  assert.is((await whoAmI({ ...authed() })).name, 'srpose-test');
});

test('missing repository (401 anonymous, 404 with a token) and missing file (null)', async () => {
  const anon = await hubError(
    fileDownloadInfo({ repo: 'srpose/nope', path: 'config.json', ...hub() }),
  );
  assert.is(
    anon.statusCode,
    401,
    'the Hub does not tell anonymous callers whether a repository exists',
  );
  const known = await hubError(
    fileDownloadInfo({ repo: 'srpose/nope', path: 'config.json', ...authed() }),
  );
  assert.is(known.statusCode, 404);
  assert.is(
    known.data?.message,
    'Repository not found',
    'a non-API answer is text: HubApiError.data = { message }',
  );
  assert.is(await downloadFile({ repo: 'srpose/fixture', path: 'missing.json', ...hub() }), null);
  assert.is(
    await fileDownloadInfo({ repo: 'srpose/fixture', path: 'missing.json', ...hub() }),
    null,
  );
  const r = await fetch(`${server.url}/srpose/fixture/resolve/main/missing.json`);
  assert.is(r.status, 404);
  assert.is(r.headers.get('X-Error-Code'), 'EntryNotFound');
  await r.body?.cancel();
});

test('Range requests on regular files and on the CDN', async () => {
  const onnx = binary(3000, 2);
  const part = await fetch(`${server.url}/srpose/fixture/resolve/main/model.onnx`, {
    headers: { Range: 'bytes=100-199' },
  });
  assert.is(part.status, 206);
  assert.is(part.headers.get('Content-Range'), 'bytes 100-199/3000');
  assert.equal(new Uint8Array(await part.arrayBuffer()), onnx.subarray(100, 200));
  const tail = await fetch(`${server.url}/srpose/fixture/resolve/main/config.json`, {
    headers: { Range: 'bytes=-2' },
  });
  assert.is(tail.status, 206);
  assert.is(await tail.text(), '2}');
  const bad = await fetch(`${server.url}/srpose/fixture/resolve/main/config.json`, {
    headers: { Range: 'bytes=50-' },
  });
  assert.is(bad.status, 416);
  assert.is(bad.headers.get('Content-Range'), 'bytes */7');
  await bad.body?.cancel();
  // The library's own slices of a downloaded blob are range requests too.
  const blob = await downloadFile({ repo: 'srpose/fixture', path: 'model.onnx', ...hub() });
  assert.equal(new Uint8Array(await blob!.slice(2990, 3000).arrayBuffer()), onnx.subarray(2990));
});

test('faults: 500s then success, a truncated body, a corrupt body; download counts', async () => {
  const repo = 'srpose/fixture';
  const onnx = binary(3000, 2);
  const before = server.downloads(repo, 'model.onnx');
  server.failNext(/model\.onnx/, 2, 500);
  for (let i = 0; i < 2; i++) {
    const e = await hubError(downloadFile({ repo, path: 'model.onnx', ...hub() }));
    assert.is(e.statusCode, 500);
  }
  assert.equal(await bytesOf(await downloadFile({ repo, path: 'model.onnx', ...hub() })), onnx);
  assert.is(server.downloads(repo, 'model.onnx') - before, 1, 'the range probe is not a download');

  server.truncateNext(/model\.onnx/);
  let cut = false;
  try {
    await bytesOf(await downloadFile({ repo, path: 'model.onnx', ...hub() }));
  } catch {
    cut = true; // the connection dropped mid-body: reading the blob fails
  }
  assert.ok(cut, 'a truncated body fails to read');

  server.corruptNext(/config\.json/);
  const corrupt = await bytesOf(await downloadFile({ repo, path: 'config.json', ...hub() }));
  assert.is(corrupt.byteLength, 7);
  assert.not.equal(gitSha1(corrupt), gitSha1(enc.encode('{"v":2}')));
  assert.is(
    new TextDecoder().decode(
      await bytesOf(await downloadFile({ repo, path: 'config.json', ...hub() })),
    ),
    '{"v":2}',
  );
  assert.is(server.downloads(repo, 'model.onnx') - before, 2);
  assert.is(
    server.downloads('model.onnx'),
    server.downloads(repo, 'model.onnx') + server.downloads('srpose/uploaded', 'model.onnx'),
  );
});

test('stop() and start() again on the same port, the repositories kept', async () => {
  const url = server.url;
  await server.stop();
  try {
    await fetch(`${url}/api/models/srpose/fixture`);
    assert.unreachable('the server is stopped');
  } catch (e) {
    assert.not.instance(e, assert.Assertion);
  }
  await server.start();
  assert.is(server.url, url);
  assert.is((await modelInfo({ name: 'srpose/fixture', ...hub() })).name, 'srpose/fixture');
});

test.run();
