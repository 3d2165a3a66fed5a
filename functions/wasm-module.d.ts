/**
 * The type of a `.wasm` import in Cloudflare Workers (wrangler's `CompiledWasm` rule, workerd's
 * `wasm` modules): the compiled module, not an instance. Deno reads `.wasm` imports as
 * instantiated modules, so `functions/cloudflare.ts` points its imports here with `@ts-types`.
 */
declare const module: WebAssembly.Module;
export default module;
