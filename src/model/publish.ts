import { createRepo, repoExists, uploadFiles } from '@huggingface/hub';
import { SRPoseError } from '../errors.ts';
import { joinPath, readLocalFile } from '../platform/files.ts';
import {
  type DetectorConfig,
  type ExternalDataFile,
  type ModelConfig,
  parseContract,
} from './config.ts';
import { verifyFile } from './source.ts';
import { parseHubId } from '../hub/id.ts';
import { resolveHubOptions } from '../hub/settings.ts';

export interface PublishOptions {
  /** Target repository, `owner/name`. */
  repo: string;
  hubUrl?: string;
  accessToken?: string;
  /** Create the repository when it does not exist (else that is an error). */
  create?: boolean;
  private?: boolean;
  branch?: string;
}

/** The model card: what the files are, which checkpoint and command made them. */
export function modelCard(config: ModelConfig | DetectorConfig, repo: string): string {
  const src = config.source as Record<string, any>;
  if (config.kind === 'detector') return detectorCard(config, repo, src);
  const weights = src.checkpoint
    ? `the official checkpoint \`${src.checkpoint}\` (sha256 \`${src.checkpointSha256}\`)`
    : `random weights (seed ${src.randomInit?.seed ?? '?'}), for tests only`;
  const shape = config.kind === 'bottom-up'
    ? `whole image, short side ${config.input.size} (multiples of ${config.input.multipleOf}), ` +
      `heatmaps + tags at the input's resolution, associative-embedding grouping`
    : `input ${config.input.width}x${config.input.height}, ` +
      `heatmaps ${config.heatmap.width}x${config.heatmap.height}, ` +
      `decode \`${config.decode.method}\``;
  return `---
library_name: srpose
tags: [pose-estimation, keypoint-detection, onnx, srpose]
---
# ${config.name}

SRPose ${config.kind} pose estimation ` +
    `("Lightweight Super-Resolution Head for Human Pose Estimation",
ACM MM 2023) exported to ONNX for [srpose](https://github.com/haonanwang0522/SRPose).

- architecture: \`${config.arch}\` with \`${config.head}\`, ` +
    `${config.keypoints.length} ${config.dataset} keypoints
- ${shape}
- weights: ${weights}
- official config: \`${src.config ?? '?'}\`
- exported by \`${src.exporter ?? 'models/export.py'}\` (torch ${src.torch ?? '?'}, opset ${
      src.opset ?? '?'
    }):
  \`${src.command ?? ''}\`

\`\`\`ts
import { createEstimator } from 'srpose';
const estimator = await createEstimator({ model: '${repo}' });
\`\`\`
`;
}

function detectorCard(config: DetectorConfig, repo: string, src: Record<string, any>): string {
  const weights = src.checkpoint
    ? `the official checkpoint \`${src.checkpoint}\` (sha256 \`${src.checkpointSha256}\`)`
    : `random weights (seed ${src.randomInit?.seed ?? '?'}), for tests only`;
  return `---
library_name: srpose
tags: [object-detection, person-detection, onnx, yolox, srpose]
---
# ${config.name}

YOLOX (Megvii-BaseDetection/YOLOX) person detector exported to ONNX for
[srpose](https://github.com/haonanwang0522/SRPose), in front of its top-down pose models.

- architecture: \`${config.arch}\`, input ${config.input.width}x${config.input.height} ` +
    `(letterbox, pad 114${config.input.legacy ? ', legacy RGB normalisation' : ''}), ` +
    `output \`${config.onnx.outputFormat}\`
- weights: ${weights}
- exported by \`${src.exporter ?? 'models/export_yolox.py'}\`: \`${src.command ?? ''}\`

\`\`\`ts
import { createEstimator } from 'srpose';
const estimator = await createEstimator({ model: 'owner/srpose-pose-model', detector: '${repo}' });
\`\`\`
`;
}

/**
 * Every file `srpose.json` names: the ONNX graph, its external-data files, the weight
 * variants (`model_fp16.onnx`, `model_int8.onnx`) and the prepared graphs, with the size and
 * sha256 recorded for each.
 */
export function contractFiles(config: ModelConfig | DetectorConfig): ExternalDataFile[] {
  const o = config.onnx;
  return [
    { file: o.file, sha256: o.sha256, bytes: o.bytes },
    ...(o.externalData ?? []),
    ...Object.values(o.variants),
    ...Object.values(o.prepared?.files ?? {}),
  ];
}

/**
 * Uploads an exported model directory (`srpose.json` and every file it names, each checked
 * against its recorded size and sha256 first) with a model card, in one commit. Returns the
 * commit.
 */
export async function publishModel(
  dir: string,
  options: PublishOptions,
): Promise<{ commit?: string; url: string }> {
  const { repo } = parseHubId(options.repo);
  const s = resolveHubOptions({ hubUrl: options.hubUrl, accessToken: options.accessToken });
  if (!s.accessToken) {
    throw new SRPoseError(
      'MODEL_UNAUTHORIZED',
      'publishing needs a token: pass --token or set HF_TOKEN',
    );
  }
  const cfgBytes = await readLocalFile(joinPath(dir, 'srpose.json'), `model ${dir}`);
  const config = parseContract(
    JSON.parse(new TextDecoder().decode(cfgBytes)),
    joinPath(dir, 'srpose.json'),
  );
  const where = `model ${dir}`;
  const files = await Promise.all(
    contractFiles(config).map(async (spec) => {
      const bytes = await readLocalFile(joinPath(dir, spec.file), where);
      await verifyFile(spec, bytes, where);
      return { path: spec.file, content: new Blob([bytes as Uint8Array<ArrayBuffer>]) };
    }),
  );
  const creds = { accessToken: s.accessToken, hubUrl: s.hubUrl };
  if (!await repoExists({ repo, ...creds })) {
    if (!options.create) {
      throw new SRPoseError(
        'MODEL_NOT_FOUND',
        `Hub repository ${repo} does not exist; pass --create to create it`,
      );
    }
    await createRepo({ repo, private: options.private, ...creds });
  }
  const out = await uploadFiles({
    repo,
    ...creds,
    branch: options.branch,
    commitTitle: `Upload ${config.name}`,
    files: [
      { path: 'srpose.json', content: new Blob([cfgBytes as Uint8Array<ArrayBuffer>]) },
      ...files,
      { path: 'README.md', content: new Blob([modelCard(config, repo)]) },
    ],
    useXet: false,
  });
  return { commit: out?.commit.oid, url: `${s.hubUrl}/${repo}` };
}
