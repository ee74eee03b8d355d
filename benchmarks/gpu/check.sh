#!/usr/bin/env bash
# Run ON the GPU machine (device tool), from the repository root; see benchmarks/gpu/README.md.
#   benchmarks/gpu/check.sh part N   keep chunk N of the wheel bundle (onnxruntime-gpu and av; carried in
#                                    .gpu_carry/partN) in $ORT_PARTS (/tmp/ort_parts); the machine keeps /tmp
#                                    30 s after a call
#   benchmarks/gpu/check.sh run      reassemble and verify the bundle, install its wheels and the small ones
#                                    (.gpu_carry/run) into $GPU_SITE (/tmp/site), run tests/test_gpu_*.py and
#                                    the benchmarks, write $OUT/gpu_results.md and $OUT/gpu_results.json
# Every step is idempotent (chunks are files named by index, checked by sha256; an install already there
# with the same wheel sha256 is kept). Rehearsal on a CPU machine: REHEARSAL=1 (see README.md).
set -euo pipefail

die() { echo "check.sh: ERROR: $*" >&2; exit 1; }
say() { echo "check.sh: $*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CARRY=${GPU_CARRY:-$REPO/.gpu_carry}
PARTS=${ORT_PARTS:-/tmp/ort_parts}
SITE=${GPU_SITE:-/tmp/site}
PYTHON=${PYTHON:-python3}
REHEARSAL=${REHEARSAL:-0}
OUT=${OUT:-}

# Copy every chunk carried in this call (part folders; run/ carries the manifest only) into $PARTS after
# its sha256 check; a part call must bring one.
keep_chunks() {
  local dir found=0 chunk name want have need_one=$1
  shift
  mkdir -p "$PARTS"
  for dir in "$@"; do
    [ -f "$dir/MANIFEST" ] || die "$dir/MANIFEST is missing: carry the folder prepare.sh made"
    if [ -f "$PARTS/MANIFEST" ] && ! cmp -s "$dir/MANIFEST" "$PARTS/MANIFEST"; then
      say "$dir/MANIFEST differs from the one in $PARTS (another prepare.sh run): dropping the old chunks"
      rm -f "$PARTS"/*.chunk
    fi
    cp "$dir/MANIFEST" "$PARTS/MANIFEST"
    for chunk in "$dir"/*.chunk; do
      [ -e "$chunk" ] || continue
      name=$(basename "$chunk")
      want=$(awk -v n="$name" '$1 == "chunk" && $3 == n {print $2}' "$dir/MANIFEST")
      [ -n "$want" ] || die "$name is not in $dir/MANIFEST"
      have=$(sha256sum "$chunk" | cut -d' ' -f1)
      [ "$have" = "$want" ] || die "$chunk has sha256 $have, MANIFEST says $want (damaged in transfer? carry it again)"
      cp "$chunk" "$PARTS/$name.tmp" && mv "$PARTS/$name.tmp" "$PARTS/$name"
      say "kept $name ($(( $(stat -c %s "$chunk") / 1048576 )) MiB) in $PARTS"
      found=1
    done
  done
  [ "$found" = 1 ] || [ "$need_one" = 0 ] || die "no *.chunk in $*"
  local missing
  missing=$(awk '$1 == "chunk" {print $3}' "$PARTS/MANIFEST" | while read -r n; do [ -f "$PARTS/$n" ] || echo "$n"; done)
  say "$PARTS holds $(ls "$PARTS"/*.chunk | wc -l) of $(awk '$1 == "chunks" {print $2}' "$PARTS/MANIFEST") chunks; missing: ${missing:-none}"
}

case "${1:-}" in
  part)
    n=${2:-}; [[ "$n" =~ ^[0-9]+$ ]] || die "usage: check.sh part N (N = 1, 2, ...)"
    [ -d "$CARRY/part$n" ] || die "$CARRY/part$n was not carried: name .gpu_carry/part$n in the call's carry"
    keep_chunks 1 "$CARRY/part$n"
    exit 0 ;;
  run) ;;
  *) die "usage: check.sh part N | check.sh run" ;;
esac

# ---- run ------------------------------------------------------------------------------------------
START=$(date +%s)
[ -n "$OUT" ] || die "OUT is unset (the device tool sets it; for a rehearsal export OUT=/tmp/gpu_out)"
mkdir -p "$OUT"
[ -d "$CARRY/run" ] || die "$CARRY/run was not carried: name .gpu_carry/run in the call's carry"
LOG="$OUT/check.log"
exec > >(tee -a "$LOG") 2>&1
stamp() { echo "check.sh: [$(( $(date +%s) - START )) s] $*"; }
declare -A TIMES
step_start() { STEP=$1; STEP_T0=$(date +%s.%N); stamp "start: $STEP"; }
step_end() { TIMES[$STEP]=$(python3 -c "print(round($(date +%s.%N) - $STEP_T0, 1))"); stamp "done: $STEP (${TIMES[$STEP]} s)"; }

step_start chunks
keep_chunks 0 "$CARRY/run"
step_end

step_start reassemble
read -r _ WHEEL_SHA BUNDLE_NAME WHEEL_SIZE < <(grep '^bundle ' "$PARTS/MANIFEST")
read -r _ WHEEL_NAME < <(grep '^onnxruntime ' "$PARTS/MANIFEST")
missing=$(awk '$1 == "chunk" {print $3}' "$PARTS/MANIFEST" | while read -r n; do [ -f "$PARTS/$n" ] || echo "$n"; done)
[ -z "$missing" ] || die "chunks missing from $PARTS: $(echo $missing). The machine went cold between calls (more than 30 s) or a part call was skipped: send those parts again, then run"
WHEEL_DIR=/tmp/ort_wheel; mkdir -p "$WHEEL_DIR"; BUNDLE="$WHEEL_DIR/$BUNDLE_NAME"
if [ ! -f "$BUNDLE" ] || [ "$(sha256sum "$BUNDLE" | cut -d' ' -f1)" != "$WHEEL_SHA" ]; then
  awk '$1 == "chunk" {print $3}' "$PARTS/MANIFEST" | sed "s|^|$PARTS/|" | xargs cat >"$BUNDLE.tmp"
  mv "$BUNDLE.tmp" "$BUNDLE"
fi
have=$(sha256sum "$BUNDLE" | cut -d' ' -f1)
[ "$have" = "$WHEEL_SHA" ] || die "reassembled $BUNDLE_NAME has sha256 $have, expected $WHEEL_SHA"
rm -f "$WHEEL_DIR"/*.whl
tar xf "$BUNDLE" -C "$WHEEL_DIR"
WHEEL="$WHEEL_DIR/$WHEEL_NAME"
[ -f "$WHEEL" ] || die "$BUNDLE_NAME holds no $WHEEL_NAME"
stamp "bundle verified ($WHEEL_SIZE bytes): $(cd "$WHEEL_DIR" && ls *.whl | tr '\n' ' ')"
step_end

step_start install
PY_TAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_TAG=$(echo "$WHEEL_NAME" | cut -d- -f3)
PIP_EXTRA=()
if [ "$PY_TAG" != "$WHEEL_TAG" ]; then
  [ "$REHEARSAL" = 1 ] || die "$PYTHON is $PY_TAG, the wheel is for $WHEEL_TAG: run prepare.sh with GPU_PYTHON set to this machine's version"
  say "REHEARSAL: $PYTHON is $PY_TAG, wheel $WHEEL_TAG: installing for $WHEEL_TAG but NOT importing it"
  PIP_EXTRA=(--python-version "3.${WHEEL_TAG#cp3}" --only-binary=:all: --implementation cp
             --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
fi
if [ -f "$SITE/.livepose_wheel_sha256" ] && [ "$(cat "$SITE/.livepose_wheel_sha256")" = "$WHEEL_SHA" ]; then
  stamp "$SITE already holds this wheel: kept"
else
  rm -rf "$SITE"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
    --target "$SITE" "${PIP_EXTRA[@]}" "$WHEEL_DIR"/*.whl "$CARRY"/run/wheels/*.whl \
    || die "pip could not install the wheels of $BUNDLE_NAME into $SITE"
  echo "$WHEEL_SHA" >"$SITE/.livepose_wheel_sha256"
fi
[ -f "$SITE/onnxruntime/capi/libonnxruntime_providers_cuda.so" ] || die "$SITE has no libonnxruntime_providers_cuda.so"
step_end

if [ "$PY_TAG" = "$WHEEL_TAG" ]; then
  export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
else  # rehearsal on another Python: its own environment has every package (the carried ones are cp312)
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
export LIVEPOSE_HOME="$CARRY/run/home" LIVEPOSE_MEDIA="$CARRY/run/media" PYTHONUNBUFFERED=1

step_start environment
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "host: $(uname -srm)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' || echo "gpu: nvidia-smi not available"
  "$PYTHON" - <<'PY'
import os, sys
import numpy, torch, onnxruntime as ort
from livepose.models.runtime import check_providers
print(f"python: {sys.version.split()[0]} ({sys.executable})")
print(f"numpy {numpy.__version__}, torch {torch.__version__} (cuda available: {torch.cuda.is_available()})")
print(f"onnxruntime {ort.__version__} from {os.path.dirname(ort.__file__)}; built-in providers: {ort.get_available_providers()}")
for s in check_providers():
    print(f"provider {s.name}: built_in={s.built_in} working={s.working} ({s.detail})")
PY
} | tee "$OUT/environment.txt"
if [ "$PY_TAG" = "$WHEEL_TAG" ]; then
  "$PYTHON" -c "import onnxruntime, sys; sys.exit(0 if onnxruntime.__file__.startswith('$SITE') else 1)" \
    || die "onnxruntime was not imported from $SITE (PYTHONPATH?)"
fi
CUDA_OK=0
grep -q '^provider cuda: built_in=True working=True' "$OUT/environment.txt" && CUDA_OK=1
[ "$CUDA_OK" = 1 ] || [ "$REHEARSAL" = 1 ] || say "WARNING: the CUDA provider does not work here: see environment.txt; CPU rows only"
step_end

FAILED=()
step_start tests
# Deselected: an import-hygiene check that imports every livepose module (PyQt5, av, pydantic, tflite:
# ~100 MB of wheels the image lacks); it needs no GPU and runs in CI.
if timeout "${TESTS_CAP:-100}" "$PYTHON" -m pytest tests/test_gpu_preprocess.py tests/test_gpu_binding.py \
    tests/test_gpu_pipeline.py -p no:cacheprovider -rs \
    --deselect tests/test_gpu_preprocess.py::test_nothing_but_livepose_gpu_imports_torch >"$OUT/pytest.txt" 2>&1; then
  TESTS=passed
else
  TESTS="FAILED (exit $?)"; FAILED+=(tests)
fi
tail -15 "$OUT/pytest.txt"
step_end

step_start bench_preprocess
timeout 45 "$PYTHON" benchmarks/gpu/bench_preprocess.py --repeats "${PRE_REPEATS:-50}" >"$OUT/bench_preprocess.txt" 2>&1 \
  || { FAILED+=(bench_preprocess); say "bench_preprocess.py FAILED"; }
cat "$OUT/bench_preprocess.txt"
step_end

step_start bench_models
timeout 60 "$PYTHON" benchmarks/gpu/bench_models.py --repeats "${MODEL_REPEATS:-50}" --json "$OUT/bench_models.json" \
  >"$OUT/bench_models.txt" 2>&1 || { FAILED+=(bench_models); say "bench_models.py FAILED"; }
cat "$OUT/bench_models.txt"
step_end

step_start bench_cameras
# batch_cameras: N threads' crops in one CUDA call against their concurrent calls; the two-camera pipeline.
CAMERA_PROVIDER=cuda; [ "$CUDA_OK" = 1 ] || CAMERA_PROVIDER=cpu  # a rehearsal, or a machine whose CUDA failed
timeout 75 "$PYTHON" benchmarks/bench_cameras_batching.py --provider "$CAMERA_PROVIDER" --repeats "${CAMERA_REPEATS:-40}" --rounds 1 \
  --json "$OUT/bench_cameras.json" >"$OUT/bench_cameras.txt" 2>&1 || { FAILED+=(bench_cameras); say "bench_cameras_batching.py FAILED"; }
cat "$OUT/bench_cameras.txt"
step_end

step_start bench_pipeline
# The stream counts get what is left of the 6 minutes the issue allows, less a margin for the summary.
left=$(( 330 - ($(date +%s) - START) - 100 ))
timeout $(( left + 110 )) "$PYTHON" benchmarks/gpu/bench_pipeline.py --clip "$LIVEPOSE_MEDIA/derived/example_2_30fps.mp4" \
  --budget "$(( left > 20 ? left : 20 ))" --streams ${STREAMS:-32 16 8 4 2 1} --json "$OUT/bench_pipeline.json" >"$OUT/bench_pipeline.txt" 2>&1 \
  || { FAILED+=(bench_pipeline); say "bench_pipeline.py FAILED"; }
cat "$OUT/bench_pipeline.txt"
step_end

TOTAL=$(( $(date +%s) - START ))
"$PYTHON" - "$OUT" "$TESTS" "$TOTAL" "$CUDA_OK" "${FAILED[*]:-}" "$WHEEL_NAME" "$WHEEL_SHA" \
  "$(for k in "${!TIMES[@]}"; do echo "$k=${TIMES[$k]}"; done | tr '\n' ' ')" <<'PY'
import json, sys
from pathlib import Path
out, tests, total, cuda_ok, failed, wheel, sha, times = sys.argv[1:9]
out = Path(out)
read = lambda name: (out / name).read_text() if (out / name).exists() else "(missing)\n"
models = json.loads(read("bench_models.json")) if (out / "bench_models.json").exists() else {}
pipeline = json.loads(read("bench_pipeline.json")) if (out / "bench_pipeline.json").exists() else {}
steps = dict(t.split("=") for t in times.split())
result = {"tests": tests, "cuda_provider_works": cuda_ok == "1", "failed_steps": failed.split(),
          "run_step_seconds": int(total), "step_seconds": {k: float(v) for k, v in steps.items()},
          "wheel": wheel, "wheel_sha256": sha, "environment": read("environment.txt").splitlines(),
          "models": models, "pipeline": pipeline}
(out / "gpu_results.json").write_text(json.dumps(result, indent=2) + "\n")
rows = models.get("rows", [])
lines = ["# livepose GPU check", "", "```", read("environment.txt").rstrip(), "```", "",
         f"- tests/test_gpu_*.py: **{tests}**", f"- CUDA provider works: **{cuda_ok == '1'}**",
         f"- failed steps: {failed or 'none'}", f"- run step: {total} s ({', '.join(f'{k} {v} s' for k, v in steps.items())})",
         f"- wheel: {wheel} (sha256 {sha})", "", "## Pre-processing (benchmarks/gpu/bench_preprocess.py)", "", "```",
         read("bench_preprocess.txt").rstrip(), "```", "", "## Model latency (benchmarks/gpu/bench_models.py)", "",
         "| model | provider | path | batch | median ms | p95 ms |", "| --- | --- | --- | --- | --- | --- |"]
lines += [f"| {r['model']} | {r['provider']} | {r['path']} | {r['batch']} | {r['median_ms']} | {r['p95_ms']} |" for r in rows]
if models.get("agreement"):
    lines += ["", "CUDA vs CPU outputs, same input:", "", "| model | output | max abs diff | max abs value |", "| --- | --- | --- | --- |"]
    lines += [f"| {a['model']} | {a['output']} | {a['max_abs_diff']:.3g} | {a['max_abs_value']:.3g} |" for a in models["agreement"]]
lines += ["", "## hands+face offline, 720p (benchmarks/gpu/bench_pipeline.py)", "",
          "| variant | frames | fps | x baseline |", "| --- | --- | --- | --- |"]
lines += [f"| {r['variant']} | {r.get('delivered', '-')} | {r.get('fps', r.get('error'))} | {r.get('ratio_to_baseline', '-')} |"
          for r in pipeline.get("offline", [])]
for row in pipeline.get("breakdown", []):
    lines += ["", f"Where the time goes, {row['provider']} provider, {row['preprocess']} crops, one thread, "
              f"device synchronised after each stage ({row['fps']} fps):", "", "| stage | ms/frame |", "| --- | --- |"]
    lines += [f"| {stage} | {ms} |" for stage, ms in row["ms_per_frame"].items()]
if pipeline.get("realtime"):
    lines += ["", f"Realtime at 30 fps: `{pipeline['realtime']}`"]
lines += ["", "Concurrent 30 fps streams (one process each):", "",
          "| streams | max_batch | held | kept min | kept median | fps median | latency p50 median | latency p95 max |",
          "| --- | --- | --- | --- | --- | --- | --- | --- |"]
lines += [f"| {r['streams']} | {r['max_batch']} | {r['held']} | {r['kept_min']} | {r['kept_median']} | {r['fps_median']} | "
          f"{r['latency_p50_median']} | {r['latency_p95_max']} |" for r in pipeline.get("streams", [])]
lines += ["", "## batch_cameras (benchmarks/bench_cameras_batching.py)", "", "```", read("bench_cameras.txt").rstrip(), "```"]
lines += ["", "## pytest (tail)", "", "```", "\n".join(read("pytest.txt").rstrip().splitlines()[-20:]), "```", ""]
(out / "gpu_results.md").write_text("\n".join(lines))
# Folded into gpu_results.json and check.log: fewer files than the device tool brings back.
cameras = json.loads(read("bench_cameras.json")) if (out / "bench_cameras.json").exists() else {}
result["cameras"] = cameras
(out / "gpu_results.json").write_text(json.dumps(result, indent=2) + "\n")
for name in ("bench_models.txt", "bench_models.json", "bench_pipeline.txt", "bench_pipeline.json", "bench_cameras.json"):
    (out / name).unlink(missing_ok=True)
PY
stamp "wrote $OUT/gpu_results.md and $OUT/gpu_results.json; run step took $TOTAL s"
[ "${#FAILED[@]}" -eq 0 ] || die "failed steps: ${FAILED[*]} (results written anyway)"
if [ "$CUDA_OK" != 1 ] && [ "$REHEARSAL" != 1 ]; then die "the CUDA provider did not work (results written anyway)"; fi
stamp "OK"
