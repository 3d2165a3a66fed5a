/**
 * The linear memory of the onnxruntime WASM instance, where the runtime can see it: when the
 * module is handed over precompiled (Workers, edge), our instantiate hook meets the instance
 * and its memory (imported by the threaded build, exported otherwise). Edge isolates count
 * this memory against their limit (Cloudflare: 128 MB "including the JavaScript heap and
 * WebAssembly allocations"), so the server reports it.
 * @module
 */
let memory: WebAssembly.Memory | undefined;

/** Remembers the memory of an instance created from `imports`. */
export function trackWasmMemory(
  imports: WebAssembly.Imports | undefined,
  instance: WebAssembly.Instance,
): void {
  const found = [
    ...Object.values(instance.exports),
    ...Object.values(imports ?? {}).flatMap((m) => Object.values(m ?? {})),
  ]
    .find((v) => v instanceof WebAssembly.Memory);
  if (found) memory = found as WebAssembly.Memory;
}

/** Bytes of the tracked WASM memory now (it only grows), or undefined when none was seen. */
export function wasmMemoryBytes(): number | undefined {
  return memory?.buffer.byteLength;
}
