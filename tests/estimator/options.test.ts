// Type checks of createEstimator's and estimate's options (src/estimator/options.ts), called
// directly: every wrong type is INVALID_OPTION naming the option, what it takes and what it got;
// enumerations list their one definition's values; right values and unknown keys pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkEstimateOptions, checkEstimatorOptions } from '../../src/estimator/options.ts';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';
import { HUB_CACHES } from '../../src/hub/settings.ts';
import { DECODE_METHODS } from '../../src/model/config.ts';
import { WEIGHTS_REQUESTS } from '../../src/model/weights.ts';
import { BACKEND_REQUESTS } from '../../src/runtime/pose-session.ts';

/** The message of the SRPoseError `code` that `check` throws; fails when it throws none. */
function refusal(check: () => void, what: string, code: SRPoseErrorCode = 'INVALID_OPTION') {
  try {
    check();
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `${what}: expected ${code}, got ${e}`);
    return (e as Error).message;
  }
  assert.unreachable(`${what} was accepted`);
  return '';
}

/** The smallest valid WebAssembly module (magic + version). */
const emptyModule = () => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));

class Options {
  flipTest = true;
}

test('estimate options: undefined, {} and each option of its type pass; others are ignored', () => {
  checkEstimateOptions(undefined);
  checkEstimateOptions({});
  checkEstimateOptions({
    boxes: [[0, 0, 10, 10], [1, 2, 3, 4, 0.5]],
    flipTest: false,
    signal: new AbortController().signal,
  });
  checkEstimateOptions({ signal: AbortSignal.abort(), flipTest: undefined, boxes: undefined });
  // a signal from another realm or a polyfill: the AbortSignal shape
  checkEstimateOptions({ signal: { aborted: false, addEventListener() {} } });
  // the one-shot estimate() passes createEstimator's options along
  checkEstimateOptions({ model: 'owner/name', backend: 'wasm', anything: Symbol('x') });
  checkEstimateOptions(Object.assign(Object.create(null), { flipTest: true }));
});

test('estimate options of the wrong type: INVALID_OPTION naming option, type and value', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ flipTest: 'yes' }, 'flipTest must be a boolean, got string "yes"'],
    [{ flipTest: 1 }, 'flipTest must be a boolean, got number 1'],
    [{ flipTest: null }, 'flipTest must be a boolean, got null'],
    [{ signal: {} }, 'signal must be an AbortSignal, got object {}'],
    [{ signal: 'abort' }, 'signal must be an AbortSignal, got string "abort"'],
    [{ signal: { aborted: 'no', addEventListener() {} } }, 'signal must be an AbortSignal'],
    [{ signal: new AbortController() }, 'signal must be an AbortSignal, got an AbortController'],
  ];
  for (const [o, message] of cases) {
    const m = refusal(() => checkEstimateOptions(o), JSON.stringify(o) ?? String(o));
    assert.ok(m.startsWith(message), `${m} (expected ${message})`);
  }
  const long = refusal(() => checkEstimateOptions({ flipTest: 'y'.repeat(5000) }), 'long');
  assert.ok(long.length < 100, long);
  assert.match(long, /^flipTest must be a boolean, got string "y+\.\.\.$/);
});

test('the estimate options themselves must be undefined or a plain object', () => {
  for (const o of [null, 'flip', 1, true, [], [{ flipTest: true }], new Map(), new Options()]) {
    const m = refusal(() => checkEstimateOptions(o), String(o));
    assert.match(m, /^the estimate options must be an object, got /);
  }
  assert.match(refusal(() => checkEstimateOptions(null), 'null'), /got null$/);
  assert.match(refusal(() => checkEstimateOptions([]), '[]'), /got an array of 0 items$/);
  assert.match(refusal(() => checkEstimateOptions(new Options()), 'class'), /got an Options$/);
});

test('boxes: only a list is checked here (INVALID_BOX, as every box problem); boxes later', () => {
  for (const boxes of [{ x: 1 }, 'all', 7, null]) {
    const m = refusal(() => checkEstimateOptions({ boxes }), `boxes ${boxes}`, 'INVALID_BOX');
    assert.match(m, /^boxes must be an array/);
  }
  // the boxes' contents are validateBoxes' business, against the image
  checkEstimateOptions({ boxes: [[NaN, 0, 'w']] });
  checkEstimateOptions({ boxes: [] });
});

test('estimator options: { model } alone, and every option of its type, pass', () => {
  checkEstimatorOptions({ model: 'owner/name' });
  checkEstimatorOptions({ model: new URL('https://example.com/m/') });
  checkEstimatorOptions({ model: { onnx: new Uint8Array(), config: {} } });
  checkEstimatorOptions({
    model: './models/x',
    backend: 'wasm',
    threads: 2,
    flipTest: false,
    weights: 'int8',
    decode: 'dark',
    maxPixels: 1.5e6,
    maxBoxes: 1,
    maxBatch: 16,
    wasmPaths: { 'ort-wasm-simd-threaded.wasm': '/static/ort.wasm' },
    wasmModules: {
      ort: emptyModule(),
      codecs: { '@jsquash/png/codec/pkg/squoosh_png_bg.wasm': emptyModule() },
    },
    hubUrl: 'https://hub.example',
    accessToken: 'hf_x',
    revision: 'v1',
    cacheDir: '/tmp/hub',
    cache: 'none',
    offline: true,
    onProgress: () => {},
    notAnOption: Symbol('ignored'),
  });
  for (const backend of BACKEND_REQUESTS) checkEstimatorOptions({ model: 'm', backend });
  for (const decode of DECODE_METHODS) checkEstimatorOptions({ model: 'm', decode });
  for (const weights of WEIGHTS_REQUESTS) checkEstimatorOptions({ model: 'm', weights });
  for (const cache of HUB_CACHES) checkEstimatorOptions({ model: 'm', cache });
  checkEstimatorOptions({ model: 'm', wasmPaths: '/static/' });
  checkEstimatorOptions({ model: 'm', threads: undefined, maxBatch: undefined });
});

test('estimator options of the wrong type: INVALID_OPTION naming option, type and value', () => {
  const cases: [string, unknown, string][] = [
    ['flipTest', 'yes', 'flipTest must be a boolean, got string "yes"'],
    ['offline', 'true', 'offline must be a boolean, got string "true"'],
    ['threads', 0, 'threads must be a positive integer, got number 0'],
    ['threads', 1.5, 'threads must be a positive integer, got number 1.5'],
    ['threads', '4', 'threads must be a positive integer, got string "4"'],
    ['threads', NaN, 'threads must be a positive integer, got number NaN'],
    ['maxBoxes', Infinity, 'maxBoxes must be a positive integer, got number Infinity'],
    ['maxBoxes', -3, 'maxBoxes must be a positive integer, got number -3'],
    ['maxBatch', 0, 'maxBatch must be a positive integer, got number 0'],
    ['maxBatch', 2.5, 'maxBatch must be a positive integer, got number 2.5'],
    ['maxBatch', 8n, 'maxBatch must be a positive integer, got bigint 8n'],
    ['maxPixels', 0, 'maxPixels must be a finite number > 0, got number 0'],
    ['maxPixels', -1, 'maxPixels must be a finite number > 0, got number -1'],
    ['maxPixels', NaN, 'maxPixels must be a finite number > 0, got number NaN'],
    ['maxPixels', Infinity, 'maxPixels must be a finite number > 0, got number Infinity'],
    ['maxPixels', '1e6', 'maxPixels must be a finite number > 0, got string "1e6"'],
    ['hubUrl', 42, 'hubUrl must be a string, got number 42'],
    ['revision', { tag: 'v1' }, 'revision must be a string, got object {"tag":"v1"}'],
    ['cacheDir', ['/tmp'], 'cacheDir must be a string, got an array of 1 items'],
    ['onProgress', 'log', 'onProgress must be a function, got string "log"'],
    ['wasmPaths', 42, 'wasmPaths must be a string or an object of strings'],
    ['wasmPaths', { 'a.wasm': 1 }, 'wasmPaths must be a string or an object of strings'],
    ['wasmModules', 'x', 'wasmModules must be an object { ort?, codecs? }, got string "x"'],
    ['wasmModules', { ort: new Uint8Array(4) }, 'wasmModules.ort must be a WebAssembly.Module'],
    ['wasmModules', { codecs: [] }, 'wasmModules.codecs must be an object of WebAssembly'],
    [
      'wasmModules',
      { codecs: { 'x.wasm': 'x.wasm' } },
      `wasmModules.codecs['x.wasm'] must be a WebAssembly.Module, got string "x.wasm"`,
    ],
    ['model', 42, 'model must be a Hub id, a directory path, a URL or { onnx, config }, got'],
    ['model', null, 'model must be a Hub id, a directory path, a URL or { onnx, config }, got'],
  ];
  for (const [name, value, message] of cases) {
    const o = { model: 'owner/name', [name]: value };
    const m = refusal(() => checkEstimatorOptions(o), `${name}: ${String(value)}`);
    assert.ok(m.startsWith(message), `${name}: "${m}" (expected "${message}...")`);
  }
});

test('enumerated options list the values of their one definition', () => {
  const lists: [string, readonly string[]][] = [
    ['backend', BACKEND_REQUESTS],
    ['decode', DECODE_METHODS],
    ['weights', WEIGHTS_REQUESTS],
    ['cache', HUB_CACHES],
  ];
  for (const [name, list] of lists) {
    for (const bad of ['gpu-please', 42, true]) {
      const m = refusal(() => checkEstimatorOptions({ model: 'm', [name]: bad }), `${name}`);
      assert.ok(m.startsWith(`${name} must be `), m);
      for (const v of list) assert.ok(m.includes(`'${v}'`), `${name}: ${m} lacks '${v}'`);
      assert.ok(m.endsWith(`got ${typeof bad === 'string' ? `"${bad}"` : bad}`), m);
    }
  }
});

test('a mistyped accessToken never appears in the message', () => {
  for (const token of [1234567, { token: 'hf_secretsecret' }, ['hf_secretsecret']]) {
    const m = refusal(() => checkEstimatorOptions({ model: 'm', accessToken: token }), 'token');
    assert.match(m, /^accessToken must be a string, got (number|object) \(not shown\)$/);
    assert.not.ok(/1234567|hf_secret/.test(m), m);
  }
});

test('the estimator options must be an object with a model', () => {
  for (const o of [undefined, null, 'owner/name', [], new Options()]) {
    const m = refusal(() => checkEstimatorOptions(o), String(o));
    assert.match(m, /^createEstimator options must be an object \{ model, \.\.\. \}, got /);
  }
  assert.is(refusal(() => checkEstimatorOptions({}), '{}'), 'createEstimator needs { model }');
  assert.is(
    refusal(() => checkEstimatorOptions({ backend: 'wasm', model: undefined }), 'no model'),
    'createEstimator needs { model }',
  );
});

test.run();
