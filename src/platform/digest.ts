/** Time spent hashing while loading a model (the cold-start benchmark reports it). */
export interface LoadStats {
  hashMs: number;
}

/** Hex digest with WebCrypto (every runtime); adds the time taken to `stats`. */
export async function digestHex(
  alg: 'SHA-1' | 'SHA-256',
  data: Uint8Array,
  stats?: LoadStats,
): Promise<string> {
  const t = performance.now();
  const d = await crypto.subtle.digest(alg, data as Uint8Array<ArrayBuffer>);
  if (stats) stats.hashMs += performance.now() - t;
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}
