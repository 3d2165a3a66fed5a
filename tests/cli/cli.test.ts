// The srpose CLI, in process (Node and Deno) and through its bin shim.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/env.ts';
import { tinyConfig, tinyOnnx } from '../helpers/tiny.ts';
import { main } from '../../src/cli/main.ts';
import { parseBoxes } from '../../src/cli/options.ts';
import { encodePng } from '../../src/image/codecs.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { greyImage, tinyDetectorDir, tinyDetExpected } from '../helpers/tiny-detector.ts';

async function fixture() {
  const dir = await tempDir('srpose-cli-');
  await writeFile(join(dir, 'srpose.json'), JSON.stringify(tinyConfig()));
  await writeFile(join(dir, 'model.onnx'), await tinyOnnx());
  const px = new Uint8ClampedArray(80 * 60 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) & 255));
  await writeFile(join(dir, 'photo.png'), await encodePng({ data: px, width: 80, height: 60 }));
  return dir;
}

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('--detector finds the people to estimate; --det-score filters them', async () => {
  const dir = await fixture();
  const photo = join(dir, 'grey.png');
  const g = greyImage(128, 96);
  const rgba = new Uint8ClampedArray(128 * 96 * 4).map((_, i) => (i % 4 === 3 ? 255 : 200));
  await writeFile(photo, await encodePng({ data: rgba, width: g.width, height: g.height }));
  const det = await tinyDetectorDir();
  const args = ['estimate', photo, '--model', dir, '--backend', 'wasm', '--json'];
  const r = await cli([...args, '--detector', det]);
  assert.is(r.code, 0, r.err);
  const people = JSON.parse(r.out).result.people;
  assert.equal(people.map((p: any) => p.box), tinyDetExpected(128, 96).map((p) => p.box));
  const strict = await cli([...args, '--detector', det, '--det-score', '0.5']);
  assert.is(JSON.parse(strict.out).result.people.length, 1);
  const bad = await cli([...args, '--det-score', '0.5']);
  assert.is(bad.code, 2);
  assert.match(bad.err, /--det-score needs --detector/);
});

test('parseBoxes reads x,y,w,h;...', () => {
  assert.equal(parseBoxes('1,2,3,4;5,6,7,8'), [[1, 2, 3, 4], [5, 6, 7, 8]]);
  assert.throws(() => parseBoxes('1,2,3'), /x,y,w,h/);
});

test(
  'estimate prints keypoints; --json prints the result; --draw writes a PNG of the photo',
  async () => {
    const dir = await fixture();
    const photo = join(dir, 'photo.png');
    const text = await cli([
      'estimate',
      photo,
      '--model',
      dir,
      '--backend',
      'wasm',
      '--boxes',
      '5,5,40,50;30,0,50,60',
    ]);
    assert.is(text.code, 0, text.err);
    assert.match(text.out, /2 people/);
    assert.match(text.out, /left_shoulder/);
    const json = await cli([
      'estimate',
      photo,
      '--model',
      dir,
      '--backend',
      'wasm',
      '--json',
      '--no-flip',
      '--draw',
      join(dir, 'out.png'),
    ]);
    assert.is(json.code, 0, json.err);
    const parsed = JSON.parse(json.out);
    assert.is(parsed.file, photo);
    assert.is(parsed.result.people.length, 1);
    assert.is(parsed.result.flipTest, false);
    assert.is(parsed.result.people[0].keypoints.length, 17);
    const drawn = await decodeImage(new Uint8Array(await readFile(join(dir, 'out.png'))));
    assert.equal([drawn.width, drawn.height], [80, 60]);
  },
);

test('usage errors exit 2 with a clear message', async () => {
  const dir = await fixture();
  let r = await cli(['estimate', join(dir, 'photo.png')]);
  assert.is(r.code, 2);
  assert.match(r.err, /--model is required/);
  r = await cli(['estimate', join(dir, 'photo.png'), '--model', dir, '--boxes', '1,2']);
  assert.is(r.code, 2);
  assert.match(r.err, /INVALID_BOX/);
  r = await cli(['estimate', join(dir, 'missing.jpg'), '--model', dir, '--backend', 'wasm']);
  assert.is(r.code, 2);
  assert.match(r.err, /missing\.jpg/);
  r = await cli(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.err, /unknown command/);
});

test('the bin shim runs under node', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      'node',
      [join(ROOT, 'bin', 'srpose.mjs'), '--help'],
      { cwd: ROOT },
      (e, stdout) => (e ? reject(e) : resolve(stdout)),
    )
  );
  assert.match(out, /estimate <\.\.\.images>/);
});

test.run();
