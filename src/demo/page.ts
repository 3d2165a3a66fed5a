/**
 * The demo page's HTML, served by the app at `GET /` when the demo is on; its script is
 * `static/demo.mjs`.
 */
export const DEMO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>srpose: SRPose pose estimation in your browser</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
  header { padding: 12px 20px; background: #123; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  main {
    display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 16px; padding: 16px 20px;
  }
  fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 12px; }
  label { display: block; margin: 4px 0; }
  #drop { border: 2px dashed #89a; border-radius: 8px; padding: 10px; text-align: center; }
  canvas { max-width: 100%; background: #eee; border-radius: 6px; }
  video { max-width: 100%; }
  #status { font-weight: 600; margin: 8px 0; }
  #status.error { color: #b00; }
  #info { color: #555; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  td, th { border-bottom: 1px solid #eee; padding: 2px 4px; text-align: right; }
  td:nth-child(2), th:nth-child(2) { text-align: left; }
</style>
</head>
<body>
<header><h1>srpose: SRPose human pose estimation, in this browser or on the server</h1></header>
<main>
  <section>
    <div id="drop">
      Drop a photo here, or <input id="file" type="file" accept="image/jpeg,image/png,image/webp">
      <button id="camera" type="button">Camera</button>
    </div>
    <video id="video" playsinline muted hidden></video>
    <div id="status">loading...</div>
    <div id="info"></div>
    <canvas id="canvas" width="640" height="426"></canvas>
  </section>
  <aside>
    <fieldset>
      <legend>Settings</legend>
      <label>Model <select id="model"></select></label>
      <label>Person detector <select id="detector"><option value="">none</option></select></label>
      <label>Backend <select id="backend">
        <option value="auto">auto (WebGPU, else WASM)</option>
        <option value="webgpu">WebGPU</option>
        <option value="wasm">WASM (SIMD + threads)</option>
        <option value="server">on the server (POST /v1/estimate)</option>
      </select></label>
      <label><input id="worker" type="checkbox" checked> run in a web worker</label>
      <label><input id="flip" type="checkbox" checked> flip test</label>
      <label>Person box <input id="box" placeholder="x, y, w, h (empty: detector or image)"></label>
    </fieldset>
    <table>
      <thead><tr><th>#</th><th>keypoint</th><th>x</th><th>y</th><th>score</th></tr></thead>
      <tbody id="keypoints"></tbody>
    </table>
  </aside>
</main>
<script type="module" src="static/demo.mjs"></script>
</body>
</html>
`;
