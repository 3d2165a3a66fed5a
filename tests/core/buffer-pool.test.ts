import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { discard, Float32Pool } from '../../src/core/buffer-pool.ts';

test('hands a buffer to one caller at a time and reuses it once released', () => {
  const pool = new Float32Pool(2, 1000);
  const a = pool.acquire(100);
  const b = pool.acquire(100);
  assert.is.not(a, b, 'two callers in flight get two buffers');
  pool.release(a);
  assert.is(pool.acquire(100), a);
  assert.is.not(pool.acquire(100), a, 'a buffer handed out is not handed out again');
  pool.release(b);
  pool.release(b); // twice: still one entry
  assert.is(pool.acquire(100), b);
  assert.is.not(pool.acquire(100), b);
});

test('keeps at most maxFree buffers of at most maxLength, newest first; sizes must match', () => {
  const pool = new Float32Pool(2, 1000);
  const [x, y, z] = [pool.acquire(10), pool.acquire(20), pool.acquire(30)];
  pool.release(x);
  pool.release(y);
  pool.release(z); // x, the oldest, goes
  assert.is.not(pool.acquire(10), x);
  assert.is(pool.acquire(20), y);
  assert.is(pool.acquire(30), z);
  const big = pool.acquire(1001);
  pool.release(big);
  assert.is.not(pool.acquire(1001), big, 'over maxLength: not kept');
  const detached = new Float32Array(0);
  pool.release(detached);
  assert.is.not(pool.acquire(0), detached, 'a detached (transferred) buffer is not kept');
});

test('discard frees a buffer a view spans whole, and nothing it cannot own', () => {
  const whole = new Float32Array(1000);
  if (typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function') {
    assert.ok(discard(whole));
    assert.is(whole.length, 0, 'detached: its memory is gone now');
    assert.is(whole.buffer.byteLength, 0);
  } else {
    // Node 20 (V8 11.3) has no transfer: left to the GC, untouched
    assert.not.ok(discard(whole));
    assert.is(whole.length, 1000);
  }
  // a view of part of a buffer (a pooled Node Buffer, a subarray): another may share it
  const shared = new Uint8Array(64);
  const part = shared.subarray(8, 16);
  assert.not.ok(discard(part));
  assert.is(shared.length, 64);
  assert.not.ok(discard(new Uint8Array(new ArrayBuffer(16), 4)));
  // WebAssembly memory cannot be detached: left alone
  const memory = new WebAssembly.Memory({ initial: 1 });
  assert.not.ok(discard(new Uint8Array(memory.buffer)));
  assert.is(memory.buffer.byteLength, 65536);
  assert.not.ok(discard(new Uint8Array(0)));
});

test.run();
