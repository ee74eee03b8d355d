#!/usr/bin/env bash
# Run HERE (with network), not on the GPU machine: fills .gpu_carry/ (ignored by git) with what the GPU
# machine lacks, in folders that each fit one device call (64 MiB with the working tree):
#   .gpu_carry/part1 .. partN     one chunk each of bundle.tar: the onnxruntime-gpu wheel (~256 MB, CUDA 13,
#                                 cp312) and PyAV's (~34 MB; the pipeline decodes video with it)
#   .gpu_carry/run                the small wheels, the converted models (fixed and dynamic batch), the media
# plus MANIFEST (sha256 of the bundle and of every chunk) in every folder. Idempotent: rerun at will.
# See benchmarks/gpu/README.md for how a GPU session carries them.
set -euo pipefail

die() { echo "prepare.sh: ERROR: $*" >&2; exit 1; }
say() { echo "prepare.sh: $*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CARRY="$REPO/.gpu_carry"
ORT_VERSION=${ORT_VERSION:-1.31.1}          # onnxruntime-gpu >= 1.24 on PyPI is the CUDA 13 build
GPU_PYTHON=${GPU_PYTHON:-3.12}               # the GPU machine's python3 (KINDS.md: 3.12.3)
CHUNK_MIB=${CHUNK_MIB:-56}                   # 5 chunks of the ~278 MiB bundle, one per part call
CALL_LIMIT_MIB=62                            # device limit is 64 MiB per call; keep a margin
AV_VERSION=${AV_VERSION:-18.1.0}             # PyAV, as here: the image has no av
# What livepose imports and the image lacks (KINDS.md's package list): the cache's platformdirs, the
# pipeline spec's pydantic with its core and two helpers.
SMALL_WHEELS=("platformdirs>=4.0" "pydantic==2.14.4" "pydantic-core==2.50.5" "annotated-types>=0.6" "typing-inspection>=0.4")
MODELS=(palm_detection_full hand_landmark_full face_detection_short_range face_landmark)
# Their dynamic-batch conversions too: max_batch > 1, and batch_cameras (every model of the cameras pipeline).
BATCH_MODELS=(palm_detection_full hand_landmark_full face_detection_short_range face_landmark)
# The realtime and stream benchmarks want a 30 fps 720p clip with hands and a face: example_2 (25 fps)
# re-timed, every frame kept, into run/media/derived/ (not a shared file: made here, never committed).
RETIMED_CLIP=derived/example_2_30fps.mp4
MEDIA_FILES=(
  pose-pipelines/example_2.mp4
  sign-language-processing_pose/src/python/tests/data/test_video.mp4
  mmpose/tests/data/onehand10k/9.jpg
  mmpose/tests/data/freihand/00115300.jpg
  mmpose/tests/data/freihand/00000355.jpg
  sign-language-processing_pose/videos/FOOTBALL.mp4
  sign-language-processing_pose/videos/SOUP.mp4
  reference/SOUP.mediapipe.json.gz
)
MEDIA=${LIVEPOSE_MEDIA:-$REPO/../shared/media}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

# 1. git ignores the carry folder (the wheels and models must never be committed).
EXCLUDE="$(git -C "$REPO" rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$EXCLUDE")"
grep -qxF '/.gpu_carry/' "$EXCLUDE" 2>/dev/null || echo '/.gpu_carry/' >>"$EXCLUDE"
git -C "$REPO" check-ignore -q .gpu_carry/x || die ".gpu_carry/ is not ignored by git (check $EXCLUDE)"

mkdir -p "$CARRY/download" "$CARRY/run/wheels"
PIP_TARGET=(--no-deps --only-binary=:all: --python-version "$GPU_PYTHON" --implementation cp
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --disable-pip-version-check -q)

# 2. The onnxruntime-gpu wheel, checked to be the CUDA 13 build.
say "downloading onnxruntime-gpu==$ORT_VERSION for cp${GPU_PYTHON/./} into $CARRY/download"
"$PYTHON" -m pip download "${PIP_TARGET[@]}" -d "$CARRY/download" "onnxruntime-gpu==$ORT_VERSION" \
  || die "pip could not download onnxruntime-gpu==$ORT_VERSION (network? version?)"
WHEEL=$(ls "$CARRY/download"/onnxruntime_gpu-"$ORT_VERSION"-cp${GPU_PYTHON/./}-*.whl 2>/dev/null | head -1)
[ -n "$WHEEL" ] || die "no onnxruntime_gpu-$ORT_VERSION-cp${GPU_PYTHON/./} wheel in $CARRY/download"
"$PYTHON" - "$WHEEL" <<'PY' || die "the wheel is not the CUDA 13 build"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as w:
    name = next(n for n in w.namelist() if n.endswith("libonnxruntime_providers_cuda.so"))
    with w.open(name) as f:
        head = f.read(64 << 20)
needs = [lib for lib in (b"libcudart.so.13", b"libcublas.so.13") if lib in head]
print(f"prepare.sh: {name} links {', '.join(n.decode() for n in needs) or 'NO CUDA 13 library'}", file=sys.stderr)
sys.exit(0 if len(needs) == 2 else 1)
PY
say "downloading av==$AV_VERSION for cp${GPU_PYTHON/./}"
"$PYTHON" -m pip download "${PIP_TARGET[@]}" -d "$CARRY/download" "av==$AV_VERSION" \
  || die "pip could not download av==$AV_VERSION"
AV_WHEEL=$(ls "$CARRY/download"/av-"$AV_VERSION"-*.whl 2>/dev/null | head -1)
[ -n "$AV_WHEEL" ] || die "no av-$AV_VERSION wheel in $CARRY/download"

# 3. Small wheels (for the GPU machine's Python and platform).
rm -f "$CARRY/run/wheels"/*.whl
for spec in "${SMALL_WHEELS[@]}"; do
  "$PYTHON" -m pip download "${PIP_TARGET[@]}" -d "$CARRY/run/wheels" "$spec" || die "pip could not download $spec"
done

# 4. The converted models (prepared here first if missing) with their manifests, so ModelCache accepts them.
rm -rf "$CARRY/run/home"
mkdir -p "$CARRY/run/home/models/mediapipe"
"$PYTHON" - "$CARRY/run/home" "${MODELS[*]}" "${BATCH_MODELS[*]}" <<'PY' || die "could not prepare or copy the models"
import shutil, sys
from pathlib import Path
from livepose.models.cache import ModelCache
source, target = ModelCache(), ModelCache(home=Path(sys.argv[1]), progress=lambda _: None)
wanted = [(name, False) for name in sys.argv[2].split()] + [(name, True) for name in sys.argv[3].split()]
for short, dynamic_batch in wanted:
    name = f"mediapipe/{short}"
    source.path(name, dynamic_batch)  # prepares (downloads, converts) when absent or damaged
    entry, copy = source.entry(name, dynamic_batch), target.entry(name, dynamic_batch)
    shutil.copy2(entry.onnx_path, copy.onnx_path)
    shutil.copy2(entry.manifest_path, copy.manifest_path)
    problem = target.problem(name, dynamic_batch)
    if problem:
        sys.exit(f"copied {name} is unusable: {problem}")
    print(f"prepare.sh: model {copy.onnx_path.name} ({entry.onnx_path.stat().st_size / 2**20:.1f} MiB)", file=sys.stderr)
PY

# 5. The test media (tests/media_paths.py reads $LIVEPOSE_MEDIA).
rm -rf "$CARRY/run/media"
for f in "${MEDIA_FILES[@]}"; do
  [ -f "$MEDIA/$f" ] || die "media file $MEDIA/$f is missing (set LIVEPOSE_MEDIA)"
  mkdir -p "$CARRY/run/media/$(dirname "$f")"
  cp "$MEDIA/$f" "$CARRY/run/media/$f"
done
mkdir -p "$CARRY/run/media/$(dirname "$RETIMED_CLIP")"
"$PYTHON" - "$MEDIA/pose-pipelines/example_2.mp4" "$CARRY/run/media/$RETIMED_CLIP" <<'PY' || die "could not re-time example_2"
import sys
from fractions import Fraction
import av
source, target = sys.argv[1:3]
with av.open(source) as inp, av.open(target, "w") as out:
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
    stream.options = {"crf": "18", "preset": "veryfast"}
    count = 0
    for frame in inp.decode(video=0):
        picture = frame.reformat(format="yuv420p")
        picture.pts, picture.time_base = count, Fraction(1, 30)  # the same pictures, 1/30 s apart
        out.mux(stream.encode(picture))
        count += 1
    out.mux(stream.encode())
print(f"prepare.sh: {target}: {count} frames of {source} at 30 fps", file=sys.stderr)
PY

# 6. The two large wheels in one uncompressed tar (they are zip archives already), split into one chunk per
#    part call; every folder gets the manifest.
rm -rf "$CARRY"/part* "$CARRY/run"/*.chunk "$CARRY/split"
mkdir -p "$CARRY/split"
BUNDLE="$CARRY/split/bundle.tar"
tar cf "$BUNDLE" -C "$CARRY/download" "$(basename "$WHEEL")" "$(basename "$AV_WHEEL")"
split -b "${CHUNK_MIB}M" -d -a 2 --additional-suffix=.chunk "$BUNDLE" "$CARRY/split/bundle."
CHUNKS=("$CARRY/split"/bundle.*.chunk)
COUNT=${#CHUNKS[@]}
{
  echo "bundle $(sha256sum "$BUNDLE" | cut -d' ' -f1) bundle.tar $(stat -c %s "$BUNDLE")"
  echo "onnxruntime $(basename "$WHEEL")"
  echo "chunks $COUNT"
  for c in "${CHUNKS[@]}"; do echo "chunk $(sha256sum "$c" | cut -d' ' -f1) $(basename "$c")"; done
} >"$CARRY/MANIFEST"
for i in $(seq 1 "$COUNT"); do
  mkdir -p "$CARRY/part$i"
  mv "${CHUNKS[$((i - 1))]}" "$CARRY/part$i/"
  cp "$CARRY/MANIFEST" "$CARRY/part$i/MANIFEST"
done
cp "$CARRY/MANIFEST" "$CARRY/run/MANIFEST"
rm -rf "$CARRY/split"

# 7. Each call's size: the working tree that travels (tracked + untracked-not-ignored) plus its folder.
tree_bytes=$( (cd "$REPO" && { git ls-files -z; git ls-files -z --others --exclude-standard; } \
  | xargs -0 -r stat -c %s 2>/dev/null) | awk '{s+=$1} END {print s+0}')
say "working tree that travels: $((tree_bytes / 1048576)) MiB"
worst=0
for dir in "$CARRY"/part* "$CARRY/run"; do
  bytes=$(du -sb "$dir" | cut -f1)
  total=$(( (bytes + tree_bytes) / 1048576 ))
  say "call carrying .gpu_carry/$(basename "$dir"): $((bytes / 1048576)) MiB + tree = $total MiB"
  [ "$total" -le "$CALL_LIMIT_MIB" ] || die ".gpu_carry/$(basename "$dir") with the tree is $total MiB > $CALL_LIMIT_MIB MiB"
done
say "ready: $COUNT part folders + run; bundle sha256 $(head -1 "$CARRY/MANIFEST" | cut -d' ' -f2) ($(basename "$WHEEL"), $(basename "$AV_WHEEL"))"
