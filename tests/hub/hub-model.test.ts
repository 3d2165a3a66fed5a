// Models by Hub id, end to end against a Hub-compatible server on 127.0.0.1: the real
// @huggingface/hub client code, our disk cache in the standard layout, retries, hashes,
// revisions, auth, offline mode and concurrent cold starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { skipUnless, tempDir } from '../helpers/env.ts';
import { env } from '../../src/platform/env.ts';
import { tinyModelFiles, tinyVariantFiles } from '../helpers/tiny.ts';
import { rejects } from '../helpers/assert.ts';
import { startHubServer } from '../helpers/hub-server.ts';
import { greyImage, tinyDetectorDir, tinyDetExpected } from '../helpers/tiny-detector.ts';
import { createEstimator, estimate } from '../../src/estimator/estimator.ts';
import type { EstimatorOptions } from '../../src/types.ts';
import { main } from '../../src/cli/main.ts';
import { loadModel } from '../../src/model/source.ts';
import { bytesOf } from '../../src/platform/files.ts';

const TOKEN = 'hf_test_token';
const img = {
  data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) & 255),
  width: 40,
  height: 30,
};

const modelFiles = tinyModelFiles;

let server: Awaited<ReturnType<typeof startHubServer>>;
const opts = async (
  over: Partial<EstimatorOptions> = {},
): Promise<Omit<EstimatorOptions, 'model'>> => ({
  hubUrl: server.url,
  cacheDir: await tempDir('srpose-hubcache-'),
  backend: 'wasm',
  ...over,
});

test.before(async () => {
  server = await startHubServer({ token: TOKEN });
  server.addRepo('srpose/tiny');
  server.commit('srpose/tiny', await modelFiles(0), { tag: 'v1' });
  server.commit('srpose/tiny', await modelFiles(3));
  server.addRepo('srpose/private', { private: true });
  server.commit('srpose/private', await modelFiles(0));
});
test.after(async () => {
  await server.stop();
});

test(
  'cold download into the standard Hub cache layout, then a warm start with the server stopped',
  async () => {
    const o = await opts();
    const r = await estimate(img, { model: 'srpose/tiny', ...o });
    const repoDir = join(o.cacheDir!, 'models--srpose--tiny');
    const commit = readFileSync(join(repoDir, 'refs', 'main'), 'utf8').trim();
    assert.match(commit, /^[0-9a-f]{40}$/);
    const link = join(repoDir, 'snapshots', commit, 'model.onnx');
    assert.ok(lstatSync(link).isSymbolicLink());
    const blob = readlinkSync(link);
    assert.match(blob, /^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    assert.ok(existsSync(join(repoDir, 'snapshots', commit, 'srpose.json')));
    await server.stop();
    try {
      const warm = await estimate(img, { model: 'srpose/tiny', ...o });
      assert.equal(warm.people, r.people);
    } finally {
      await server.start();
    }
  },
);

test(
  'a cached blob is hashed once: later starts trust its record; a changed blob is hashed, ' +
    'refused and downloaded again',
  async () => {
    const o = await opts();
    const load = async () => {
      const est = await createEstimator({ model: 'srpose/tiny', ...o });
      const r = await est.estimate(img);
      await est.dispose();
      return { hash: est.info.load.hash, people: r.people };
    };
    const first = await load(); // download: hashed as it arrives
    assert.ok(first.hash > 0);
    const before = server.downloads('srpose/tiny', 'model.onnx');
    const warm = await load();
    assert.is(warm.hash, 0, 'a recorded blob is not hashed again');
    assert.equal(warm.people, first.people);
    // Python's huggingface_hub (or an older srpose) wrote the blob: no record, hashed once.
    const repoDir = join(o.cacheDir!, 'models--srpose--tiny');
    const records = readdirSync(join(repoDir, 'blobs')).filter((f) => f.endsWith('-verified'));
    assert.ok(records.length >= 2, records.join());
    for (const r of records) rmSync(join(repoDir, 'blobs', r));
    assert.ok((await load()).hash > 0);
    assert.is((await load()).hash, 0);
    // The same size, other bytes: no longer the recorded blob, so hashed, evicted, downloaded.
    const commit = readFileSync(join(repoDir, 'refs', 'main'), 'utf8').trim();
    const link = join(repoDir, 'snapshots', commit, 'model.onnx');
    const bytes = readFileSync(link);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(link, bytes);
    const again = await load();
    assert.ok(again.hash > 0);
    assert.equal(again.people, first.people);
    assert.is(server.downloads('srpose/tiny', 'model.onnx'), before + 1);
  },
);

test(
  'a recorded blob is read only when a session needs it, and refused if it changed since',
  async () => {
    const o = await opts();
    await estimate(img, { model: 'srpose/tiny', ...o }); // cached and recorded
    const hub = { hubUrl: o.hubUrl, cacheDir: o.cacheDir };
    const warm = await loadModel('srpose/tiny', hub);
    assert.type(warm.onnx, 'function', 'deferred: onnxruntime-node may load its derived graph');
    const repoDir = join(o.cacheDir!, 'models--srpose--tiny');
    const commit = readFileSync(join(repoDir, 'refs', 'main'), 'utf8').trim();
    const link = join(repoDir, 'snapshots', commit, 'model.onnx');
    const bytes = readFileSync(link);
    assert.equal(await bytesOf(warm.onnx), new Uint8Array(bytes));
    // changed after the check that vouched for it, before the read: never served
    const later = await loadModel('srpose/tiny', hub);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(link, bytes);
    await rejects(bytesOf(later.onnx), 'MODEL_INVALID', /changed while it was being loaded/);
    // the next load hashes it, finds it wrong, downloads it again
    const again = await loadModel('srpose/tiny', hub);
    assert.ok(again.onnx instanceof Uint8Array, 'hashed as it was read');
    assert.not.equal(again.onnx, new Uint8Array(bytes));
  },
);

test('revisions: a tag and main hold different weights, each gets its own', async () => {
  const o = await opts();
  const a = await estimate(img, { model: 'srpose/tiny@v1', ...o });
  const b = await estimate(img, { model: 'srpose/tiny', ...o });
  const c = await estimate(img, { model: 'srpose/tiny', revision: 'v1', ...o });
  assert.not.equal(a.people, b.people);
  assert.equal(a.people, c.people);
});

test('missing repository and missing file name the repository and file', async () => {
  const o = await opts();
  // Anonymous requests for a missing repository get 401 from the Hub, as for a private one.
  await rejects(
    createEstimator({ model: 'srpose/nope', ...o }),
    'MODEL_UNAUTHORIZED',
    /srpose\/nope.*does not exist, or it is private/,
  );
  await rejects(
    createEstimator({ model: 'srpose/nope', accessToken: TOKEN, ...o }),
    'MODEL_NOT_FOUND',
    /srpose\/nope.*404/,
  );
  server.addRepo('srpose/empty');
  server.commit('srpose/empty', { 'README.md': new TextEncoder().encode('hi') });
  await rejects(
    createEstimator({ model: 'srpose/empty', ...o }),
    'MODEL_NOT_FOUND',
    /srpose\.json/,
  );
});

test(
  'private repository: 401 without a token, works with it; the token is never in messages',
  async () => {
    const o = await opts();
    await rejects(
      createEstimator({ model: 'srpose/private', ...o }),
      'MODEL_UNAUTHORIZED',
      /HF_TOKEN/,
    );
    const r = await estimate(img, { model: 'srpose/private', accessToken: TOKEN, ...o });
    assert.is(r.people.length, 1);
    try {
      await createEstimator({ model: 'srpose/private', accessToken: 'hf_wrong_secret', ...o });
    } catch (e) {
      assert.not.match(String((e as Error).message), /hf_wrong_secret/);
    }
  },
);

test(
  'transient 500s are retried; a truncated or corrupt body fails, ' +
    'leaves the cache clean, and the next call succeeds',
  async () => {
    const o = await opts();
    server.failNext(/model\.onnx/, 2, 500);
    assert.is((await estimate(img, { model: 'srpose/tiny', ...o })).people.length, 1);
    for (const fault of ['truncateNext', 'corruptNext'] as const) {
      const o2 = await opts();
      server[fault](/model\.onnx/);
      await rejects(createEstimator({ model: 'srpose/tiny', ...o2 }), 'MODEL_DOWNLOAD_FAILED');
      const blobs = join(o2.cacheDir!, 'models--srpose--tiny', 'blobs');
      const files = existsSync(blobs) ? (await import('node:fs')).readdirSync(blobs) : [];
      assert.ok(
        files.every((f) => !/^[0-9a-f]{64}$/.test(f)),
        `no ONNX blob cached after ${fault}: ${files}`,
      );
      assert.is((await estimate(img, { model: 'srpose/tiny', ...o2 })).people.length, 1);
    }
  },
);

test('8 concurrent cold estimate() calls download each file once', async () => {
  const o = await opts();
  server.addRepo('srpose/burst');
  server.commit('srpose/burst', await modelFiles(5));
  const before = server.downloads('srpose/burst', 'model.onnx');
  const rs = await Promise.all(
    Array.from({ length: 8 }, () => estimate(img, { model: 'srpose/burst', ...o })),
  );
  assert.is(rs.length, 8);
  assert.is(server.downloads('srpose/burst', 'model.onnx') - before, 1);
  assert.is(server.downloads('srpose/burst', 'srpose.json'), 1);
});

test('offline: served from the cache, or MODEL_NOT_FOUND saying it is not cached', async () => {
  const o = await opts();
  await rejects(
    createEstimator({ model: 'srpose/tiny', offline: true, ...o }),
    'MODEL_NOT_FOUND',
    /offline/,
  );
  await estimate(img, { model: 'srpose/tiny', ...o });
  const n = server.requests.length;
  assert.is((await estimate(img, { model: 'srpose/tiny', offline: true, ...o })).people.length, 1);
  assert.is(server.requests.length, n, 'no request offline');
});

// Node 20 has no Cache API: Deno runs this.
if (!env.isNode) {
  test(
    'Cache API cache (browsers, Workers, Deno Deploy): ' +
      'cold download, then served with the Hub stopped',
    async () => {
      if (skipUnless(typeof caches !== 'undefined', 'no Cache API in this runtime')) return;
      await caches.delete('srpose-hub');
      server.addRepo('srpose/webcache');
      server.commit('srpose/webcache', await modelFiles(9));
      const o = await opts({ cache: 'web' });
      const cold = await estimate(img, { model: 'srpose/webcache', ...o });
      assert.is(server.downloads('srpose/webcache', 'model.onnx'), 1);
      const entry = await (await caches.open('srpose-hub')).match(
        `https://srpose.invalid/models/srpose/webcache/refs/main`,
      );
      assert.match(await entry!.text(), /^[0-9a-f]{40}$/);
      await server.stop();
      try {
        const warm = await estimate(img, { model: 'srpose/webcache', ...o });
        assert.equal(warm.people, cold.people);
        const offline = await estimate(img, { model: 'srpose/webcache', offline: true, ...o });
        assert.equal(offline.people, cold.people);
      } finally {
        await server.start();
      }
      assert.is(server.downloads('srpose/webcache', 'model.onnx'), 1);
    },
  );
}

test(
  'srpose publish uploads an exported model with a model card; estimate() by that Hub id',
  async () => {
    const dir = await tempDir('srpose-publish-');
    for (const [name, bytes] of Object.entries(await modelFiles(7))) {
      writeFileSync(join(dir, name), bytes);
    }
    const out: string[] = [];
    const err: string[] = [];
    const run = (args: string[]) => main(args, (l) => out.push(l), (l) => err.push(l));
    assert.is(
      await run([
        'publish',
        dir,
        '--repo',
        'me/published',
        '--hub-url',
        server.url,
        '--token',
        TOKEN,
      ]),
      2,
    );
    assert.match(err.join('\n'), /--create/);
    assert.is(
      await run([
        'publish',
        dir,
        '--repo',
        'me/published',
        '--create',
        '--hub-url',
        server.url,
        '--token',
        TOKEN,
      ]),
      0,
      err.join('\n'),
    );
    assert.match(out.join('\n'), /published .* to .*me\/published/);
    const card = new TextDecoder().decode(server.file('me/published', 'README.md', 'main')!);
    assert.match(card, /random weights \(seed 0\)|weights:/);
    assert.match(card, /me\/published/);
    const o = await opts();
    const viaHub = await estimate(img, { model: 'me/published', ...o });
    const local = await estimate(img, { model: dir, backend: 'wasm' });
    assert.equal(viaHub.people, local.people);
  },
);

test('srpose publish uploads every file srpose.json names (the weight variants too)', async () => {
  const dir = await tempDir('srpose-publish-variants-');
  const files = await tinyVariantFiles('int8');
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  const err: string[] = [];
  const args = ['publish', dir, '--repo', 'me/variants', '--create', '--hub-url', server.url];
  assert.is(await main([...args, '--token', TOKEN], () => {}, (l) => err.push(l)), 0, err.join());
  for (const [name, bytes] of Object.entries(files)) {
    assert.equal(server.file('me/variants', name, 'main'), bytes, name);
  }
  // by Hub id, the recommended (int8) weights run: the model with seed 2
  const o = await opts();
  const viaHub = await estimate(img, { model: 'me/variants', ...o });
  assert.is(viaHub.weights, 'int8');
  const local = await estimate(img, { model: dir, backend: 'wasm', weights: 'int8' });
  assert.equal(viaHub.people, local.people);
  // a variant whose bytes do not match the contract is refused before anything is uploaded
  writeFileSync(join(dir, 'model_fp16.onnx'), new Uint8Array(10));
  assert.is(
    await main(
      [...args.slice(0, 3), 'me/broken', '--create', '--hub-url', server.url, '--token', TOKEN],
      () => {},
      (l) => err.push(l),
    ),
    2,
  );
  assert.match(err.join('\n'), /model_fp16\.onnx .*(bytes|sha256)/);
  assert.not.ok(server.file('me/broken', 'srpose.json', 'main'));
});

test('a detector: published by srpose publish, run by Hub id with a pose model', async () => {
  const dir = await tinyDetectorDir();
  const err: string[] = [];
  const args = ['publish', dir, '--repo', 'me/detector', '--create', '--hub-url', server.url];
  assert.is(await main([...args, '--token', TOKEN], () => {}, (l) => err.push(l)), 0, err.join());
  assert.match(
    new TextDecoder().decode(server.file('me/detector', 'README.md', 'main')!),
    /YOLOX .*person detector/,
  );
  const o = await opts();
  const est = await createEstimator({ model: 'srpose/tiny', detector: 'me/detector', ...o });
  try {
    assert.match(est.info.detector!.location, /hf:\/\/me\/detector@/);
    const r = await est.estimate(greyImage(128, 96));
    assert.equal(r.people.map((p) => p.box), tinyDetExpected(128, 96).map((p) => p.box));
  } finally {
    await est.dispose();
  }
});

test(
  'a cache that cannot be written (read-only disk) is skipped: the model still loads, uncached',
  async () => {
    const o = await opts();
    const blocker = join(o.cacheDir!, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const before = server.downloads('srpose/tiny', 'model.onnx');
    const r = await estimate(img, { model: 'srpose/tiny', ...o, cacheDir: join(blocker, 'hub') });
    assert.is(r.people.length, 1);
    const again = await estimate(img, {
      model: 'srpose/tiny',
      ...o,
      cacheDir: join(blocker, 'hub'),
    });
    assert.equal(again.people, r.people);
    assert.is(server.downloads('srpose/tiny', 'model.onnx'), before + 2); // nothing could be kept
  },
);

test.run();
