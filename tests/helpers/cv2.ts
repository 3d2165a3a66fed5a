// OpenCV references for the image tests: tests/image/cv2_dump.py writes what cv2 decodes,
// computes and crops into a temporary folder, with a JSON index.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasShared, PYTHON, python, ROOT, SHARED, skipUnless, tempDir } from './env.ts';

const DUMP = join(ROOT, 'tests', 'image', 'cv2_dump.py');

export type Cv2Ref = { dir: string; index: any };

const missing = new Map<string, string>();

/**
 * Runs `cv2_dump.py mode`; undefined without Python + OpenCV (or without the shared photos for
 * a mode that reads them), the reason kept for `cv2Missing`.
 */
export async function cv2Dump(
  mode: string,
  opts: { shared?: boolean } = {},
): Promise<Cv2Ref | undefined> {
  if (opts.shared && !hasShared) {
    return void missing.set(mode, `${SHARED} is absent: no shared photos for ${mode}`);
  }
  if (!existsSync(PYTHON)) {
    return void missing.set(mode, `${PYTHON} not found: no OpenCV reference for ${mode}`);
  }
  const dir = await tempDir('srpose-cv2-');
  try {
    return { dir, index: await python([DUMP, mode, dir, SHARED]) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    if (/No module named '(cv2|numpy)'/.test(String(e))) {
      return void missing.set(
        mode,
        `${PYTHON} has no OpenCV (apt: python3-opencv): no reference for ${mode}`,
      );
    }
    throw e;
  }
}

/** In a test: true (a recorded skip, with the reason) when the `mode` reference is missing. */
export function cv2Missing(ref: Cv2Ref | undefined, mode: string): ref is undefined {
  return skipUnless(ref, missing.get(mode) ?? `no OpenCV reference for ${mode}`);
}

/** First differing byte as "pixel (x, y) channel c: got vs want", or undefined when equal. */
export function firstDifference(
  got: Uint8Array,
  want: Uint8Array,
  width: number,
  channels = 3,
): string | undefined {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      const p = Math.floor(i / channels);
      let n = 0;
      for (let j = i; j < got.length; j++) if (got[j] !== want[j]) n++;
      return `pixel (${p % width}, ${Math.floor(p / width)}) channel ${i % channels}: ${
        got[i]
      } vs ${want[i]} (${n} bytes differ)`;
    }
  }
  return undefined;
}
