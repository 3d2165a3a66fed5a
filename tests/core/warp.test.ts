// warpAffineBilinear against cv2.warpAffine(INTER_LINEAR, constant 0 border): random images
// and matrices, then the official crop of every GT and detection box of the shared photos
// (decode -> box -> matrix -> warp, each compared with OpenCV's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { getAffineTransform } from '../../src/core/affine.ts';
import { boxToCenterScale } from '../../src/core/boxes.ts';
import { warpAffineBilinear } from '../../src/core/warp.ts';
import { isSRPoseError } from '../../src/errors.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { cv2Dump, cv2Missing, firstDifference } from '../helpers/cv2.ts';

const bytes = async (dir: string, file: string) => new Uint8Array(await readFile(join(dir, file)));

const refs: Record<string, { dir: string; index: any } | undefined> = {};

test.before(async () => {
  refs.warp = await cv2Dump('warp');
  refs.crops = await cv2Dump('crops', { shared: true });
});

test.after(async () => {
  for (const r of Object.values(refs)) if (r) await rm(r.dir, { recursive: true, force: true });
});

test('identity, integer shifts and fully outside maps need no OpenCV', () => {
  const w = 5, h = 4;
  const src = new Uint8Array(w * h * 3).map((_, i) => (i * 37) & 255);
  assert.equal(warpAffineBilinear(src, w, h, 3, [1, 0, 0, 0, 1, 0] as any, w, h), src);
  const shifted = warpAffineBilinear(src, w, h, 3, new Float64Array([1, 0, 1, 0, 1, 0]), w, h);
  for (let y = 0; y < h; y++) {
    assert.equal(Array.from(shifted.subarray(y * w * 3, y * w * 3 + 3)), [0, 0, 0]);
    assert.equal(
      shifted.subarray(y * w * 3 + 3, (y + 1) * w * 3),
      src.subarray(y * w * 3, (y + 1) * w * 3 - 3),
    );
  }
  const away = warpAffineBilinear(src, w, h, 3, new Float64Array([1, 0, 100, 0, 1, 100]), 8, 8);
  assert.ok(away.every((v) => v === 0));
  try {
    warpAffineBilinear(src, w, h + 1, 3, new Float64Array([1, 0, 0, 0, 1, 0]), w, h);
    assert.unreachable('accepted a short source');
  } catch (e) {
    assert.ok(isSRPoseError(e, 'INVALID_PIXELS'), String(e));
  }
});

test('equals cv2.warpAffine on 300 random images and matrices (3 and 4 channels)', async () => {
  const ref = refs.warp;
  if (cv2Missing(ref, 'warp')) return;
  for (const [i, r] of ref.index.warps.entries()) {
    const src = await bytes(ref.dir, r.src);
    const want = await bytes(ref.dir, r.dst);
    const got = warpAffineBilinear(
      src,
      r.width,
      r.height,
      r.channels,
      new Float64Array(r.matrix),
      r.dstW,
      r.dstH,
    );
    const diff = firstDifference(got, want, r.dstW, r.channels);
    assert.not.ok(
      diff,
      `case ${i} (${r.width}x${r.height}x${r.channels} -> ${r.dstW}x${r.dstH}, M ${
        JSON.stringify(r.matrix)
      }): ${diff}`,
    );
  }
});

test('every GT and detection crop of the shared photos equals OpenCV bit for bit', async () => {
  const ref = refs.crops;
  if (cv2Missing(ref, 'crops')) return;
  const { width, height } = ref.index;
  const images = new Map<string, Awaited<ReturnType<typeof decodeImage>>>();
  const out = new Uint8Array(width * height * 3);
  let warpMs = 0;
  let matrixMs = 0;
  for (const [i, r] of ref.index.crops.entries()) {
    let img = images.get(r.path);
    if (!img) images.set(r.path, img = await decodeImage(new Uint8Array(await readFile(r.path))));
    const t0 = performance.now();
    // mpii frames come as (center, scale); the others from their box, as the estimator does.
    const frame = r.box
      ? boxToCenterScale(r.box, width, height)
      : { center: r.center, scale: r.scale };
    const m = getAffineTransform(frame.center, frame.scale, 0, width, height);
    const t1 = performance.now();
    warpAffineBilinear(img.data, img.width, img.height, 3, m, width, height, out);
    warpMs += performance.now() - t1;
    matrixMs += t1 - t0;
    const what = `${r.dataset}/${r.file} ${r.kind} #${i} ${
      JSON.stringify(r.box ?? [r.center, r.scale])
    }`;
    assert.equal(
      [...frame.center, ...frame.scale],
      [...r.center, ...r.scale],
      `${what}: center/scale`,
    );
    assert.equal(Array.from(m), r.matrix, `${what}: matrix`);
    const diff = firstDifference(out, await bytes(ref.dir, r.crop), width, 3);
    assert.not.ok(diff, `${what}: ${diff}`);
  }
  const n = ref.index.crops.length;
  const kinds = ref.index.crops.reduce(
    (a: Record<string, number>, r: any) => ({ ...a, [r.kind]: (a[r.kind] ?? 0) + 1 }),
    {},
  );
  console.log(
    `  ${n} crops ${JSON.stringify(kinds)} equal; matrix ${(matrixMs / n).toFixed(4)} ms, warp ${
      (warpMs / n).toFixed(3)
    } ms per ${width}x${height} crop`,
  );
});

test.run();
