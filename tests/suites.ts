// Every test suite, where it runs and why: the one table tests/runner.ts selects from (a test
// file missing here fails the run). CONTRIBUTING.md lists the same table for readers.
//
// tier 'fast': unit and in-process suites on tiny models written in TypeScript; no PyTorch
//   export, no full-size model, no build output. `npm run test:fast` runs them under Node.
// tier 'full': also the exported random-weight models, PyTorch references, the built bundles,
//   subprocess servers, workerd and Chromium. `npm test` runs both tiers.
// runtimes 'both': the runtime is the subject (library, estimator, backends, Hub, image
//   decoding), so `npm test` runs the suite under Node and under Deno; 'node': the subject is a
//   subprocess, a bundle, a file format or Python, which a second runtime would only repeat.
// optIn: an environment variable that must be set for the suite to run at all (its subject
//   cannot be installed from the registries CI reaches); it is listed, never a silent skip.

export type SuiteSpec = {
  tier: 'fast' | 'full';
  runtimes: 'both' | 'node';
  optIn?: string;
  why: string;
};

export const SUITES: Record<string, SuiteSpec> = {
  'core/affine.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'cv2-exact affine matrices (OpenCV reference through Python)',
  },
  'core/bottomup.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'bottom-up grouping math against munkres and the official parser',
  },
  'core/boxes.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'box checks: edges within 2^24, scores in [0, 1], all inside stays finite',
  },
  'core/buffer-pool.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'pooled input batches; buffers freed when done',
  },
  'core/crop-wasm.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'crop kernel equals the JS loop (WebAssembly in each runtime)',
  },
  'core/crop.test.ts': { tier: 'fast', runtimes: 'both', why: 'fused crop + normalise' },
  'core/decode.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'SR / default / DARK decode on encoded Gaussians and ties',
  },
  'core/displacement.test.ts': { tier: 'fast', runtimes: 'both', why: 'displacement helpers' },
  'core/flip-wasm.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'flip-merge kernel equals the JS loop',
  },
  'core/flip.test.ts': { tier: 'fast', runtimes: 'both', why: 'flip test merge and shift' },
  'core/kernels.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: 'committed kernel bytes vs their C source (rebuilt with clang); no runtime involved',
  },
  'core/letterbox.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'OpenCV-exact resize and YOLOX letterbox, against cv2.resize and ValTransform',
  },
  'core/warp.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'OpenCV-exact warp, byte for byte against cv2.warpAffine',
  },
  'image/decode.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'image decoding equals cv2.imread in each runtime',
  },
  'image/probe.test.ts': { tier: 'fast', runtimes: 'both', why: 'header probe of every format' },
  'image/draw.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: "COCO_SKELETON = the exporter's, drawPoses on a recording 2D context, the PNG renderer",
  },
  'image/input.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'image inputs without a browser: typed refusals, ImageData-shaped pixels, the canvas ' +
      'read path on stand-in browser classes',
  },
  'model/config.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'srpose.json contract validation',
  },
  'model/weights.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'weight variants chosen before download; WebGPU probe under Deno',
  },
  'estimator/tracker.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'pose tracking over frames: detect every N frames, carried boxes, stable ids, smoothing',
  },
  'core/one-euro.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: "One Euro filter against the paper's reference algorithm; jitter and lag",
  },
  'core/oks-nms.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: "mmpose's OKS-NMS, soft NMS and top-down rescoring against the official code " +
      '(Python); pure float64 / float32 arithmetic, the same in every runtime',
  },
  'core/pckh.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: 'MPII PCKh against the official TopDownMpiiDataset.evaluate (Python)',
  },
  'core/coco-eval.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: 'COCO / CrowdPose keypoint metrics against xtcocotools, pycocotools, crowdposetools; ' +
      'pure arithmetic (srpose eval runs under Deno in cli/eval)',
  },
  'estimator/detector.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'person detector on a tiny YOLOX-format model with a known answer; the estimator ' +
      'with a detector',
  },
  'model/prepare.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: 'prepared WASM graphs: srpose prepare (onnxruntime-node), when they load, any batch ' +
      'through a graph folded for one crop',
  },
  'model/external-data.test.ts': {
    tier: 'full',
    runtimes: 'both',
    why: 'an exported model with external data loads and equals the single-file one',
  },
  'hub/hub-model.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'Hub loading, caches (Cache API under Deno), publish, against the local Hub server',
  },
  'hub/hub-server.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'the Hub-compatible test server speaks what @huggingface/hub expects',
  },
  'hub/python-interop.test.ts': {
    tier: 'full',
    runtimes: 'both',
    optIn: 'SRPOSE_HF_HUB_PY',
    why: "cache shared with Python's huggingface_hub, " +
      'which neither Debian nor the npm registry has: set SRPOSE_HF_HUB_PY to its sources',
  },
  'estimator/estimator.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'the public estimate() on a tiny model',
  },
  'estimator/options.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'option type checks: INVALID_OPTION naming the option, its type and the value given',
  },
  'estimator/pool.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: "the estimator pool: threads equal in-process, aborts, failures. Deno's pool (Web " +
      "Workers) runs in its server (server/http): in one Deno process onnxruntime-web's " +
      'main-thread WASM threads can hang beside pool threads, which a server never mixes',
  },
  'estimator/dispose.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: '`await using` disposes every estimator (the pool under Node only, as estimator/pool)',
  },
  'estimator/bottom-up.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'bottom-up estimate() with a known answer',
  },
  'cli/cli.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'the CLI in process and through its bin shim',
  },
  'cli/eval.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'srpose eval: official results format, OKS-NMS, resuming, --results, typed errors',
  },
  'cli/video.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'srpose video: ffmpeg frames and timestamps, tracked lines, drawn video, typed errors',
  },
  'server/app.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'the Hono app in process: bad input, auth, limits, deadline',
  },
  'server/bottom-up.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'HTTP API and CLI with a bottom-up model, in process',
  },
  'server/http.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the Node and Deno servers as subprocesses over real HTTP',
  },
  'server/serverless.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the Lambda, Vercel and Netlify bundles',
  },
  'runtime/backend.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'backend choice per runtime; WebGPU = WASM under Deno',
  },
  'runtime/band-max.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'the band-max ONNX model (onnx.checker) and its maxima',
  },
  'runtime/native.test.ts': {
    tier: 'fast',
    runtimes: 'both',
    why: 'onnxruntime-node under each runtime on a tiny model',
  },
  'runtime/native-bundles.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the built bundles: onnxruntime-node only where it belongs',
  },
  'parity/detector.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'YOLOX detector vs the official pipeline (PyTorch reference): letterbox bit for bit, ' +
      'decode + NMS exact, boxes end to end, then detector + pose',
  },
  'parity/network.test.ts': {
    tier: 'full',
    runtimes: 'both',
    why: 'onnxruntime-web heatmaps equal PyTorch on every architecture',
  },
  'parity/decode.test.ts': {
    tier: 'full',
    runtimes: 'both',
    why: 'decode of real heatmaps equals the official decode',
  },
  'parity/eval.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'srpose eval equals the official evaluate + xtcocotools on the same predictions, and ' +
      'the official pipeline end to end (a COCO photo, res50); the runtime is not the subject',
  },
  'parity/pipeline.test.ts': {
    tier: 'full',
    runtimes: 'both',
    why: 'estimate() equals the PyTorch pipeline on COCO photos: res50 on WASM, the other ' +
      'architectures on native (their WASM heatmaps are checked in parity/network); native ' +
      'equals WASM there (Deno: res50 with the flip test; the same WASM, decode and flip merge ' +
      'serve every architecture)',
  },
  'parity/bottomup.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'bottom-up estimate() equals the official parser on real photos ' +
      '(bu_res50; bu_hrnet_w32 too once exported by name); Deno runs the same grouping code ' +
      'in estimator/bottom-up',
  },
  'parity/tiny-models.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the TypeScript-written tiny models pass onnx.checker and equal PyTorch',
  },
  'package/package.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the packed npm package in a fresh project',
  },
  'functions/workerd.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'the Cloudflare bundle in a real workerd isolate',
  },
  'meta/api-docs.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'docs/api is what TypeDoc generates from the sources now',
  },
  'meta/readme.test.ts': {
    tier: 'fast',
    runtimes: 'node',
    why: 'README front page (<= 200 lines), links and anchors of the docs, this table in ' +
      'CONTRIBUTING.md',
  },
  'browser/browser.test.ts': {
    tier: 'full',
    runtimes: 'node',
    why: 'real Chromium: WASM threads, WebGPU, the demo page',
  },
};
