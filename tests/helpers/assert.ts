import * as assert from 'uvu/assert';
import { isSRPoseError, type SRPoseErrorCode } from '../../src/errors.ts';

/** Asserts that `p` rejects with an SRPoseError of `code` (and a message matching `re`). */
export async function rejects(
  p: Promise<unknown>,
  code: SRPoseErrorCode,
  re?: RegExp,
): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `expected ${code}, got ${e}`);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

/** Asserts that `fn` throws an SRPoseError of `code` whose message matches `re`. */
export function throwsCode(fn: () => unknown, code: SRPoseErrorCode, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isSRPoseError(e, code), `expected ${code}, got ${e}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${code}`);
}
