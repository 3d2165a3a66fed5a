/**
 * `Symbol.asyncDispose`, the key `await using` calls, also where the runtime lacks it (browsers
 * from before it shipped): then `Symbol.for('Symbol.asyncDispose')`, the symbol esbuild's (and so
 * tsx's and Vite's) `await using` helper falls back to. TypeScript's own helper needs
 * `Symbol.asyncDispose` itself: a polyfill that defines it must run before srpose loads.
 * @module
 */
export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ??
  (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);
