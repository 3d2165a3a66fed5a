#!/usr/bin/env bash
# Exports the random-weight test models (res50, hrnet_w32, hrformer_s, res50_simple,
# res50_simple-external: the same weights with --external-data, res50_crowdpose and res50_mpii:
# res50 with --dataset crowdpose / mpii, the bottom-up bu_res50, and the YOLOX person detectors
# yolox_nano and yolox_tiny by models/export_yolox.py; --random-init --seed 0) into
# .cache/models/<name>/{model.onnx[,model.onnx.data],srpose.json, checkpoint.pth}; res50 and
# hrformer_s also with --weights fp32,fp16,int8 (model_fp16.onnx, model_int8.onnx); hrformer_s
# also prepared for WASM (srpose prepare: model.prepared.ort, model_int8.prepared.ort).
# A model's name is its arch, optionally followed by _crowdpose or _mpii (--dataset) and then
# by -external (--external-data). A model is skipped when its files exist and its stamp
# (.cache/models/<name>/exporter.sha256) equals the sha256 of models/export.py +
# models/srpose_models/*.py, so any change to the exporter re-exports.
# Usage: bash models/make_test_models.sh [name...]   (FORCE=1 re-exports regardless)
# Exports run SRPOSE_EXPORT_JOBS at a time (default: the number of cores, at most 4), longest
# first: torch.onnx.export's graph passes are single-threaded, so on 2 cores two exports at once
# take about the time of the longest chain (CONTRIBUTING.md has the measurement).
# bu_hrnet_w32 is not a default (its export takes about a minute here); name it to export it:
#   bash models/make_test_models.sh bu_hrnet_w32
# nor is yolox_m (rtmlib's default detector; npm run bench -- video --detector=yolox_m).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=.cache/models
SEED=0
archs=("$@")
# longest export first, so the parallel jobs end together
[ ${#archs[@]} -eq 0 ] && archs=(hrformer_s hrnet_w32 bu_res50 res50 res50_crowdpose res50_mpii res50_simple res50_simple-external yolox_nano yolox_tiny)
jobs_max=${SRPOSE_EXPORT_JOBS:-$(nproc)}
[ "$jobs_max" -gt 4 ] && jobs_max=4
# the models exported with the fp16 and int8 weight files too
with_variants=" res50 hrformer_s "
# the models given prepared WASM graphs (srpose prepare: the edge model)
with_prepared=" hrformer_s "

stamp=$(cat models/export.py $(ls models/srpose_models/*.py | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)
# the YOLOX detectors' exporter (models/export_yolox.py, models/yolox/)
yolox_stamp=$(cat models/export_yolox.py $(ls models/yolox/*.py models/srpose_models/checkpoint.py | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)
mkdir -p "$OUT"
total_start=$(date +%s.%N)
# srpose prepare (from the sources) for the models in with_prepared; with "missing", only when
# a prepared file is absent
prepare_one() {
  local name=$1 dir=$2
  [[ "$with_prepared" == *" $name "* ]] || return 0
  if [ "${3:-}" = missing ] && [ -f "$dir/model.prepared.ort" ] && [ -f "$dir/model_int8.prepared.ort" ]; then
    return 0
  fi
  npx tsx scripts/prepare-models.ts "$dir" || { echo "models: prepare of $name failed" >&2; return 1; }
}
export_one() {
  local name=$1 stamp=$stamp exporter=models/export.py
  local dir="$OUT/$name" arch="${name%-external}" extra=() files=(model.onnx srpose.json checkpoint.pth)
  if [[ "$name" == yolox_* ]]; then
    stamp=$yolox_stamp
    exporter=models/export_yolox.py
  fi
  [[ "$name" == *-external ]] && extra=(--external-data)
  # <arch>_crowdpose / <arch>_mpii: the arch with that dataset's keypoint set
  case "$arch" in
    *_crowdpose|*_mpii)
      extra+=(--dataset "${arch##*_}")
      arch="${arch%_*}"
      ;;
  esac
  if [[ "$with_variants" == *" $name "* ]]; then
    extra+=(--weights fp32,fp16,int8)
    files+=(model_fp16.onnx model_int8.onnx)
  fi
  # res50 is the reference model of the PyTorch parity and server tests: it recommends its
  # exact fp32 weights; hrformer_s keeps the exporter's default (fp16) to exercise variants.
  [ "$name" = res50 ] && extra+=(--recommend fp32)
  have=1
  for f in "${files[@]}"; do [ -f "$dir/$f" ] || have=; done
  if [ -z "${FORCE:-}" ] && [ -n "$have" ] && [ "$(cat "$dir/exporter.sha256" 2>/dev/null)" = "$stamp" ]; then
    echo "models: $name up to date ($dir, exporter ${stamp:0:12})"
    prepare_one "$name" "$dir" missing
    return
  fi
  # the stamp is written last: an interrupted export is redone on the next run
  mkdir -p "$dir"
  rm -f "$dir/exporter.sha256"
  start=$(date +%s.%N)
  if ! "$PY" -W ignore "$exporter" --arch "$arch" --random-init --seed "$SEED" \
        --out "$dir" --save-checkpoint "$dir/checkpoint.pth" "${extra[@]}" > "$dir/export.log" 2>&1; then
    cat "$dir/export.log" >&2
    echo "models: export of $name failed" >&2
    return 1
  fi
  rm -f "$dir/export.log"
  prepare_one "$name" "$dir"
  echo "$stamp" > "$dir/exporter.sha256"
  end=$(date +%s.%N)
  bytes=$(stat -c %s "$dir/model.onnx")
  awk -v a="$name" -v s="$start" -v e="$end" -v b="$bytes" \
    'BEGIN { printf "models: %-15s exported in %6.1f s  (model.onnx %d bytes = %.1f MiB)\n", a, e - s, b, b / 1048576 }'
  for v in fp16 int8; do
    if [ -f "$dir/model_$v.onnx" ]; then
      awk -v v="$v" -v b="$(stat -c %s "$dir/model_$v.onnx")" \
        'BEGIN { printf "models: %-15s model_%s.onnx %d bytes = %.1f MiB\n", "", v, b, b / 1048576 }'
    fi
  done
}

failed=0
running=0
for name in "${archs[@]}"; do
  if [ "$running" -ge "$jobs_max" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  export_one "$name" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
[ "$failed" -eq 0 ] || exit 1
awk -v s="$total_start" -v e="$(date +%s.%N)" 'BEGIN { printf "models: done in %.1f s\n", e - s }'
