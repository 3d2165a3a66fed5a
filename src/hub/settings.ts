/**
 * Hub settings as users of the Hub expect them: explicit options first, then the standard
 * environment variables (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE` / `HF_HOME`,
 * `HF_HUB_OFFLINE`).
 */
import { envVar, parseYesNo } from '../platform/env.ts';

/** Where downloaded files are kept: see {@link HubOptions.cache}. */
export const HUB_CACHES = ['disk', 'web', 'none'] as const;
export type HubCache = (typeof HUB_CACHES)[number];

export interface HubOptions {
  /** Hub endpoint; default `HF_ENDPOINT` or https://huggingface.co. */
  hubUrl?: string;
  /** Token for private or gated repos; default `HF_TOKEN`. Never logged. */
  accessToken?: string;
  /** Branch, tag or commit; an `@revision` in the id means the same. Default `main`. */
  revision?: string;
  /**
   * Disk cache (Node, Deno); default `HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`.
   */
  cacheDir?: string;
  /**
   * Which cache: `disk` (the Hub layout; default where there is a file system), `web` (the
   * Cache API; default in browsers, Workers, Deno Deploy), or `none`.
   */
  cache?: HubCache;
  /** Use the cache only; default `HF_HUB_OFFLINE=1`. */
  offline?: boolean;
  /** Download progress of each file, in bytes. */
  onProgress?: (p: { file: string; loaded: number; total: number }) => void;
}

export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** The settings in effect: options, else environment, else defaults. */
// An empty cacheDir means the default, ~/.cache/huggingface/hub, resolved where the disk is.
export function resolveHubOptions(
  o: HubOptions = {},
): Required<Omit<HubOptions, 'onProgress' | 'accessToken' | 'revision' | 'cache'>> & HubOptions {
  const hfHome = envVar('HF_HOME');
  return {
    ...o,
    hubUrl: (o.hubUrl ?? envVar('HF_ENDPOINT') ?? DEFAULT_HUB_URL).replace(/\/+$/, ''),
    accessToken: o.accessToken ?? envVar('HF_TOKEN'),
    cacheDir: o.cacheDir ?? envVar('HF_HUB_CACHE') ?? (hfHome ? `${hfHome}/hub` : ''),
    offline: o.offline ?? parseYesNo(envVar('HF_HUB_OFFLINE')) === true,
  };
}
