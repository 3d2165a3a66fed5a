import { env } from '../platform/env.ts';

/** What a WebGPU adapter offers this library. */
export interface WebGpuProbe {
  /** Why WebGPU cannot serve the request here; absent when it can. */
  unavailable?: string;
  /** The adapter has the `shader-f16` feature (fp16 weights are worth loading). */
  shaderF16: boolean;
}

/**
 * Asks for a WebGPU adapter and says whether it can serve `request`. Under `auto` a software
 * fallback adapter (SwiftShader, llvmpipe: `isFallbackAdapter`) does not count: it runs
 * SRPose far slower than WASM (`npm run bench -- browser` times both). Asking for `webgpu`
 * explicitly still uses it.
 */
export async function probeWebGpu(request: string): Promise<WebGpuProbe> {
  if (!env.hasWebGPU) {
    return {
      unavailable: 'no WebGPU in this runtime (navigator.gpu is missing)',
      shaderF16: false,
    };
  }
  try {
    const adapter = await (globalThis as any).navigator.gpu.requestAdapter();
    if (!adapter) {
      return {
        unavailable: 'no WebGPU adapter (navigator.gpu.requestAdapter() returned null)',
        shaderF16: false,
      };
    }
    const shaderF16 = adapter.features?.has?.('shader-f16') === true;
    const info = adapter.info ?? {};
    if (request === 'auto' && (info.isFallbackAdapter || adapter.isFallbackAdapter)) {
      const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') ||
        'unknown';
      return {
        unavailable: `the WebGPU adapter is a software fallback (${name}), slower than WASM`,
        shaderF16,
      };
    }
    return { shaderF16 };
  } catch (e) {
    return {
      unavailable: `WebGPU adapter request failed: ${(e as Error).message}`,
      shaderF16: false,
    };
  }
}
