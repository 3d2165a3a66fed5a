import type { HubFile } from '../hub/download.ts';
import { SRPoseError } from '../errors.ts';
import {
  bytesOf,
  type DeferredBytes,
  isLocalDirectory,
  joinPath,
  readLocalFile,
} from '../platform/files.ts';
import { looksLikeHubId, parseHubId } from '../hub/id.ts';
import type { HubOptions } from '../hub/settings.ts';
import { digestHex, type LoadStats } from '../platform/digest.ts';
import {
  type ExternalDataFile,
  type ModelConfig,
  parseModelConfig,
  type WeightsKind,
} from './config.ts';
import { availableWeights, type Contract, type WeightsChoice, weightsFile } from './weights.ts';

/**
 * Where a model comes from: a Hugging Face Hub id (`owner/name` or `owner/name@revision`),
 * a local directory holding `srpose.json` and the ONNX file, the URL of such a directory
 * (http(s): or file:), or the bytes plus their config. A string that names an existing local
 * directory is that directory, even when it also looks like a Hub id.
 */
export type ModelSource =
  | string
  | URL
  | {
    onnx: Uint8Array | ArrayBuffer;
    config: unknown;
    externalData?: Record<string, Uint8Array | ArrayBuffer>;
  };

/** A model ready for a session: its validated contract and ONNX bytes. */
export interface LoadedModel<C extends Contract = ModelConfig> {
  config: C;
  /** The graph, deferred where a verified cached blob need not be read (see DeferredBytes). */
  onnx: DeferredBytes;
  /** The graph's external-data files, by the name the graph uses. */
  externalData: { path: string; data: Uint8Array }[];
  /** Where it came from, for messages and `info`. */
  location: string;
  /**
   * The bytes were read here (files, URL, Hub), not given by the caller, so they may be freed
   * once the session holds its own copy.
   */
  readHere: boolean;
  /** The weights loaded (`onnx.file`'s or a variant's) and why. */
  weights: WeightsKind;
  weightsReason: string;
  /** Set when the graph loaded is the prepared one (`onnx.prepared`): its fixed batch size. */
  fixedBatch?: number;
  /**
   * Where a backend may keep what it derives from these bytes (onnxruntime-node's optimised
   * graph): a folder of the Hub disk cache and the graph's sha256. Only for a graph without
   * external data from a disk-cached Hub repository.
   */
  derivedCache?: { dir: string; sha256: string };
}

/**
 * Picks the weight file once the contract is known (see `src/model/weights.ts`), among the
 * kinds `offered` (all the contract lists, or those whose bytes were given); default `onnx.file`.
 */
export type ChooseWeights<C extends Contract = ModelConfig> = (
  config: C,
  offered: readonly WeightsKind[],
) => WeightsChoice | Promise<WeightsChoice>;

/** Checks a contract's JSON value and returns it typed (`parseModelConfig`, ...). */
export type ParseContract<C extends Contract> = (value: unknown, where: string) => C;

const mainWeights: ChooseWeights<Contract> = (config) => ({
  weights: config.onnx.weights,
  spec: { file: config.onnx.file, sha256: config.onnx.sha256, bytes: config.onnx.bytes },
  reason: 'onnx.file',
});

const CONFIG_FILE = 'srpose.json';

async function fetchBytes(url: URL, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new SRPoseError(
      'MODEL_NOT_FOUND',
      `${what}: cannot fetch ${url.href} (${(e as Error).message})`,
      { cause: e },
    );
  }
  if (!res.ok) {
    throw new SRPoseError(
      'MODEL_NOT_FOUND',
      `${what}: ${url.href} answered ${res.status} ${res.statusText}`,
    );
  }
  return new Uint8Array(await res.arrayBuffer());
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SRPoseError('MODEL_INVALID', `${where}: not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Checks a file's bytes against the size and sha256 the contract records. */
export async function verifyFile(
  spec: ExternalDataFile,
  bytes: Uint8Array,
  where: string,
  stats?: LoadStats,
): Promise<void> {
  if (spec.bytes !== undefined && spec.bytes !== bytes.byteLength) {
    throw new SRPoseError(
      'MODEL_INVALID',
      `${where}: ${spec.file} has ${bytes.byteLength} bytes, srpose.json says ${spec.bytes}`,
    );
  }
  if (spec.sha256 !== undefined) {
    const got = await digestHex('SHA-256', bytes, stats);
    if (got !== spec.sha256.toLowerCase()) {
      throw new SRPoseError(
        'MODEL_INVALID',
        `${where}: ${spec.file} sha256 ${got} does not match srpose.json`,
      );
    }
  }
}

/**
 * Reads the chosen ONNX file and its external data with `read`, each checked against the
 * contract. The weights are chosen first, so only the file that will run is fetched.
 */
async function readModelFiles<C extends Contract>(
  config: C,
  choose: ChooseWeights<C>,
  read: (spec: ExternalDataFile) => Promise<{ bytes: DeferredBytes; verified?: boolean }>,
  where: string,
  stats?: LoadStats,
  offered: readonly WeightsKind[] = availableWeights(config),
): Promise<
  Pick<LoadedModel, 'onnx' | 'externalData' | 'weights' | 'weightsReason' | 'fixedBatch'>
> {
  const choice = await choose(config, offered);
  // External data belongs to onnx.file's graph (the contract refuses it beside variants).
  const files = [
    choice.spec,
    ...(choice.spec.file === config.onnx.file ? config.onnx.externalData ?? [] : []),
  ];
  const got: DeferredBytes[] = [];
  for (const spec of files) {
    const { bytes, verified } = await read(spec);
    if (verified) got.push(bytes);
    else {
      const b = await bytesOf(bytes);
      await verifyFile(spec, b, where, stats);
      got.push(b);
    }
  }
  const externalData = [];
  for (const [i, f] of files.slice(1).entries()) {
    externalData.push({ path: f.file, data: await bytesOf(got[i + 1]) });
  }
  return {
    onnx: got[0],
    externalData,
    weights: choice.weights,
    weightsReason: choice.reason,
    ...(choice.fixedBatch === undefined ? {} : { fixedBatch: choice.fixedBatch }),
  };
}

/**
 * A model from the Hub: `srpose.json` first (validated before anything large is fetched),
 * then the ONNX file it names, pinned to the commit the config came from.
 */
async function loadHubModel<C extends Contract>(
  text: string,
  hub: HubOptions,
  choose: ChooseWeights<C>,
  parse: ParseContract<C>,
  stats?: LoadStats,
): Promise<LoadedModel<C>> {
  // The Hub client loads only when a Hub id is used.
  const { hubFile } = await import('../hub/download.ts');
  const id = parseHubId(text, hub.revision);
  const cfg = await hubFile(id, CONFIG_FILE, hub, stats);
  const where = `${id.repo}@${id.revision} ${CONFIG_FILE}`;
  const config = parse(parseJson(await bytesOf(cfg.bytes), where), where);
  const pinned = cfg.commit ? { repo: id.repo, revision: cfg.commit } : id;
  let graph: HubFile | undefined; // the first file read is the chosen graph
  const files = await readModelFiles(
    config,
    choose,
    async (spec) => {
      const f = await hubFile(pinned, spec.file, hub, stats);
      graph ??= f;
      // An LFS file's etag is its sha256, already checked: hashing 100 MB again would add nothing.
      const verified = f.etag !== undefined && f.etag === spec.sha256?.toLowerCase() &&
        (spec.bytes === undefined || spec.bytes === f.size);
      return { bytes: f.bytes, verified };
    },
    `${id.repo}@${id.revision}`,
    stats,
  );
  const derivedCache = graph?.cacheDir && /^[0-9a-f]{64}$/.test(graph.etag ?? '') &&
      files.externalData.length === 0
    ? { dir: `${graph.cacheDir}/srpose-derived`, sha256: graph.etag! }
    : undefined;
  return {
    config,
    ...files,
    location: `hf://${id.repo}@${cfg.commit || id.revision}`,
    readHere: true,
    derivedCache,
  };
}

/**
 * Loads and validates a model from any {@link ModelSource}; `hub` applies to Hub ids, `choose`
 * picks among the contract's weight files (default `onnx.file`), `parse` checks the contract
 * (default: a pose model's).
 */
export function loadModel(
  source: ModelSource,
  hub?: HubOptions,
  stats?: LoadStats,
  choose?: ChooseWeights,
): Promise<LoadedModel>;
export function loadModel<C extends Contract>(
  source: ModelSource,
  hub: HubOptions | undefined,
  stats: LoadStats | undefined,
  choose: ChooseWeights<C> | undefined,
  parse: ParseContract<C>,
): Promise<LoadedModel<C>>;
export async function loadModel<C extends Contract>(
  source: ModelSource,
  hub: HubOptions = {},
  stats?: LoadStats,
  choose: ChooseWeights<C> = mainWeights,
  parse: ParseContract<C> = parseModelConfig as unknown as ParseContract<C>,
): Promise<LoadedModel<C>> {
  if (typeof source === 'object' && !(source instanceof URL)) {
    if (!source || !('onnx' in source) || !('config' in source)) {
      throw new SRPoseError(
        'INVALID_OPTION',
        'model must be a directory, a URL, or { onnx, config }',
      );
    }
    const config = parse(source.config, 'model.config');
    const given: Record<string, Uint8Array | ArrayBuffer> = {
      ...source.externalData,
      [config.onnx.file]: source.onnx,
    };
    // Bytes in hand are the weights there are (a variant's by its file name in externalData).
    const offered = availableWeights(config).filter((k) =>
      given[weightsFile(config, k)!.file] !== undefined
    );
    const files = await readModelFiles(
      config,
      choose,
      ({ file }) => {
        const b = given[file];
        if (b === undefined) {
          return Promise.reject(
            new SRPoseError(
              'MODEL_NOT_FOUND',
              `model.externalData has no ${file}, which srpose.json names`,
            ),
          );
        }
        return Promise.resolve({ bytes: b instanceof Uint8Array ? b : new Uint8Array(b) });
      },
      'model',
      stats,
      offered,
    );
    return { config, ...files, location: '(bytes)', readHere: false };
  }
  const text = source instanceof URL ? source.href : source;
  if (typeof text !== 'string' || text.length === 0) {
    throw new SRPoseError('INVALID_OPTION', 'model must be a non-empty directory path or URL');
  }
  if (/^(https?|file):/i.test(text)) {
    const base = new URL(text.endsWith('/') ? text : `${text}/`);
    const read = (file: string) =>
      base.protocol === 'file:'
        ? readLocalFile(decodeURIComponent(new URL(file, base).pathname), `model ${text}`)
        : fetchBytes(new URL(file, base), `model ${text}`);
    const config = parse(
      parseJson(await read(CONFIG_FILE), `${text} ${CONFIG_FILE}`),
      `${text} ${CONFIG_FILE}`,
    );
    const files = await readModelFiles(
      config,
      choose,
      async ({ file }) => ({ bytes: await read(file) }),
      text,
      stats,
    );
    return { config, ...files, location: base.href, readHere: true };
  }
  if (looksLikeHubId(text) && !await isLocalDirectory(text)) {
    return await loadHubModel(text, hub, choose, parse, stats);
  }
  const cfgPath = joinPath(text, CONFIG_FILE);
  const config = parse(
    parseJson(await readLocalFile(cfgPath, `model ${text}`), cfgPath),
    cfgPath,
  );
  const files = await readModelFiles(
    config,
    choose,
    async ({ file }) => ({ bytes: await readLocalFile(joinPath(text, file), `model ${text}`) }),
    text,
    stats,
  );
  return { config, ...files, location: text, readHere: true };
}
